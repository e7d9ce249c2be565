/**
 * Feature typing and input encoding. The kind of each feature comes from its
 * Arrow column type in the training table: int/float → numeric, bool → binary,
 * string → categorical. Encoded rows are plain typed arrays, row-major:
 * scaled numerics, binaries as 0/1, and category codes.
 */
import { DfpError, ErrorCodes } from '../errors';
import {
  type ColumnType,
  type Table,
  columnNames,
  columnTypeOf,
  getBools,
  getNumbers,
  getStrings,
  hasColumn,
} from '../table';
import { fitStandard, roundHalfEven } from './scalers';

/** The category a missing (null) categorical value is learned as. */
export const MISSING_CATEGORY = '(missing)';
/**
 * The catch-all category: unseen values at scoring time, values rarer than
 * `minCats`, and missing values when training never saw one. Its code is
 * `categories.length`; it is never part of `categories`.
 */
export const OTHER_CATEGORY = '_other';

export type FeatureKind = 'numeric' | 'binary' | 'categorical';

export interface NumericFeature {
  name: string;
  kind: 'numeric';
  /** Training mean: fills missing values and centres the scaler. */
  mean: number;
  /** Population std of the training values; 1 when it was 0. */
  std: number;
}

export interface BinaryFeature {
  name: string;
  kind: 'binary';
}

export interface CategoricalFeature {
  name: string;
  kind: 'categorical';
  /** Training values by descending count (ties: first seen); `_other` excluded. */
  categories: string[];
  /** Embedding width for categories.length + 1 codes. */
  embeddingDim: number;
}

export type FeatureSpec = NumericFeature | BinaryFeature | CategoricalFeature;

/** Encoded inputs of `rows` rows; row-major arrays, one column per feature of its kind. */
export interface EncodedRows {
  rows: number;
  width: { numeric: number; binary: number; categorical: number };
  numeric: Float32Array;
  binary: Float32Array;
  categorical: Int32Array;
}

export interface FeatureLayout {
  numeric: NumericFeature[];
  binary: BinaryFeature[];
  categorical: CategoricalFeature[];
}

/** Embedding width for `n` codes: min(600, round(1.6·n^0.56)), Python rounding. */
export function embeddingSize(n: number): number {
  if (n <= 0) return 0;
  return Math.min(600, roundHalfEven(1.6 * n ** 0.56));
}

export function featureKindOf(type: ColumnType): FeatureKind | undefined {
  switch (type) {
    case 'int':
    case 'float':
      return 'numeric';
    case 'bool':
      return 'binary';
    case 'string':
      return 'categorical';
    default:
      return undefined;
  }
}

export function layoutOf(features: FeatureSpec[]): FeatureLayout {
  return {
    numeric: features.filter((f): f is NumericFeature => f.kind === 'numeric'),
    binary: features.filter((f): f is BinaryFeature => f.kind === 'binary'),
    categorical: features.filter((f): f is CategoricalFeature => f.kind === 'categorical'),
  };
}

function entityLabel(entity: string | undefined): string {
  return entity === undefined ? '' : ` for entity ${JSON.stringify(entity)}`;
}

/** Categories with count ≥ minCats, by descending count, ties in first-seen order. */
export function categoriesOf(values: (string | null)[], minCats: number): string[] {
  const counts = new Map<string, number>();
  for (const v of values) {
    const key = v ?? MISSING_CATEGORY;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // Map iteration is insertion order and Array.prototype.sort is stable.
  return [...counts.entries()]
    .filter(([, count]) => count >= minCats)
    .sort((a, b) => b[1] - a[1])
    .map(([value]) => value);
}

function checkNumbersFinite(
  values: Float64Array,
  feature: string,
  entity: string | undefined,
  rowOffset: number,
): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === Infinity || v === -Infinity) {
      throw new DfpError(
        ErrorCodes.MODEL_NON_FINITE,
        `feature ${feature}${entityLabel(entity)} has a non-finite value (${v}) ` +
          `at row ${i + rowOffset}; fix the input or drop the row ` +
          '(missing values are fine: they become the training mean)',
        { details: { entity, feature, row: i + rowOffset, value: v } },
      );
    }
  }
}

/**
 * Types and fits the features on a training table. The result is ordered
 * numeric, then binary, then categorical, each in the order of `names`.
 */
export function fitFeatures(
  table: Table,
  names: string[],
  minCats: number,
  entity?: string,
): FeatureSpec[] {
  const specs: FeatureSpec[] = [];
  for (const name of names) {
    if (!hasColumn(table, name)) {
      throw new DfpError(
        ErrorCodes.MODEL_TRAINING_FAILED,
        `training table${entityLabel(entity)} has no column ${name} ` +
          `(has ${columnNames(table).join(', ')})`,
        { details: { entity, feature: name } },
      );
    }
    const type = columnTypeOf(table, name);
    const kind = featureKindOf(type);
    if (kind === 'numeric') {
      const values = getNumbers(table, name);
      checkNumbersFinite(values, name, entity, 0);
      const { mean, std } = fitStandard(values);
      specs.push({ name, kind, mean, std });
    } else if (kind === 'binary') {
      specs.push({ name, kind });
    } else if (kind === 'categorical') {
      const categories = categoriesOf(getStrings(table, name), minCats);
      specs.push({ name, kind, categories, embeddingDim: embeddingSize(categories.length + 1) });
    } else {
      throw new DfpError(
        ErrorCodes.MODEL_TRAINING_FAILED,
        `feature ${name}${entityLabel(entity)} is a ${type} column; the model takes int/float ` +
          '(numeric), bool (binary) or string (categorical) columns; ' +
          'derive a number from it instead',
        { details: { entity, feature: name, type } },
      );
    }
  }
  const layout = layoutOf(specs);
  return [...layout.numeric, ...layout.binary, ...layout.categorical];
}

