import { applyInputSchema, flattenRecord, registerCustomColumn } from '../../src/schema/engine';
import { MAX_WARNINGS_PER_FIELD } from '../../src/schema/input-schema';
import type { InputSchema } from '../../src/schema/types';
import { columnTypeOf, getCells, rowObjects } from '../../src/table';

const SRC = 'test.json';

describe('schema > flatten', () => {
  it('joins nested keys with dots, keeps lists, drops empty objects', () => {
    const flat = flattenRecord({
      a: { b: { c: 1 }, d: null, e: {} },
      list: [{ x: 1 }],
      top: 'v',
    });
    expect(flat).toEqual({ 'a.b.c': 1, 'a.d': null, list: [{ x: 1 }], top: 'v' });
  });

  it('flattens only the listed JSON columns, parsing JSON text held there', () => {
    const flat = flattenRecord({ user: { name: 'u' }, other: { k: 1 }, detail: '{"state":"OK"}' }, [
      'user',
      'detail',
    ]);
    expect(flat).toEqual({ 'user.name': 'u', other: { k: 1 }, 'detail.state': 'OK' });
  });
});

describe('schema > input schema', () => {
  const run = (records: unknown[], schema: InputSchema, required: string[] = []) =>
    applyInputSchema(records, schema, { source: SRC, requiredColumns: required });

  it('casts numbers to their decimal text and numeric strings to numbers', () => {
    const { table, warnings } = run(
      [{ n: 81, s: '0', big: 1532951962, f: '2.5', i: '7', b: 'TRUE' }],
      {
        columns: [
          { name: 'n', kind: 'column', type: 'string' },
          { name: 's', kind: 'column', type: 'float' },
          { name: 'big', kind: 'column', type: 'string' },
          { name: 'f', kind: 'column', type: 'float' },
          { name: 'i', kind: 'column', type: 'int' },
          { name: 'b', kind: 'column', type: 'bool' },
        ],
      },
    );
    expect(rowObjects(table)).toEqual([
      { n: '81', s: 0, big: '1532951962', f: 2.5, i: 7, b: true },
    ]);
    expect(columnTypeOf(table, 'i')).toBe('int');
    expect(warnings).toEqual([]);
  });

  it('gives one missing value (null) for absent, null, blank and empty-object fields', () => {
    const schema: InputSchema = {
      columns: [
        { name: 'browser', kind: 'rename', type: 'string', input: 'dev.browser' },
        {
          name: 'location',
          kind: 'string_cat',
          inputs: ['dev.loc.city', 'dev.loc.state', 'dev.loc.country'],
          separator: ', ',
        },
        { name: 'groups', kind: 'string_join', input: 'groups', separator: '|' },
      ],
    };
    const { table } = run(
      [
        {},
        { dev: null },
        { dev: { browser: null, loc: {} }, groups: [] },
        { dev: { browser: '', loc: { city: null, state: null, country: null } } },
        { dev: { browser: '  ', loc: { city: '', state: undefined } }, groups: [null] },
      ],
      schema,
    );
    for (const row of rowObjects(table)) {
      expect(row).toEqual({ browser: null, location: null, groups: null });
    }
  });

  it('concatenates only the parts that are present', () => {
    const schema: InputSchema = {
      columns: [
        {
          name: 'location',
          kind: 'string_cat',
          inputs: ['city', ['state', 'region'], 'zip'],
          separator: ', ',
        },
      ],
    };
    const { table } = run(
      [
        { city: 'Austin', state: 'TX', zip: 78701 },
        { city: 'Austin', region: 'Texas' },
        { zip: 10001 },
        { city: null, state: 'TX', zip: null },
      ],
      schema,
    );
    expect(getCells(table, 'location')).toEqual([
      'Austin, TX, 78701',
      'Austin, Texas',
      '10001',
      'TX',
    ]);
  });

  it('joins list elements and keeps a plain string whole', () => {
    const { table } = run([{ g: ['a', 'b', null, 3] }, { g: 'Boston' }], {
      columns: [{ name: 'g', kind: 'string_join', input: 'g', separator: '-' }],
    });
    expect(getCells(table, 'g')).toEqual(['a-b-3', 'Boston']);
  });

  it('maps booleans by exact match and never reads an unknown value as true', () => {
    const { table, warnings } = run(
      [
        { result: 'success' },
        { result: ' SUCCESS ' },
        { result: 'denied' },
        { result: 'FAILURE' },
        { result: 'Success!' },
        {},
        { result: true },
      ],
      {
        columns: [
          {
            name: 'result',
            kind: 'bool',
            input: 'result',
            trueValues: ['success', 'SUCCESS'],
            falseValues: ['denied'],
          },
        ],
      },
    );
    expect(getCells(table, 'result')).toEqual([true, true, false, false, false, false, true]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ source: SRC, index: 3, field: 'result' });
    expect(warnings[0].message).toContain('"FAILURE"');
    expect(warnings[1]).toMatchObject({ index: 4, field: 'result' });
  });

  it('uses unknownValue for missing and unknown values when the schema sets it', () => {
    const { table } = run([{}, { r: 'odd' }, { r: 'no' }], {
      columns: [
        {
          name: 'r',
          kind: 'bool',
          input: 'r',
          trueValues: ['yes'],
          falseValues: ['no'],
          unknownValue: true,
        },
      ],
    });
    expect(getCells(table, 'r')).toEqual([true, true, false]);
  });

  it('takes the first present, castable coalesce input, then the fallback', () => {
    const { table, warnings } = run(
      [{ a: 'x', b: 'y' }, { b: 'y' }, { a: '', b: null }, { a: 'nope', b: '5' }],
      {
        columns: [
          { name: 's', kind: 'coalesce', type: 'string', inputs: ['a', 'b'], fallback: 'none' },
          { name: 'n', kind: 'coalesce', type: 'float', inputs: ['a', 'b'] },
        ],
      },
    );
    expect(getCells(table, 's')).toEqual(['x', 'y', 'none', 'nope']);
    expect(getCells(table, 'n')).toEqual([null, null, null, 5]);
    expect(warnings.map((w) => [w.index, w.field])).toEqual([
      [0, 'a'],
      [0, 'b'],
      [1, 'b'],
      [3, 'a'],
    ]);
  });

  it('falls back through datetime inputs in order and warns when one is unparseable', () => {
    const { table, warnings, rejects } = run(
      [
        { created: '2022-08-30T01:54:26Z', time: '2022-08-30T01:56:00Z' },
        { time: '2022-08-30T01:56:00Z' },
        { created: 'garbage', time: '2022-08-30T01:56:00Z' },
        { created: 'garbage' },
        {},
      ],
      { columns: [{ name: 'ts', kind: 'datetime', input: ['created', 'time'] }] },
      ['ts'],
    );
    expect(getCells(table, 'ts')).toEqual([
      Date.UTC(2022, 7, 30, 1, 54, 26),
      Date.UTC(2022, 7, 30, 1, 56, 0),
      Date.UTC(2022, 7, 30, 1, 56, 0),
    ]);
    expect(warnings).toEqual([
      expect.objectContaining({
        index: 2,
        field: 'created',
        message: expect.stringContaining('used time'),
      }),
    ]);
    expect(rejects.map((r) => [r.index, r.field, r.reason])).toEqual([
      [3, 'ts', expect.stringContaining('unparseable created "garbage"')],
      [4, 'ts', 'missing: none of created, time is present'],
    ]);
  });

  it('rejects records missing a required column and non-object records, keeping the rest', () => {
    const { table, rejects } = applyInputSchema(
      [{ u: 'a', t: 1661824466 }, 7, null, { t: 1661824466 }, { u: 'b', t: 1661824467 }],
      {
        columns: [
          { name: 'user', kind: 'rename', type: 'string', input: 'u' },
          { name: 'time', kind: 'datetime', input: 't' },
        ],
      },
      { source: SRC, requiredColumns: ['user', 'time'], indices: [10, 11, 12, 13, 14] },
    );
    expect(getCells(table, 'user')).toEqual(['a', 'b']);
    expect(rejects.map((r) => [r.source, r.index, r.field, r.reason])).toEqual([
      [SRC, 11, null, 'record is not a JSON object (found number)'],
      [SRC, 12, null, 'record is not a JSON object (found null)'],
      [SRC, 13, 'user', 'missing u'],
    ]);
  });

  it('rejects a record whose required concatenation has no part', () => {
    const { rejects } = run(
      [{ a: 'x' }, {}],
      {
        columns: [{ name: 'loc', kind: 'string_cat', inputs: ['a', 'b'], separator: ' ' }],
      },
      ['loc'],
    );
    expect(rejects.map((r) => [r.index, r.field, r.reason])).toEqual([[1, 'loc', 'missing a, b']]);
  });

  it('refuses a required column the schema does not produce', () => {
    expect(() =>
      run([{}], { columns: [{ name: 'a', kind: 'column', type: 'string' }] }, ['user']),
    ).toThrow('required column user is not produced by the input schema of test.json');
  });

  it('numbers rows from firstIndex when no indices are given', () => {
    const { rejects } = applyInputSchema(
      [{}, { u: 'x' }],
      { columns: [{ name: 'user', kind: 'rename', type: 'string', input: 'u' }] },
      { source: SRC, firstIndex: 500, requiredColumns: ['user'] },
    );
    expect(rejects.map((r) => r.index)).toEqual([500]);
  });

  it('reports unknown top-level keys once per call, except known and JSON columns', () => {
    const { warnings } = run(
      [
        { user: { name: 'a' }, alias: 'x', app: {} },
        { user: { name: 'b' }, isotimestamp: 'y', factor: 'push' },
        { user: { name: 'c' }, alias: 'z' },
      ],
      {
        jsonColumns: ['user', 'app'],
        columns: [{ name: 'username', kind: 'rename', type: 'string', input: 'user.name' }],
        knownFields: ['factor'],
      },
    );
    expect(warnings).toEqual([
      { source: SRC, index: null, field: null, message: 'unknown fields: alias, isotimestamp' },
    ]);
  });

  it('caps value warnings per field and says how many more there were', () => {
    const records = Array.from({ length: MAX_WARNINGS_PER_FIELD + 30 }, () => ({ r: 'odd' }));
    const { warnings } = run(records, {
      columns: [{ name: 'r', kind: 'bool', input: 'r', trueValues: ['y'], falseValues: ['n'] }],
    });
    expect(warnings).toHaveLength(MAX_WARNINGS_PER_FIELD + 1);
    expect(warnings[MAX_WARNINGS_PER_FIELD]).toMatchObject({
      index: null,
      field: 'r',
      message: '30 more warnings for r not listed',
    });
  });

  it('applies registered custom functions to the whole batch', () => {
    registerCustomColumn('test-plus-ten', (ctx) =>
      ctx.values('v2').map((v) => (typeof v === 'number' ? v + 10 : null)),
    );
    const { table } = run([{ v2: 1 }, { v2: 5 }, {}], {
      columns: [{ name: 'v2plus', kind: 'custom', type: 'float', function: 'test-plus-ten' }],
    });
    expect(getCells(table, 'v2plus')).toEqual([11, 15, null]);
  });

  it('preserves listed input columns with an inferred type', () => {
    const { table } = run(
      [
        { a: 1, keep: 3, tag: 'x' },
        { a: 2, keep: 4 },
      ],
      {
        columns: [{ name: 'a', kind: 'column', type: 'int' }],
        preserve: ['keep', 'tag', 'absent'],
      },
    );
    expect(rowObjects(table)).toEqual([
      { a: 1, keep: 3, tag: 'x' },
      { a: 2, keep: 4, tag: null },
    ]);
    expect(columnTypeOf(table, 'keep')).toBe('float');
  });

  it('sorts rows by a column when asked, stably, with missing values last', () => {
    const { table } = applyInputSchema(
      [{ id: 'a', t: 30 }, { id: 'b', t: 10 }, { id: 'c' }, { id: 'd', t: 10 }],
      {
        columns: [
          { name: 'id', kind: 'column', type: 'string' },
          { name: 't', kind: 'column', type: 'float' },
        ],
      },
      { source: SRC, sortBy: 't' },
    );
    expect(getCells(table, 'id')).toEqual(['b', 'd', 'a', 'c']);
  });

  it('builds a typed, empty table from no records', () => {
    const { table, rejects, warnings } = run([], {
      columns: [
        { name: 'ts', kind: 'datetime', input: 't' },
        { name: 'n', kind: 'column', type: 'float' },
      ],
    });
    expect(table.numRows).toBe(0);
    expect(columnTypeOf(table, 'ts')).toBe('timestamp');
    expect(rejects).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('never writes placeholder strings for missing values', () => {
    const messy = [{ a: null, b: undefined, c: {}, d: [], e: { f: null } }, { a: { b: {} } }, {}];
    const { table } = run(messy, {
      columns: [
        { name: 'a', kind: 'column', type: 'string' },
        { name: 'b', kind: 'column', type: 'string' },
        { name: 'c', kind: 'column', type: 'string' },
        { name: 'd', kind: 'column', type: 'string' },
        { name: 'ef', kind: 'rename', type: 'string', input: 'e.f' },
        { name: 'cat', kind: 'string_cat', inputs: ['a', 'b', 'e.f'], separator: ', ' },
      ],
    });
    const text = JSON.stringify(rowObjects(table));
    expect(text).not.toMatch(/undefined|None|nan|"null|, ,/);
    expect(rowObjects(table).every((r) => Object.values(r).every((v) => v === null))).toBe(true);
  });
});
