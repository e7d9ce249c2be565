import {
  Table as ArrowTable,
  TimestampMicrosecond,
  makeData,
  makeVector,
  tableFromIPC,
  tableToIPC,
} from 'apache-arrow';
import {
  columnNames,
  columnOf,
  columnTypeOf,
  concatTables,
  emptyTable,
  fromIPC,
  getBools,
  getCells,
  getNumbers,
  getStrings,
  makeTable,
  rowObjects,
  selectColumns,
  sliceRows,
  sortByNumber,
  takeRowGroups,
  toIPC,
  withColumns,
} from '../../src/table';

const sample = () =>
  makeTable([
    { name: 's', type: 'string', values: ['a', null, 'c', 7 as unknown as string] },
    { name: 'i', type: 'int', values: [1.9, null, 2 ** 31, -3] },
    { name: 'f', type: 'float', values: [0.5, NaN, null, 2] },
    { name: 'b', type: 'bool', values: [true, false, null, 1 as unknown as boolean] },
    { name: 't', type: 'timestamp', values: [1000.7, null, 0, 1660000000000] },
  ]);

describe('table', () => {
  it('stores cells as the column type holds them: null is the one missing value', () => {
    const t = sample();
    expect(t.numRows).toBe(4);
    expect(t.numCols).toBe(5);
    expect(getCells(t, 's')).toEqual(['a', null, 'c', '7']);
    // Int columns are 32-bit: fractions cut, overflow wraps.
    expect(getCells(t, 'i')).toEqual([1, null, -(2 ** 31), -3]);
    expect(getCells(t, 'f')).toEqual([0.5, null, null, 2]);
    expect(getCells(t, 'b')).toEqual([true, false, null, true]);
    expect(getCells(t, 't')).toEqual([1000, null, 0, 1660000000000]);
    expect(Array.from(getNumbers(t, 'b'))).toEqual([1, 0, NaN, 1]);
    expect(getStrings(t, 'i')).toEqual(['1', null, String(-(2 ** 31)), '-3']);
    expect(getBools(t, 'f')).toEqual([true, null, null, true]);
    expect(() => makeTable([{ name: 't', type: 'timestamp', values: [Infinity] }])).toThrow(
      RangeError,
    );
  });

  it('hands out copies, so a caller changing them cannot change the table', () => {
    const t = sample();
    getStrings(t, 's')[0] = 'changed';
    getNumbers(t, 'f')[0] = 99;
    getCells(t, 'b')[0] = false;
    expect(getCells(t, 's')[0]).toBe('a');
    expect(getCells(t, 'f')[0]).toBe(0.5);
    expect(getCells(t, 'b')[0]).toBe(true);
    const values = new Float64Array([1, 2]);
    const made = makeTable([{ name: 'x', type: 'float', values }]);
    values[0] = 5;
    expect(getCells(made, 'x')).toEqual([1, 2]);
  });

  it('takes, slices, selects, replaces and renames columns', () => {
    const t = sample();
    const [first, second] = takeRowGroups(t, [[3, 0], [1]]);
    expect(rowObjects(first).map((r) => r.s)).toEqual(['7', 'a']);
    expect(rowObjects(second)).toEqual([{ s: null, i: null, f: null, b: false, t: null }]);
    expect(getCells(sliceRows(t, 1, 3), 'i')).toEqual([null, -(2 ** 31)]);
    expect(sliceRows(t, 3).numRows).toBe(1);
    expect(columnNames(selectColumns(t, ['f', 'missing', 's']))).toEqual(['f', 's']);
    const replaced = withColumns(t, [
      { name: 'f', type: 'string', values: ['w', 'x', 'y', 'z'] },
      columnOf(t, 's', 'copy'),
    ]);
    expect(columnNames(replaced)).toEqual(['s', 'i', 'f', 'b', 't', 'copy']);
    expect(columnTypeOf(replaced, 'f')).toBe('string');
    expect(getCells(replaced, 'copy')).toEqual(getCells(t, 's'));
    expect(() =>
      makeTable([
        { name: 'a', type: 'int', values: [1] },
        { name: 'b', type: 'int', values: [1, 2] },
      ]),
    ).toThrow('column b has 2 values, expected 1');
  });

  it('concatenates the union of columns, missing where a table lacks one', () => {
    const a = makeTable([
      { name: 'x', type: 'int', values: [1, 2] },
      { name: 'y', type: 'string', values: ['p', 'q'] },
    ]);
    const b = makeTable([
      { name: 'y', type: 'string', values: ['r'] },
      { name: 'z', type: 'float', values: [0.5] },
    ]);
    const c = concatTables([a, emptyTable([{ name: 'x', type: 'int' }]), b]);
    expect(columnNames(c)).toEqual(['x', 'y', 'z']);
    expect(rowObjects(c)).toEqual([
      { x: 1, y: 'p', z: null },
      { x: 2, y: 'q', z: null },
      { x: null, y: 'r', z: 0.5 },
    ]);
    // A column of another type is converted to the type first seen.
    const d = concatTables([a, makeTable([{ name: 'x', type: 'string', values: ['3'] }])]);
    expect(getCells(d, 'x')).toEqual([1, 2, 3]);
  });

  it('sorts by a number, stable, missing last', () => {
    const t = makeTable([
      { name: 'k', type: 'float', values: [2, null, 1, 2] },
      { name: 'v', type: 'string', values: ['a', 'b', 'c', 'd'] },
    ]);
    expect(getCells(sortByNumber(t, 'k'), 'v')).toEqual(['c', 'a', 'd', 'b']);
  });

  it('goes to Arrow IPC and back with every type and missing value', () => {
    const t = sample();
    const bytes = toIPC(t);
    const arrow = tableFromIPC(bytes);
    expect(arrow.schema.fields.map((f) => String(f.type))).toEqual([
      'Utf8',
      'Int32',
      'Float64',
      'Bool',
      'Timestamp<MILLISECOND>',
    ]);
    expect(arrow.getChild('s')?.get(1)).toBeNull();
    const back = fromIPC(bytes);
    expect(rowObjects(back)).toEqual(rowObjects(t));
    expect(columnNames(back).map((n) => columnTypeOf(back, n))).toEqual([
      'string',
      'int',
      'float',
      'bool',
      'timestamp',
    ]);
  });

  it('reads Arrow columns written by others (microsecond timestamps) and writes them as ms', () => {
    const micros = makeData({
      type: new TimestampMicrosecond(),
      length: 2,
      nullCount: 0,
      data: new BigInt64Array([1500n, 2000000n]),
    });
    const read = fromIPC(tableToIPC(new ArrowTable({ t: makeVector(micros) }), 'file'));
    expect(columnTypeOf(read, 't')).toBe('timestamp');
    expect(getCells(read, 't')).toEqual([1.5, 2000]);
    expect(getCells(fromIPC(toIPC(read)), 't')).toEqual([1, 2000]);
  });
});
