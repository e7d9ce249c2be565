/**
 * Batches travel between stages as Apache Arrow tables. These helpers are the
 * only place that builds or reads Arrow vectors, so stages deal in plain typed
 * values: strings (null = missing), numbers (NaN = missing), booleans and
 * timestamps as epoch milliseconds (UTC).
 */
import {
  Bool,
  DataType,
  Precision,
  TimeUnit,
  Field,
  Float64,
  Int32,
  Schema,
  Table,
  TimestampMillisecond,
  Type,
  Utf8,
  type Vector,
  makeData,
  makeVector,
  tableFromIPC,
  tableToIPC,
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

/**
 * The strings a Utf8 vector was built from, by its data: stages pass tables
 * along and read their columns again, and decoding UTF-8 every time costs more
 * than anything else they do. Arrow data is immutable, so this never goes stale.
 */
const decodedStrings = new WeakMap<object, (string | null)[]>();

function missing(v: Cell | undefined): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

/**
 * Arrow vectors built straight from their buffers (values, validity bitmap,
 * offsets): several times faster than Arrow's per-value builders, and every
 * stage builds tables.
 */
export function makeVectorOf(type: ColumnType, values: ArrayLike<Cell>): Vector {
  const n = values.length;
  if (type === 'float' && values instanceof Float64Array) {
    let hasNaN = false;
    for (let i = 0; i < n; i++) if (Number.isNaN(values[i])) hasNaN = true;
    if (!hasNaN) return makeVector(values);
  }
  const validity = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (missing(values[i])) nullCount++;
    else validity[i >> 3] |= 1 << (i & 7);
  }
  const nullBitmap = nullCount > 0 ? validity : null;
  const valid = (i: number) => (validity[i >> 3] >> (i & 7)) & 1;
  switch (type) {
    case 'string': {
      const texts = new Array<string>(n);
      const offsets = new Int32Array(n + 1);
      let bytes = 0;
      for (let i = 0; i < n; i++) {
        if (valid(i)) {
          const v = values[i];
          texts[i] = typeof v === 'string' ? v : String(v);
          bytes += Buffer.byteLength(texts[i], 'utf8');
        }
        offsets[i + 1] = bytes;
      }
      const data = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (let i = 0; i < n; i++) if (valid(i)) at += data.write(texts[i], at, 'utf8');
      const built = makeData({
        type: new Utf8(),
        length: n,
        nullCount,
        nullBitmap,
        valueOffsets: offsets,
        data: new Uint8Array(data.buffer, data.byteOffset, bytes),
      });
      for (let i = 0; i < n; i++) if (!valid(i)) texts[i] = null as unknown as string;
      decodedStrings.set(built, texts);
      return makeVector(built);
    }
    case 'bool': {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (valid(i) && values[i]) bits[i >> 3] |= 1 << (i & 7);
      return makeVector(
        makeData({ type: new Bool(), length: n, nullCount, nullBitmap, data: bits }),
      );
    }
    case 'int': {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) if (valid(i)) data[i] = Number(values[i]);
      return makeVector(makeData({ type: new Int32(), length: n, nullCount, nullBitmap, data }));
    }
    case 'float': {
      const data = new Float64Array(n);
      for (let i = 0; i < n; i++) if (valid(i)) data[i] = Number(values[i]);
      return makeVector(makeData({ type: new Float64(), length: n, nullCount, nullBitmap, data }));
    }
    case 'timestamp': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) if (valid(i)) data[i] = BigInt(Math.trunc(Number(values[i])));
      return makeVector(
        makeData({ type: new TimestampMillisecond(), length: n, nullCount, nullBitmap, data }),
      );
    }
  }
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
  if (vec.type.typeId === Type.Utf8) return utf8Values(vec);
  const out = new Array<string | null>(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const v: unknown = vec.get(i);
    out[i] = v === null || v === undefined ? null : String(v);
  }
  return out;
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

/**
 * Utf8 cells read straight from each chunk's offsets and bytes: twice as fast
 * as `Vector.get`, which looks the chunk up for every cell.
 */
function utf8Values(vec: Vector): (string | null)[] {
  if (vec.data.length === 1) {
    // Built here from JavaScript strings: those strings, not a decoding of their bytes.
    const known = decodedStrings.get(vec.data[0]);
    if (known) return known.slice();
  }
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

/** Numeric values (ints, floats, timestamps in epoch ms, bools as 0/1); NaN where missing. */
export function getNumbers(table: Table, name: string): Float64Array {
  const vec = child(table, name);
  if (vec.type.typeId === Type.Float && vec.nullCount === 0) {
    const values = vec.toArray() as ArrayLike<number>;
    return values instanceof Float64Array ? values.slice() : Float64Array.from(values);
  }
  // Value buffers hold the numbers themselves for these (half floats and dates do not).
  const { type } = vec;
  const direct =
    (DataType.isFloat(type) && type.precision !== Precision.HALF) ||
    DataType.isInt(type) ||
    (DataType.isTimestamp(type) && type.unit === TimeUnit.MILLISECOND);
  if (direct) return fixedWidthNumbers(vec);
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
  return takeRowGroups(table, [indices])[0];
}

/**
 * One table per group of row indices (rows in the group's order), reading each
 * column once: splitting a batch into many entities costs one pass, not one per entity.
 */
export function takeRowGroups(table: Table, groups: ArrayLike<number>[]): Table[] {
  const names = columnNames(table);
  if (names.length === 0) return groups.map(() => new Table());
  const source = names.map((name) => ({
    name,
    type: columnTypeOf(table, name),
    cells: getCells(table, name),
  }));
  return groups.map((indices) =>
    makeTable(
      source.map(({ name, type, cells }) => {
        const values = new Array<Cell>(indices.length);
        for (let i = 0; i < indices.length; i++) values[i] = cells[indices[i]];
        return { name, type, values };
      }),
    ),
  );
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
  if (nonEmpty.every((t) => sameSchema(t, nonEmpty[0]))) {
    // Same columns and types: Arrow joins the chunks without copying, then one pass makes
    // a single chunk (reads of a many-chunk vector search for the chunk of every cell).
    const withRows = nonEmpty.filter((t) => t.numRows > 0);
    if (withRows.length <= 1) return withRows[0] ?? nonEmpty[0];
    const joined = withRows[0].concat(...withRows.slice(1));
    return makeTable(columnNames(joined).map((name) => columnData(joined, name)));
  }
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

function sameSchema(a: Table, b: Table): boolean {
  const fa = a.schema.fields;
  const fb = b.schema.fields;
  return (
    fa.length === fb.length &&
    fa.every((f, i) => f.name === fb[i].name && f.type.toString() === fb[i].type.toString())
  );
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