const ACCEPTED: Record<FeatureKind, ColumnType[]> = {
  numeric: ['int', 'float'],
  binary: ['bool'],
  categorical: ['string'],
};

function checkColumn(table: Table, spec: FeatureSpec, entity: string | undefined): void {
  if (!hasColumn(table, spec.name)) {
    throw new DfpError(
      ErrorCodes.SCHEMA_INVALID,
      `table${entityLabel(entity)} lacks model feature ${spec.name} ` +
        `(has ${columnNames(table).join(', ')})`,
      { details: { entity, feature: spec.name } },
    );
  }
  const type = columnTypeOf(table, spec.name);
  if (!ACCEPTED[spec.kind].includes(type)) {
    throw new DfpError(
      ErrorCodes.SCHEMA_INVALID,
      `feature ${spec.name}${entityLabel(entity)} is a ${type} column ` +
        'but the model learned it as ' +
        `${spec.kind} (${ACCEPTED[spec.kind].join('/')})`,
      { details: { entity, feature: spec.name, type, kind: spec.kind } },
    );
  }
}

/** Encodes a table with fitted features. Throws on a missing column, a wrong type or ±Infinity. */
export function encodeRows(table: Table, features: FeatureSpec[], entity?: string): EncodedRows {
  const layout = layoutOf(features);
  const rows = table.numRows;
  const nNum = layout.numeric.length;
  const nBin = layout.binary.length;
  const nCat = layout.categorical.length;
  const out: EncodedRows = {
    rows,
    width: { numeric: nNum, binary: nBin, categorical: nCat },
    numeric: new Float32Array(rows * nNum),
    binary: new Float32Array(rows * nBin),
    categorical: new Int32Array(rows * nCat),
  };
  for (const spec of features) checkColumn(table, spec, entity);

  layout.numeric.forEach((spec, c) => {
    const values = getNumbers(table, spec.name);
    checkNumbersFinite(values, spec.name, entity, 0);
    for (let r = 0; r < rows; r++) {
      const v = Number.isNaN(values[r]) ? spec.mean : values[r];
      out.numeric[r * nNum + c] = (v - spec.mean) / spec.std;
    }
    // A finite float64 can still overflow float32 (|x| > 3.4e38).
    for (let r = 0; r < rows; r++) {
      if (!Number.isFinite(out.numeric[r * nNum + c])) {
        throw new DfpError(
          ErrorCodes.MODEL_NON_FINITE,
          `feature ${spec.name}${entityLabel(entity)} at row ${r} scales to a non-finite value ` +
            `(${values[r]}); it is outside the float32 range`,
          { details: { entity, feature: spec.name, row: r, value: values[r] } },
        );
      }
    }
  });

  layout.binary.forEach((spec, c) => {
    const values = getBools(table, spec.name);
    for (let r = 0; r < rows; r++) out.binary[r * nBin + c] = values[r] === true ? 1 : 0;
  });

  layout.categorical.forEach((spec, c) => {
    const codes = new Map(spec.categories.map((value, i) => [value, i]));
    const other = spec.categories.length;
    const values = getStrings(table, spec.name);
    for (let r = 0; r < rows; r++) {
      out.categorical[r * nCat + c] = codes.get(values[r] ?? MISSING_CATEGORY) ?? other;
    }
  });
  return out;
}

/** The rows at `indices` of encoded data, in that order. */
export function takeEncoded(data: EncodedRows, indices: ArrayLike<number>): EncodedRows {
  const pick = <T extends Float32Array | Int32Array>(src: T, width: number, dst: T): T => {
    if (width === 0) return dst;
    for (let i = 0; i < indices.length; i++) {
      const from = indices[i] * width;
      dst.set(src.subarray(from, from + width), i * width);
    }
    return dst;
  };
  const rows = indices.length;
  const { numeric, binary, categorical } = data.width;
  return {
    rows,
    width: data.width,
    numeric: pick(data.numeric, numeric, new Float32Array(rows * numeric)),
    binary: pick(data.binary, binary, new Float32Array(rows * binary)),
    categorical: pick(data.categorical, categorical, new Int32Array(rows * categorical)),
  };
}

/** Rows [start, end) of encoded data, without copying. */
export function sliceEncoded(data: EncodedRows, start: number, end: number): EncodedRows {
  const { numeric, binary, categorical } = data.width;
  return {
    rows: end - start,
    width: data.width,
    numeric: data.numeric.subarray(start * numeric, end * numeric),
    binary: data.binary.subarray(start * binary, end * binary),
    categorical: data.categorical.subarray(start * categorical, end * categorical),
  };
}
