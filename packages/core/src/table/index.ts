/**
 * Batches travel between stages as Apache Arrow tables. These helpers are the
 * only place that builds or reads Arrow vectors, so stages deal in plain typed
 * values: strings (null = missing), numbers (NaN = missing), booleans and
 * timestamps as epoch milliseconds (UTC).
 */
import {
  Bool,
  type DataType,
  Field,
  Float64,
  Int32,
  Schema,
  Table,
  TimestampMillisecond,
  Type,
  Utf8,
  type Vector,
  makeVector,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';

export { Table };

export type ColumnType = 'string' | 'float' | 'int' | 'bool' | 'timestamp';

/** One cell as stages see it. `null` is the single missing value. */
export type Cell = string | number | boolean | null;

export interface ColumnData {
  name: string;
  type: ColumnType;
  values: ArrayLike<Cell>;
}

function arrowType(type: ColumnType): DataType {
  switch (type) {
    case 'string':
      return new Utf8();
    case 'float':
      return new Float64();
    case 'int':
      return new Int32();
    case 'bool':
      return new Bool();
    case 'timestamp':
      return new TimestampMillisecond();
  }
}

/** The column type of an Arrow field, as stages name it. */
export function toColumnType(type: DataType): ColumnType {
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Dictionary:
      return 'string';
    case Type.Int:
      return 'int';
    case Type.Bool:
      return 'bool';
    case Type.Timestamp:
    case Type.Date:
      return 'timestamp';
    default:
      return 'float';
  }
}

function normalise(type: ColumnType, values: ArrayLike<Cell>): Cell[] {
  const out: Cell[] = new Array<Cell>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      out[i] = null;
    } else if ((type === 'float' || type === 'int' || type === 'timestamp') && Number.isNaN(v)) {
      out[i] = null;
    } else {
      out[i] = v;
    }
  }
  return out;
}

export function makeVectorOf(type: ColumnType, values: ArrayLike<Cell>): Vector {
  if ((type === 'float' || type === 'timestamp') && values instanceof Float64Array) {
    let hasNaN = false;
    for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) hasNaN = true;
    if (!hasNaN && type === 'float') return makeVector(values);
  }
  return vectorFromArray(normalise(type, values), arrowType(type)) as Vector;
}

/** Builds a table from columns of equal length, in the given order. */
export function makeTable(columns: ColumnData[]): Table {
  const vectors: Record<string, Vector> = {};
  let rows: number | undefined;
  for (const col of columns) {
    if (rows !== undefined && col.values.length !== rows) {
      throw new Error(
        `column ${col.name} has ${col.values.length} values, expected ${rows} like the others`,
      );
    }
    rows = col.values.length;
    vectors[col.name] = makeVectorOf(col.type, col.values);
  }
  return new Table(vectors);
}

/** A table with the given columns and no rows. */
export function emptyTable(columns: { name: string; type: ColumnType }[]): Table {
  return new Table(new Schema(columns.map((c) => new Field(c.name, arrowType(c.type), true))));
}

export function hasColumn(table: Table, name: string): boolean {
  return table.schema.fields.some((f) => f.name === name);
}

export function columnNames(table: Table): string[] {
  return table.schema.fields.map((f) => f.name);
}

export function columnTypeOf(table: Table, name: string): ColumnType {
  const field = table.schema.fields.find((f) => f.name === name);
  if (!field) throw new Error(`table has no column ${name}`);
  return toColumnType(field.type);
}

function child(table: Table, name: string): Vector {
  const vec = table.getChild(name);
  if (!vec) throw new Error(`table has no column ${name} (has ${columnNames(table).join(', ')})`);
  return vec as Vector;
}

/** String values; null where missing. */
export function getStrings(table: Table, name: string): (string | null)[] {
  const vec = child(table, name);
  const out = new Array<string | null>(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const v: unknown = vec.get(i);
    out[i] = v === null || v === undefined ? null : String(v);
  }
  return out;
}

/** Numeric values (ints, floats, timestamps in epoch ms, bools as 0/1); NaN where missing. */
export function getNumbers(table: Table, name: string): Float64Array {
  const vec = child(table, name);
  const out = new Float64Array(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const v: unknown = vec.get(i);
    if (v === null || v === undefined) out[i] = NaN;
    else if (typeof v === 'bigint') out[i] = Number(v);
    else if (typeof v === 'boolean') out[i] = v ? 1 : 0;
    else out[i] = Number(v);
  }
  return out;
}

