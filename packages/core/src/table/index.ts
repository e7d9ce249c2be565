/**
 * Batches travel between stages as tables of plain columns: strings and
 * booleans as arrays (null = missing), numbers as Float64Arrays (NaN =
 * missing; timestamps in epoch milliseconds, UTC). Tables are immutable, so
 * stages share columns instead of copying them. Apache Arrow is the format on
 * disk and between threads (`toIPC`, `fromIPC`); building Arrow vectors for
 * every small table that the stages make cost more than the stages' own work.
 * These helpers are the only place that reads or builds a column.
 */
import {
  Bool,
  DataType,
  Precision,
  TimeUnit,
  Float64,
  Int32,
  Table as ArrowTable,
  TimestampMillisecond,
  Type,
  Utf8,
  type Vector,
  makeData,
  makeVector,
  tableFromIPC,
  tableToIPC,
} from 'apache-arrow';

export type ColumnType = 'string' | 'float' | 'int' | 'bool' | 'timestamp';

/** One cell as stages see it. `null` is the single missing value. */
export type Cell = string | number | boolean | null;

export interface ColumnData {
  name: string;
  type: ColumnType;
  values: ArrayLike<Cell>;
}

type Stored = (string | null)[] | (boolean | null)[] | Float64Array;

/** A column as a table holds it. Never changed once made, so tables share them. */
export interface StoredColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly values: Stored;
}

const STORED = new WeakSet<object>();

function stored(name: string, type: ColumnType, values: Stored): StoredColumn {
  const column = { name, type, values };
  STORED.add(column);
  return column;
}

function isStored(column: ColumnData | StoredColumn): column is StoredColumn {
  return STORED.has(column);
}

export class Table {
  readonly numRows: number;
  private readonly columns: readonly StoredColumn[];
  private readonly byName: ReadonlyMap<string, StoredColumn>;

  /** Use `makeTable`; this takes columns already in stored form. */
  constructor(columns: readonly StoredColumn[] = [], numRows = columns[0]?.values.length ?? 0) {
    this.columns = columns;
    this.numRows = numRows;
    this.byName = new Map(columns.map((c) => [c.name, c]));
  }

  get numCols(): number {
    return this.columns.length;
  }

  /** The stored columns, in order. */
  get fields(): readonly StoredColumn[] {
    return this.columns;
  }

  column(name: string): StoredColumn | undefined {
    return this.byName.get(name);
  }
}

function missing(v: Cell | undefined): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

/** Values in the stored form of a type (what Arrow's vectors of that type would hold). */
function storeValues(type: ColumnType, values: ArrayLike<Cell>): Stored {
  const n = values.length;
  switch (type) {
    case 'string': {
      const out = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        out[i] = missing(v) ? null : typeof v === 'string' ? v : String(v);
      }
      return out;
    }
    case 'bool': {
      const out = new Array<boolean | null>(n);
      for (let i = 0; i < n; i++) out[i] = missing(values[i]) ? null : Boolean(values[i]);
      return out;
    }
    case 'float': {
      if (values instanceof Float64Array) return values.slice();
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = missing(values[i]) ? NaN : Number(values[i]);
      return out;
    }
    case 'int': {
      const out = new Float64Array(n);
      // 32-bit integers, wrapping as an Int32 column does.
      for (let i = 0; i < n; i++) out[i] = missing(values[i]) ? NaN : Number(values[i]) | 0;
      return out;
    }
    case 'timestamp': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (missing(values[i])) {
          out[i] = NaN;
          continue;
        }
        const ms = Math.trunc(Number(values[i]));
        if (!Number.isFinite(ms)) {
          throw new RangeError(`timestamp ${String(values[i])} is not a number of milliseconds`);
        }
        out[i] = ms;
      }
      return out;
    }
  }
}

function toStored(column: ColumnData | StoredColumn): StoredColumn {
  return isStored(column)
    ? column
    : stored(column.name, column.type, storeValues(column.type, column.values));
}

/**
 * Builds a table from columns of equal length, in the given order (a later
 * column of the same name takes the earlier one's place). Stored columns of
 * other tables are shared, not copied.
 */
