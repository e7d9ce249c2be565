import { type Table, columnNames, getCells } from '../table';

const MISSING = '\u0002';
const END = 0x0003;

/**
 * One hash per row over every column's value, column names included: cyrb53 (a
 * fast 53-bit string hash, good enough to spot repeated rows) of
 * `name \u0001 value \u0003` for each column in turn (`\u0002` for a missing
 * value), fed piece by piece instead of building that text.
 */
export function rowHashes(table: Table, columns = columnNames(table)): number[] {
  const cols = columns.map((n) => getCells(table, n));
  const prefixes = columns.map((n) => Uint16Array.from(n + '\u0001', (ch) => ch.charCodeAt(0)));
  const out = new Array<number>(table.numRows);
  for (let r = 0; r < table.numRows; r++) {
    let h1 = 0xdeadbeef | 0;
    let h2 = 0x41c6ce57;
    for (let c = 0; c < cols.length; c++) {
      const prefix = prefixes[c];
      for (let i = 0; i < prefix.length; i++) {
        h1 = Math.imul(h1 ^ prefix[i], 2654435761);
        h2 = Math.imul(h2 ^ prefix[i], 1597334677);
      }
      const v = cols[c][r];
      const text = v === null ? MISSING : typeof v === 'string' ? v : String(v);
      for (let i = 0; i < text.length; i++) {
        const ch = text.charCodeAt(i);
        h1 = Math.imul(h1 ^ ch, 2654435761);
        h2 = Math.imul(h2 ^ ch, 1597334677);
      }
      h1 = Math.imul(h1 ^ END, 2654435761);
      h2 = Math.imul(h2 ^ END, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    out[r] = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }
  return out;
}