/** Boolean values; null where missing. */
export function getBools(table: Table, name: string): (boolean | null)[] {
  const vec = child(table, name);
  const out = new Array<boolean | null>(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const v: unknown = vec.get(i);
    out[i] = v === null || v === undefined ? null : Boolean(v);
  }
  return out;
}

/** Cells of any column, typed as the column is. */
export function getCells(table: Table, name: string): Cell[] {
  const type = columnTypeOf(table, name);
  if (type === 'string') return getStrings(table, name);
  if (type === 'bool') return getBools(table, name);
  return Array.from(getNumbers(table, name), (v) => (Number.isNaN(v) ? null : v));
}

export function columnData(table: Table, name: string): ColumnData {
  return { name, type: columnTypeOf(table, name), values: getCells(table, name) };
}

/** The rows at `indices`, in that order, with every column. */
export function takeRows(table: Table, indices: ArrayLike<number>): Table {
  const columns = columnNames(table).map((name) => {
    const type = columnTypeOf(table, name);
    const cells = getCells(table, name);
    const values = new Array<Cell>(indices.length);
    for (let i = 0; i < indices.length; i++) values[i] = cells[indices[i]];
    return { name, type, values };
  });
  if (columns.length === 0) return new Table();
  return makeTable(columns);
}

/** Adds columns, replacing same-named ones in place and appending new ones at the end. */
export function withColumns(table: Table, columns: ColumnData[]): Table {
  const replaced = new Map(columns.map((c) => [c.name, c]));
  const out: ColumnData[] = [];
  for (const name of columnNames(table)) {
    const repl = replaced.get(name);
    out.push(repl ?? columnData(table, name));
    replaced.delete(name);
  }
  for (const col of columns) if (replaced.has(col.name)) out.push(col);
  return makeTable(out);
}

/** Keeps only the named columns, in the given order; absent ones are skipped. */
export function selectColumns(table: Table, names: string[]): Table {
  const present = names.filter((n) => hasColumn(table, n));
  return table.select(present);
}

/**
 * Concatenates tables row-wise. Columns are the union in first-seen order; a
 * table lacking a column contributes missing values for it.
 */
export function concatTables(tables: Table[]): Table {
  const nonEmpty = tables.filter((t) => t.numCols > 0);
  if (nonEmpty.length === 0) return tables[0] ?? new Table();
  if (nonEmpty.length === 1) return nonEmpty[0];
  const order: { name: string; type: ColumnType }[] = [];
  const seen = new Set<string>();
  for (const t of nonEmpty) {
    for (const f of t.schema.fields) {
      if (!seen.has(f.name)) {
        seen.add(f.name);
        order.push({ name: f.name, type: toColumnType(f.type) });
      }
    }
  }
  const columns = order.map(({ name, type }) => {
    const values: Cell[] = [];
    for (const t of nonEmpty) {
      if (hasColumn(t, name)) {
        for (const v of getCells(t, name)) values.push(v);
      } else {
        for (let i = 0; i < t.numRows; i++) values.push(null);
      }
    }
    return { name, type, values };
  });
  return makeTable(columns);
}

/** Rows as plain objects (for sinks and tests). Timestamps stay epoch ms. */
export function rowObjects(table: Table): Record<string, Cell>[] {
  const names = columnNames(table);
  const cols = names.map((n) => getCells(table, n));
  const rows: Record<string, Cell>[] = [];
  for (let r = 0; r < table.numRows; r++) {
    const row: Record<string, Cell> = {};
    for (let c = 0; c < names.length; c++) row[names[c]] = cols[c][r];
    rows.push(row);
  }
  return rows;
}

export function toIPC(table: Table): Uint8Array {
  return tableToIPC(table, 'file');
}

export function fromIPC(bytes: Uint8Array): Table {
  return tableFromIPC(bytes);
}

/** Rows sorted by a numeric column (stable; missing values last). */
export function sortByNumber(table: Table, name: string): Table {
  const values = getNumbers(table, name);
  let sorted = true;
  for (let i = 1; i < values.length; i++) {
    if (values[i] < values[i - 1] || (Number.isNaN(values[i - 1]) && !Number.isNaN(values[i]))) {
      sorted = false;
      break;
    }
  }
  if (sorted) return table;
  const key = (i: number) => (Number.isNaN(values[i]) ? Infinity : values[i]);
  const order = Array.from(values.keys()).sort((a, b) => key(a) - key(b) || a - b);
  return takeRows(table, order);
}