export function makeTable(columns: readonly (ColumnData | StoredColumn)[]): Table {
  const out = new Map<string, StoredColumn>();
  let rows: number | undefined;
  for (const col of columns) {
    if (rows !== undefined && col.values.length !== rows) {
      throw new Error(
        `column ${col.name} has ${col.values.length} values, expected ${rows} like the others`,
      );
    }
    rows = col.values.length;
    out.set(col.name, toStored(col));
  }
  return new Table([...out.values()], rows ?? 0);
}

/** A table with the given columns and no rows. */
export function emptyTable(columns: { name: string; type: ColumnType }[]): Table {
  return makeTable(columns.map((c) => ({ ...c, values: [] })));
}

export function hasColumn(table: Table, name: string): boolean {
  return table.column(name) !== undefined;
}

export function columnNames(table: Table): string[] {
  return table.fields.map((f) => f.name);
}

function child(table: Table, name: string): StoredColumn {
  const col = table.column(name);
  if (!col) throw new Error(`table has no column ${name} (has ${columnNames(table).join(', ')})`);
  return col;
}

export function columnTypeOf(table: Table, name: string): ColumnType {
  const col = table.column(name);
  if (!col) throw new Error(`table has no column ${name}`);
  return col.type;
}

/** A column as stored, to put in another table unchanged (under another name if given). */
export function columnOf(table: Table, name: string, as = name): StoredColumn {
  const col = child(table, name);
  return as === col.name ? col : stored(as, col.type, col.values);
}

function isNumeric(type: ColumnType): boolean {
  return type === 'float' || type === 'int' || type === 'timestamp';
}

/** String values; null where missing. */
export function getStrings(table: Table, name: string): (string | null)[] {
  const { type, values } = child(table, name);
  if (type === 'string') return (values as (string | null)[]).slice();
  const out = new Array<string | null>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v);
  }
  return out;
}

/** Numeric values (ints, floats, timestamps in epoch ms, bools as 0/1); NaN where missing. */
export function getNumbers(table: Table, name: string): Float64Array {
  const { type, values } = child(table, name);
  if (isNumeric(type)) return (values as Float64Array).slice();
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null ? NaN : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
  }
  return out;
}

/** Boolean values; null where missing. */
export function getBools(table: Table, name: string): (boolean | null)[] {
  const { type, values } = child(table, name);
  if (type === 'bool') return (values as (boolean | null)[]).slice();
  const out = new Array<boolean | null>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null || (typeof v === 'number' && Number.isNaN(v)) ? null : Boolean(v);
  }
  return out;
}

/** Cells of a stored column (numbers: NaN becomes null). */
function cellsOf({ type, values }: StoredColumn): Cell[] {
  if (!isNumeric(type)) return (values as Cell[]).slice();
  const out = new Array<Cell>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    out[i] = Number.isNaN(v) ? null : v;
  }
  return out;
}

/** Cells of any column, typed as the column is. */
export function getCells(table: Table, name: string): Cell[] {
  return cellsOf(child(table, name));
}

export function columnData(table: Table, name: string): ColumnData {
  return { name, type: columnTypeOf(table, name), values: getCells(table, name) };
}

function pick(values: Stored, indices: ArrayLike<number>): Stored {
  const n = indices.length;
  if (values instanceof Float64Array) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = values[indices[i]];
    return out;
  }
  const out = new Array<Cell>(n);
  for (let i = 0; i < n; i++) out[i] = values[indices[i]];
  return out as Stored;
}

/** The rows at `indices`, in that order, with every column. */
export function takeRows(table: Table, indices: ArrayLike<number>): Table {
  return takeRowGroups(table, [indices])[0];
}

/** One table per group of row indices (rows in the group's order). */
export function takeRowGroups(table: Table, groups: ArrayLike<number>[]): Table[] {
  const cols = table.fields;
  if (cols.length === 0) return groups.map(() => new Table());
  return groups.map(
    (indices) =>
      new Table(
        cols.map((c) => stored(c.name, c.type, pick(c.values, indices))),
        indices.length,
      ),
  );
}

/** Rows `start` (inclusive) to `end` (exclusive, default the last), like `Array.slice`. */
export function sliceRows(table: Table, start: number, end = table.numRows): Table {
  const from = Math.max(0, Math.min(start, table.numRows));
  const to = Math.max(from, Math.min(end, table.numRows));
  return new Table(
    table.fields.map((c) => stored(c.name, c.type, c.values.slice(from, to) as Stored)),
    to - from,
  );
}

