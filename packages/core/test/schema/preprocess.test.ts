import { applyPreprocessSchema, registerCustomColumn } from '../../src/schema/engine';
import type { PreprocessSchema } from '../../src/schema/types';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { columnNames, columnTypeOf, fromIPC, getCells, makeTable, toIPC } from '../../src/table';

const t = (iso: string): number =>
  Date.UTC(
    Number(iso.slice(0, 4)),
    Number(iso.slice(5, 7)) - 1,
    Number(iso.slice(8, 10)),
    Number(iso.slice(11, 13)),
    Number(iso.slice(14, 16)),
  );

const COUNTERS: PreprocessSchema = {
  columns: [
    { name: 'user', kind: 'column', type: 'string' },
    { name: 'logcount', kind: 'increment', input: 'ts', groupBy: 'user' },
    {
      name: 'locincrement',
      kind: 'distinct_increment',
      input: 'location',
      groupBy: 'user',
      timestampColumn: 'ts',
    },
  ],
};

function window(rows: [string, string, string | null][]) {
  return makeTable([
    { name: 'user', type: 'string', values: rows.map((r) => r[0]) },
    { name: 'ts', type: 'timestamp', values: rows.map((r) => t(r[1])) },
    { name: 'location', type: 'string', values: rows.map((r) => r[2]) },
  ]);
}

describe('schema > preprocess', () => {
  it('reproduces the worked example of logcount and locincrement', () => {
    const out = applyPreprocessSchema(
      window([
        ['a', '2022-08-01 01:00', 'X'],
        ['a', '2022-08-01 02:00', 'Y'],
        ['b', '2022-08-01 02:30', 'X'],
        ['a', '2022-08-01 03:00', 'X'],
        ['a', '2022-08-02 00:10', 'Z'],
        ['b', '2022-08-02 01:00', null],
        ['a', '2022-08-02 05:00', 'X'],
      ]),
      COUNTERS,
    );
    expect(getCells(out, 'logcount')).toEqual([0, 1, 0, 2, 0, 0, 1]);
    expect(getCells(out, 'locincrement')).toEqual([1, 2, 1, 2, 1, 1, 2]);
    expect(columnTypeOf(out, 'logcount')).toBe('int');
  });

  it('counts all missing values of a day as one distinct value', () => {
    const out = applyPreprocessSchema(
      window([
        ['a', '2022-08-01 01:00', null],
        ['a', '2022-08-01 02:00', null],
        ['a', '2022-08-01 03:00', 'X'],
        ['a', '2022-08-01 04:00', null],
      ]),
      COUNTERS,
    );
    expect(getCells(out, 'locincrement')).toEqual([1, 1, 2, 2]);
  });

  it('splits days at UTC midnight', () => {
    const out = applyPreprocessSchema(
      window([
        ['a', '2022-08-01 23:59', 'X'],
        ['a', '2022-08-02 00:00', 'X'],
        ['a', '2022-08-02 06:59', 'Y'],
        ['a', '2022-08-02 07:01', 'X'],
      ]),
      COUNTERS,
    );
    expect(getCells(out, 'logcount')).toEqual([0, 0, 1, 2]);
    expect(getCells(out, 'locincrement')).toEqual([1, 1, 2, 2]);
  });

  it('reads inputs, not earlier outputs, and appends preserved columns', () => {
    registerCustomColumn('test-v2-plus-10', (ctx) =>
      ctx.values('v2').map((v) => (typeof v === 'number' ? v + 10 : null)),
    );
    const table = makeTable([
      { name: 'v2', type: 'float', values: [1, 2, null] },
      { name: 'v3', type: 'float', values: [3, 4.5, null] },
      { name: 'id', type: 'string', values: ['x', 'y', 'z'] },
    ]);
    const out = applyPreprocessSchema(table, {
      columns: [
        { name: 'v2', kind: 'custom', type: 'float', function: 'test-v2-plus-10' },
        { name: 'v3', kind: 'column', type: 'string' },
        { name: 'again', kind: 'rename', type: 'float', input: 'v2' },
        { name: 'absent', kind: 'column', type: 'string' },
      ],
      preserve: ['id', 'v3', 'nope'],
    });
    expect(columnNames(out)).toEqual(['v2', 'v3', 'again', 'absent', 'id']);
    expect(getCells(out, 'v2')).toEqual([11, 12, null]);
    expect(getCells(out, 'v3')).toEqual(['3', '4.5', null]);
    expect(getCells(out, 'again')).toEqual([1, 2, null]);
    expect(getCells(out, 'absent')).toEqual([null, null, null]);
  });

  it('reads windows stored as Arrow IPC in several record batches', () => {
    const rows: [string, string, string | null][] = [
      ['a', '2022-08-01 01:00', 'X'],
      ['b', '2022-08-01 02:00', 'Y'],
      ['a', '2022-08-01 03:00', 'Y'],
      ['a', '2022-08-01 04:00', 'X'],
    ];
    // Two record batches on disk (as a state store or cache written in pieces holds them).
    const arrow = tableFromIPC(toIPC(window(rows.slice(0, 2)))).concat(
      tableFromIPC(toIPC(window(rows.slice(2)))),
    );
    expect(arrow.batches).toHaveLength(2);
    const chunked = fromIPC(tableToIPC(arrow, 'file'));
    expect(chunked.numRows).toBe(4);
    const out = applyPreprocessSchema(chunked, { ...COUNTERS, preserve: ['ts'] });
    expect(getCells(out, 'user')).toEqual(['a', 'b', 'a', 'a']);
    expect(getCells(out, 'logcount')).toEqual([0, 0, 1, 2]);
    expect(getCells(out, 'locincrement')).toEqual([1, 1, 2, 2]);
    expect(getCells(out, 'ts')).toEqual(rows.map((r) => t(r[1])));
  });

  it('keeps row order and handles an empty window', () => {
    const out = applyPreprocessSchema(window([]), COUNTERS);
    expect(out.numRows).toBe(0);
    expect(columnNames(out)).toEqual(['user', 'logcount', 'locincrement']);
  });

  it('refuses a counter whose group column is not in the table', () => {
    expect(() =>
      applyPreprocessSchema(window([['a', '2022-08-01 01:00', 'X']]), {
        columns: [{ name: 'n', kind: 'increment', input: 'ts', groupBy: 'nobody' }],
      }),
    ).toThrow(/column n: groupBy column nobody is not in the table/);
  });
});
