import { type Table, columnNames, getCells } from '../table';

/**
 * One hash per row over every column's value, column names included: cyrb53 (a
 * fast 53-bit string hash, good enough to spot repeated rows) of
 * `name \u0001 value \u0003` for each column in turn (`\u0002` for a missing
 * value), fed piece by piece instead of building that text.
 */
export function rowHashes(table: Table, columns = columnNames(table)): number[] {
  const cols = columns.map((n) => getCells(table, n));
  const out = new Array<number>(table.numRows);
  const state = new Int32Array(2);
  const feed = (text: string): void => {
    let h1 = state[0];
    let h2 = state[1];
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    state[0] = h1;
    state[1] = h2;
  };
  const prefixes = columns.map((n) => n + '\u0001');
  for (let r = 0; r < table.numRows; r++) {
    state[0] = 0xdeadbeef;
    state[1] = 0x41c6ce57;
    for (let c = 0; c < cols.length; c++) {
      const v = cols[c][r];
      feed(prefixes[c]);
      feed(v === null ? '\u0002' : String(v));
      feed('\u0003');
    }
    let h1 = state[0];
    let h2 = state[1];
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    out[r] = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }
  return out;
}
