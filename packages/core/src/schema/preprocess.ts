/**
 * The preprocessing schema: from the decoded table of one entity window to the
 * model's feature columns. Every output is computed from the *input* table (a
 * derived column never reads another output), then preserved input columns are
 * appended. Rows keep their order; they are expected in timestamp order.
 */
import {
  type Cell,
  type ColumnData,
  type StoredColumn,
  type Table,
  columnNames,
  columnOf,
  getCells,
  hasColumn,
  makeTable,
} from '../table';
import { DfpError, ErrorCodes } from '../errors';
import type {
  ColumnSpec,
  DistinctIncrementColumn,
  IncrementColumn,
  PreprocessSchema,
} from './types';
import { type RowIssues, compileColumn, outputType } from './columns';
import { getCustomColumn } from './custom-columns';
import { castValue } from './values';

const MS_PER_DAY = 86_400_000;
/** Stands for a missing value when counting distinct values: all nulls are one value. */
const MISSING_KEY = '\u0000missing';

function schemaError(spec: ColumnSpec, message: string): DfpError {
  return new DfpError(ErrorCodes.SCHEMA_INVALID, `column ${spec.name}: ${message}`, {
    details: { column: spec.name, kind: spec.kind },
  });
}

/** UTC day numbers (days since 1970-01-01) of a timestamp column; null where missing. */
function utcDays(cells: Cell[]): (number | null)[] {
  return cells.map((c) => {
    const ms = typeof c === 'number' ? c : castValue('timestamp', c);
    if (typeof ms !== 'number') return null;
    return Math.floor(ms / MS_PER_DAY);
  });
}

function groupKey(group: Cell, day: number | null): string {
  return `${group === null ? MISSING_KEY : String(group)}\u0001${day ?? 'none'}`;
}

/** Cells of the input table's columns, each read at most once. */
class InputColumns {
  private readonly cache = new Map<string, Cell[] | null>();

  constructor(readonly table: Table) {}

  get(name: string): Cell[] | null {
    let cells = this.cache.get(name);
    if (cells === undefined) {
      cells = hasColumn(this.table, name) ? getCells(this.table, name) : null;
      this.cache.set(name, cells);
    }
    return cells;
  }

  require(spec: ColumnSpec, name: string, role: string): Cell[] {
    const cells = this.get(name);
    if (cells === null) {
      const has = columnNames(this.table).join(', ');
      throw schemaError(spec, `${role} column ${name} is not in the table (has ${has})`);
    }
    return cells;
  }
}

/** An input column that a copy column can pass on unchanged (same type). */
function passthrough(table: Table, spec: ColumnSpec): StoredColumn | null {
  if (spec.kind !== 'column' && spec.kind !== 'rename') return null;
  const input = spec.kind === 'column' ? (spec.input ?? spec.name) : spec.input;
  const column = table.column(input);
  return column && column.type === spec.type ? columnOf(table, input, spec.name) : null;
}

function checkPeriod(spec: IncrementColumn | DistinctIncrementColumn): void {
  if (spec.period !== undefined && spec.period !== 'D') {
    throw schemaError(spec, `period ${String(spec.period)} is not supported (only 'D')`);
  }
}

/** Per (group, UTC day) running row counter in row order, 0-based. */
function increment(input: InputColumns, spec: IncrementColumn): number[] {
  checkPeriod(spec);
  const days = utcDays(input.require(spec, spec.input, 'timestamp'));
  const groups = input.require(spec, spec.groupBy, 'groupBy');
  const counts = new Map<string, number>();
  const out = new Array<number>(days.length);
  for (let i = 0; i < days.length; i++) {
    const key = groupKey(groups[i], days[i]);
    const n = counts.get(key) ?? 0;
    out[i] = n;
    counts.set(key, n + 1);
  }
  return out;
}

/**
 * Per (group, UTC day) number of distinct `input` values seen so far, including
 * the current row (1-based). A missing value counts as one value of its own.
 */
function distinctIncrement(input: InputColumns, spec: DistinctIncrementColumn): number[] {
  checkPeriod(spec);
  const values = input.require(spec, spec.input, 'input');
  const groups = input.require(spec, spec.groupBy, 'groupBy');
  const days = utcDays(input.require(spec, spec.timestampColumn, 'timestamp'));
  const seen = new Map<string, Set<string>>();
  const out = new Array<number>(days.length);
  for (let i = 0; i < days.length; i++) {
    const key = groupKey(groups[i], days[i]);
    let set = seen.get(key);
    if (!set) {
      set = new Set<string>();
      seen.set(key, set);
    }
    const v = values[i];
    set.add(v === null ? MISSING_KEY : String(v));
    out[i] = set.size;
  }
  return out;
}

/**
 * Computes the preprocessing schema's columns from `table`. A copy of a column
 * that already has the wanted type passes the column on as it is.
 */
export function applyPreprocessSchema(table: Table, schema: PreprocessSchema): Table {
  const rows = table.numRows;
  const input = new InputColumns(table);
  const readerFor = (name: string) => {
    const cells = input.get(name);
    return (i: number): unknown => (cells ? cells[i] : undefined);
  };

  const out = new Map<string, ColumnData | StoredColumn>();
  for (const spec of schema.columns) {
    const type = outputType(spec);
    const same = passthrough(table, spec);
    if (same) {
      out.set(spec.name, same);
      continue;
    }
    if (spec.kind === 'increment') {
      out.set(spec.name, { name: spec.name, type, values: increment(input, spec) });
      continue;
    }
    if (spec.kind === 'distinct_increment') {
      out.set(spec.name, { name: spec.name, type, values: distinctIncrement(input, spec) });
      continue;
    }
    let custom: unknown[] | undefined;
    if (spec.kind === 'custom') {
      const fn = getCustomColumn(spec.function);
      const empty: null[] = new Array<null>(rows).fill(null);
      custom = Array.from(fn({ numRows: rows, spec, values: (n) => input.get(n) ?? empty }));
      if (custom.length !== rows) {
        throw schemaError(
          spec,
          `custom function returned ${custom.length} values for ${rows} rows`,
        );
      }
    }
    const compute = compileColumn(spec, readerFor, custom);
    const issues: RowIssues = { problem: null, notes: [] };
    const values = new Array<Cell>(rows);
    for (let i = 0; i < rows; i++) {
      issues.notes.length = 0;
      values[i] = compute(i, i, issues);
    }
    out.set(spec.name, { name: spec.name, type, values });
  }

  for (const name of schema.preserve ?? []) {
    if (!out.has(name) && hasColumn(table, name)) out.set(name, columnOf(table, name));
  }
  return makeTable([...out.values()]);
}
