import { makeTable } from '../../src/table';
import { rowHashes } from '../../src/window/row-hash';

/** cyrb53 of a whole string: the definition the streamed hash must match. */
function cyrb53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

describe('window > row hashes', () => {
  const table = makeTable([
    { name: 'user', type: 'string', values: ['ada', 'ada', null, 'zoë 😀'] },
    { name: 'n', type: 'float', values: [1.5, 1.5, NaN, 1e21] },
    { name: 'ok', type: 'bool', values: [true, true, null, false] },
    { name: 'ts', type: 'timestamp', values: [1660000000000, 1660000000000, 0, 1] },
  ]);

  it('is cyrb53 of "name\\u0001value\\u0003" per column, \\u0002 for missing', () => {
    const text = (user: string, n: string, ok: string, ts: string) =>
      `user\u0001${user}\u0003n\u0001${n}\u0003ok\u0001${ok}\u0003ts\u0001${ts}\u0003`;
    expect(rowHashes(table)).toEqual([
      cyrb53(text('ada', '1.5', 'true', '1660000000000')),
      cyrb53(text('ada', '1.5', 'true', '1660000000000')),
      cyrb53(text('\u0002', '\u0002', '\u0002', '0')),
      cyrb53(text('zoë 😀', '1e+21', 'false', '1')),
    ]);
    // Detection ids are made of these hashes: the value must never change between versions.
    expect(rowHashes(table)[0]).toBe(1458353329067777);
  });

  it('hashes only the columns asked for, in their order', () => {
    const [a] = rowHashes(table, ['ts', 'user']);
    expect(a).toBe(cyrb53('ts\u00011660000000000\u0003user\u0001ada\u0003'));
    expect(a).not.toBe(rowHashes(table, ['user', 'ts'])[0]);
  });
});
