import {
  GENERIC_ENTITY_NAME,
  decodeEntityId,
  encodeEntityId,
  entityOfModelName,
  modelName,
} from '../../src/entities/names';

const TRICKY_IDS = [
  'dana.lee@example.com',
  'dana_dot_lee@example.com',
  'dana_2elee@example.com',
  'ops/build:bot',
  'Eve Example ',
  'Eve Example',
  'eve example',
  'EVE',
  'eve',
  'test_城安宮川',
  'josé.garcía@example.es',
  'arn:aws:iam::123456789012:role/Admin',
  'AROAEXAMPLE:session@corp',
  'generic_user',
  'generic-user',
  '',
  ' ',
  'a%2Eb',
  'émoji-😀',
  'tab\tname',
  'x_',
  '_x',
];

describe('entities > names', () => {
  it('round-trips every tricky id through the registry name', () => {
    for (const id of TRICKY_IDS) {
      expect(decodeEntityId(encodeEntityId(id))).toBe(id);
      expect(entityOfModelName(modelName('duo', id), 'duo')).toBe(id);
    }
  });

  it('gives distinct names to distinct ids, including case and escaping look-alikes', () => {
    const names = TRICKY_IDS.map((id) => modelName('duo', id));
    expect(new Set(names).size).toBe(TRICKY_IDS.length);
  });

  it('uses only characters that the strictest registries accept', () => {
    for (const id of TRICKY_IDS) expect(modelName('azure', id)).toMatch(/^DFP-azure-[a-z0-9_-]*$/);
  });

  it('names the generic model DFP-<source>-generic_user, which no entity id can take', () => {
    expect(modelName('duo', null)).toBe(`DFP-duo-${GENERIC_ENTITY_NAME}`);
    expect(modelName('duo', 'generic_user')).not.toBe(modelName('duo', null));
    expect(entityOfModelName('DFP-duo-generic_user', 'duo')).toBeNull();
  });

  it('encodes dots and separators readably and keeps plain ids as they are', () => {
    expect(modelName('duo', 'dana.lee@example.com')).toBe('DFP-duo-dana_2elee_40example_2ecom');
    expect(modelName('duo', 'alice-01')).toBe('DFP-duo-alice-01');
  });

  it('rejects names it did not make', () => {
    expect(entityOfModelName('DFP-azure-alice', 'duo')).toBeUndefined();
    expect(entityOfModelName('DFP-duo-Alice', 'duo')).toBeUndefined();
    expect(entityOfModelName('DFP-duo-a_zz', 'duo')).toBeUndefined();
  });
});

describe('entities > names > long ids', () => {
  it('keeps long ids distinct and within file-name limits', () => {
    const a = `${'Z'.repeat(90)}@EXAMPLE.COM`;
    const b = `${'Z'.repeat(90)}@EXAMPLE.ORG`;
    const c = '城'.repeat(40);
    const names = [a, b, c].map((id) => modelName('duo', id));
    expect(new Set(names).size).toBe(3);
    for (const n of names) {
      expect(n.length).toBeLessThanOrEqual(170);
      expect(n).toMatch(/^DFP-duo-[a-z0-9_-]*_h[0-9a-f]{32}$/);
    }
    expect(modelName('duo', a)).toBe(modelName('duo', a));
    expect(entityOfModelName(names[0], 'duo')).toBeUndefined();
  });
});