/** Adds columns, replacing same-named ones in place and appending new ones at the end. */
export function withColumns(table: Table, columns: readonly (ColumnData | StoredColumn)[]): Table {
  const replaced = new Map(columns.map((c) => [c.name, c]));
  const out: (ColumnData | StoredColumn)[] = [];
  for (const col of table.fields) {
    out.push(replaced.get(col.name) ?? col);
    replaced.delete(col.name);
  }
  for (const col of columns) if (replaced.has(col.name)) out.push(col);
  return makeTable(out);
}

/** Keeps only the named columns, in the given order; absent ones are skipped. */
export function selectColumns(table: Table, names: string[]): Table {
  const cols = names.flatMap((n) => table.column(n) ?? []);
  return new Table(cols, table.numRows);
}

function joinValues(type: ColumnType, parts: Stored[], rows: number): Stored {
  if (isNumeric(type)) {
    const out = new Float64Array(rows);
    let at = 0;
    for (const p of parts) {
      out.set(p as Float64Array, at);
      at += p.length;
    }
    return out;
  }
  const out = new Array<Cell>(rows);
  let at = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) out[at++] = p[i];
  return out as Stored;
}

/**
 * Concatenates tables row-wise. Columns are the union in first-seen order, of
 * the type first seen; a table lacking a column contributes missing values for it.
 */
export function concatTables(tables: Table[]): Table {
  const nonEmpty = tables.filter((t) => t.numCols > 0);
  if (nonEmpty.length === 0) return tables[0] ?? new Table();
  if (nonEmpty.length === 1) return nonEmpty[0];
  const withRows = nonEmpty.filter((t) => t.numRows > 0);
  if (withRows.length === 1 && nonEmpty.every((t) => sameSchema(t, withRows[0]))) {
    return withRows[0];
  }
  const order = new Map<string, ColumnType>();
  for (const t of nonEmpty)
    for (const f of t.fields) if (!order.has(f.name)) order.set(f.name, f.type);
  const rows = nonEmpty.reduce((n, t) => n + t.numRows, 0);
  const columns = [...order].map(([name, type]) => {
    const parts = nonEmpty.map((t): Stored => {
      const col = t.column(name);
      if (!col) return storeValues(type, new Array<null>(t.numRows).fill(null));
      return col.type === type ? col.values : storeValues(type, cellsOf(col));
    });
    return stored(name, type, joinValues(type, parts, rows));
  });
  return new Table(columns, rows);
}

function sameSchema(a: Table, b: Table): boolean {
  const fa = a.fields;
  const fb = b.fields;
  return (
    fa.length === fb.length && fa.every((f, i) => f.name === fb[i].name && f.type === fb[i].type)
  );
}

/** Rows as plain objects (for sinks and tests). Timestamps stay epoch ms. */
export function rowObjects(table: Table): Record<string, Cell>[] {
  const names = columnNames(table);
  const cols = table.fields.map(cellsOf);
  const rows: Record<string, Cell>[] = [];
  for (let r = 0; r < table.numRows; r++) {
    const row: Record<string, Cell> = {};
    for (let c = 0; c < names.length; c++) row[names[c]] = cols[c][r];
    rows.push(row);
  }
  return rows;
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

// Arrow: the form on disk.

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

/** An Arrow vector of a stored column, built straight from buffers. */
function arrowVector({ type, values }: StoredColumn): Vector {
  const n = values.length;
  const validity = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || (typeof v === 'number' && Number.isNaN(v))) nullCount++;
    else validity[i >> 3] |= 1 << (i & 7);
  }
  const nullBitmap = nullCount > 0 ? validity : null;
  switch (type) {
    case 'string': {
      const texts = values as (string | null)[];
      const offsets = new Int32Array(n + 1);
      let bytes = 0;
      for (let i = 0; i < n; i++) {
        const t = texts[i];
        if (t !== null) bytes += Buffer.byteLength(t, 'utf8');
        offsets[i + 1] = bytes;
      }
      const data = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (let i = 0; i < n; i++) {
        const t = texts[i];
        if (t !== null) at += data.write(t, at, 'utf8');
      }
      return makeVector(
        makeData({
          type: new Utf8(),
          length: n,
          nullCount,
          nullBitmap,
          valueOffsets: offsets,
          data: new Uint8Array(data.buffer, data.byteOffset, bytes),
        }),
      );
    }
    case 'bool': {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (values[i]) bits[i >> 3] |= 1 << (i & 7);
      return makeVector(
        makeData({ type: new Bool(), length: n, nullCount, nullBitmap, data: bits }),
      );
    }
    case 'int': {
      const data = Int32Array.from(values as Float64Array, (v) => (Number.isNaN(v) ? 0 : v));
      return makeVector(makeData({ type: new Int32(), length: n, nullCount, nullBitmap, data }));
    }
    case 'float': {
      const data = (values as Float64Array).slice();
      return makeVector(makeData({ type: new Float64(), length: n, nullCount, nullBitmap, data }));
    }
    case 'timestamp': {
      const data = new BigInt64Array(n);
      const ms = values as Float64Array;
      for (let i = 0; i < n; i++) if (!Number.isNaN(ms[i])) data[i] = BigInt(Math.trunc(ms[i]));
      return makeVector(
        makeData({ type: new TimestampMillisecond(), length: n, nullCount, nullBitmap, data }),
      );
    }
  }
}

