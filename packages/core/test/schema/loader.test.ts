import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isDfpError } from '../../src/errors';
import { applyPreprocessSchema, decodeRecords } from '../../src/schema/engine';
import { builtinSources } from '../../src/schema/builtin';
import { loadSourceDefinition, parseSourceDefinition } from '../../src/schema/loader';
import { rowObjects } from '../../src/table';

const OKTA = join(__dirname, '../../src/schema/examples/okta.yaml');
const dir = mkdtempSync(join(tmpdir(), 'dfp-schema-'));

function oktaEvent(i: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    uuid: `ev-${i}`,
    published: `2024-03-01T08:1${i}:02.123Z`,
    eventType: 'user.session.start',
    displayMessage: 'User login to Okta',
    severity: 'INFO',
    actor: { id: '00u1', type: 'User', alternateId: 'kim@example.com', displayName: 'Kim' },
    client: {
      userAgent: { rawUserAgent: 'Mozilla/5.0', os: 'Mac OS X', browser: 'CHROME' },
      device: 'Computer',
      ipAddress: '198.51.100.7',
      geographicalContext: { city: 'Denver', state: 'Colorado', country: 'United States' },
    },
    outcome: { result: 'SUCCESS', reason: null },
    securityContext: { asOrg: 'example isp', isProxy: false },
    ...over,
  };
}

/** Expects a SCHEMA_INVALID error whose message contains every fragment. */
async function expectInvalid(load: () => Promise<unknown>, ...fragments: string[]) {
  const err: unknown = await load().then(
    () => null,
    (e: unknown) => e,
  );
  expect(isDfpError(err, 'DFP_ERR_SCHEMA_INVALID')).toBe(true);
  for (const f of fragments) expect((err as Error).message).toContain(f);
}

function writeSchema(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, name.endsWith('.json') ? JSON.stringify(doc) : stringify(doc));
  return path;
}

function copyOf<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

describe('schema > loader', () => {
  it('returns the built-in sources by name', async () => {
    await expect(loadSourceDefinition('duo')).resolves.toBe(builtinSources.duo);
    await expect(loadSourceDefinition('cloudtrail')).resolves.toBe(builtinSources.cloudtrail);
  });

  it('adds a new source (Okta) with a schema file only', async () => {
    const okta = await loadSourceDefinition(OKTA);
    expect(okta.name).toBe('okta');

    const records = [
      oktaEvent(2, { outcome: { result: 'FAILURE', reason: 'INVALID_CREDENTIALS' } }),
      oktaEvent(1),
      oktaEvent(3, { client: { geographicalContext: {} } }),
      oktaEvent(4, { outcome: { result: 'MAYBE' }, extra: 1 }),
      oktaEvent(5, { actor: { type: 'User' } }),
    ];
    const { table, rejects, warnings } = decodeRecords(records, okta, 'okta.json');
    expect(rejects).toEqual([
      expect.objectContaining({ index: 4, field: 'username', reason: 'missing actor.alternateId' }),
    ]);
    expect(warnings.map((w) => [w.index, w.field])).toEqual([
      [3, 'outcome.result'],
      [null, null],
    ]);
    expect(warnings[1].message).toBe('unknown fields: extra');

    const rows = rowObjects(applyPreprocessSchema(table, okta.preprocess));
    expect(rows.map((r) => [r.uuid, r.success, r.logcount, r.locincrement])).toEqual([
      ['ev-1', true, 0, 1],
      ['ev-2', false, 1, 1],
      ['ev-3', true, 2, 2],
      ['ev-4', false, 3, 2],
    ]);
    expect(rows[0]).toMatchObject({ browser: 'CHROME', os: 'Mac OS X', device: 'Computer' });
  });

  it('reads JSON schema files too', async () => {
    const path = writeSchema('copy.json', copyOf(builtinSources.azure));
    const loaded = await loadSourceDefinition(path);
    expect(loaded).toEqual(builtinSources.azure);
  });

  it('names the file, the JSON path and the problem for a bad column kind', async () => {
    const doc = copyOf(builtinSources.duo);
    (doc.preprocess.columns[3] as { kind: string }).kind = 'counter';
    const path = writeSchema('bad-kind.yaml', doc);
    await expectInvalid(
      () => loadSourceDefinition(path),
      path,
      'preprocess.columns[3].kind: unknown kind "counter"',
      'expected one of column, rename',
    );
  });

  it('reports every problem at once', async () => {
    const doc = copyOf(builtinSources.duo) as unknown as Record<string, unknown>;
    const input = doc.input as { columns: Record<string, unknown>[] };
    delete input.columns[1].name;
    input.columns[6].trueValue = ['ok'];
    doc.features = ['result', 'nosuchfeature'];
    doc.entityColumn = 'user';
    doc.training = { epochs: 0 };
    doc.feature = [];
    const path = writeSchema('many.yml', doc);
    await expectInvalid(
      () => loadSourceDefinition(path),
      'input.columns[1].name: is missing; must be a non-empty string',
      'input.columns[6].trueValue: unknown key',
      'features[1]: nosuchfeature is not produced by preprocess.columns',
      'entityColumn: user is not produced by input.columns',
      'training.epochs: must be a positive integer',
      'feature: unknown key',
    );
  });

  it('refuses window counters in the input schema and inputs that are never decoded', () => {
    const doc = copyOf(builtinSources.duo);
    doc.input.columns.push({
      name: 'n',
      kind: 'increment',
      input: 'timestamp',
      groupBy: 'username',
    });
    doc.preprocess.columns.push({ name: 'x', kind: 'column', type: 'string', input: 'ghost' });
    const load = () => parseSourceDefinition(JSON.stringify(doc), 'inline.json');
    expect(load).toThrow('input.columns[9].kind: increment counts over an entity window');
    expect(load).toThrow('preprocess.columns[9]: reads ghost, which is not a decoded column');
  });

  it('requires the timestamp column to be a datetime and custom functions to exist', () => {
    const doc = copyOf(builtinSources.duo);
    doc.timestampColumn = 'reason';
    doc.input.columns.push({ name: 'c', kind: 'custom', type: 'float', function: 'unregistered' });
    const load = () => parseSourceDefinition(JSON.stringify(doc), 'inline.json');
    expect(load).toThrow('timestampColumn: reason must be a datetime column');
    expect(load).toThrow('input.columns[9].function: custom function "unregistered" is not');
  });

  it('explains YAML and JSON syntax errors with the file name', async () => {
    const yamlPath = join(dir, 'broken.yaml');
    writeFileSync(yamlPath, 'name: x\ncolumns: [1\nfoo: 2\n');
    await expectInvalid(() => loadSourceDefinition(yamlPath), yamlPath, 'not valid YAML', 'line');
    const jsonPath = join(dir, 'broken.json');
    writeFileSync(jsonPath, '{"name": ');
    await expectInvalid(() => loadSourceDefinition(jsonPath), jsonPath, 'not valid JSON');
  });

  it('rejects unknown names and missing files clearly', async () => {
    await expectInvalid(() => loadSourceDefinition('okta'), 'unknown source "okta"', 'duo, azure');
    await expectInvalid(
      () => loadSourceDefinition(join(dir, 'absent.yaml')),
      'cannot read source schema',
      'absent.yaml',
    );
  });
});
