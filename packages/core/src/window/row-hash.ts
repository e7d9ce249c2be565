import { type Table, columnNames, getCells } from '../table';

/** cyrb53: a fast 53-bit string hash, good enough to spot repeated rows. */
function hashString(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** One hash per row over every column's value, column names included. */
export function rowHashes(table: Table, columns = columnNames(table)): number[] {
  const cols = columns.map((n) => getCells(table, n));
  const out = new Array<number>(table.numRows);
  for (let r = 0; r < table.numRows; r++) {
    let text = '';
    for (let c = 0; c < cols.length; c++) {
      const v = cols[c][r];
      text += columns[c] + '\u0001' + (v === null ? '\u0002' : String(v)) + '\u0003';
    }
    out[r] = hashString(text);
  }
  return out;
}