/**
 * Numbers read from each chunk's value buffer (epoch ms for timestamps), NaN
 * where the validity bitmap says missing; `Vector.get` per cell is much slower.
 */
function fixedWidthNumbers(vec: Vector): Float64Array {
  const out = new Float64Array(vec.length);
  let i = 0;
  for (const data of vec.data) {
    const values = data.values as ArrayLike<number | bigint>;
    const nulls = data.nullCount > 0 ? data.nullBitmap : undefined;
    for (let r = 0; r < data.length; r++) {
      const bit = r + data.offset;
      if (nulls && ((nulls[bit >> 3] >> (bit & 7)) & 1) === 0) out[i++] = NaN;
      else out[i++] = Number(values[r]);
    }
  }
  return out;
}

/** Utf8 cells read straight from each chunk's offsets and bytes. */
function utf8Values(vec: Vector): (string | null)[] {
  const out = new Array<string | null>(vec.length);
  let i = 0;
  for (const data of vec.data) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const nulls = data.nullCount > 0 ? data.nullBitmap : undefined;
    for (let r = 0; r < data.length; r++) {
      const bit = r + data.offset;
      const valid = !nulls || ((nulls[bit >> 3] >> (bit & 7)) & 1) === 1;
      out[i++] = valid ? text.toString('utf8', offsets[r], offsets[r + 1]) : null;
    }
  }
  return out;
}

/** An Arrow vector's values in the stored form of its column type. */
function fromArrow(vec: Vector, type: ColumnType): Stored {
  const t = vec.type;
  if (type === 'string' && t.typeId === Type.Utf8) return utf8Values(vec);
  const direct =
    (DataType.isFloat(t) && t.precision !== Precision.HALF) ||
    DataType.isInt(t) ||
    (DataType.isTimestamp(t) && t.unit === TimeUnit.MILLISECOND);
  if (isNumeric(type) && direct) return fixedWidthNumbers(vec);
  const cells = new Array<Cell>(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const v: unknown = vec.get(i);
    if (v === null || v === undefined) cells[i] = null;
    else if (typeof v === 'bigint') cells[i] = Number(v);
    else if (v instanceof Date) cells[i] = v.getTime();
    else cells[i] = v as Cell;
  }
  if (type === 'string') return cells.map((v) => (v === null ? null : String(v)));
  if (type === 'bool') return cells.map((v) => (v === null ? null : Boolean(v)));
  return Float64Array.from(cells, (v) => (v === null ? NaN : Number(v)));
}

/** The table as Arrow IPC (file format) bytes. */
export function toIPC(table: Table): Uint8Array {
  const vectors: Record<string, Vector> = {};
  for (const col of table.fields) vectors[col.name] = arrowVector(col);
  return tableToIPC(new ArrowTable(vectors), 'file');
}

/** A table from Arrow IPC bytes (any column types; see `toColumnType`). */
export function fromIPC(bytes: Uint8Array): Table {
  const arrow = tableFromIPC(bytes);
  const columns = arrow.schema.fields.map((f) => {
    const type = toColumnType(f.type);
    return stored(f.name, type, fromArrow(arrow.getChild(f.name) as Vector, type));
  });
  return new Table(columns, arrow.numRows);
}
