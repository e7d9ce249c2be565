/**
 * Declarative schemas. A source (Duo, Azure, CloudTrail or one described by a
 * schema file) is an input schema that turns raw, flattened JSON records into
 * typed columns, and a preprocessing schema that derives the model's features
 * from those columns over a whole entity window.
 */
import type { ColumnType } from '../table';

/** Calendar period for per-entity counters. Only UTC days are supported. */
export type Period = 'D';

interface BaseColumn {
  /** Output column name. */
  name: string;
}

/** Copies a column, cast to `type`. `input` defaults to `name`. */
export interface ValueColumn extends BaseColumn {
  kind: 'column';
  type: ColumnType;
  input?: string;
}

/** Same as `column` with a different input name (dotted path after flattening). */
export interface RenameColumn extends BaseColumn {
  kind: 'rename';
  type: ColumnType;
  input: string;
}

/**
 * Parses a timestamp to UTC epoch milliseconds. `input` may list fallbacks tried
 * in order when a record lacks the first (e.g. Azure `createdDateTime`, then `time`).
 */
export interface DateTimeColumn extends BaseColumn {
  kind: 'datetime';
  input: string | string[];
}

/**
 * Maps values to booleans. Matching is exact (after trimming) against both lists;
 * any other value is a reported problem, and is never read as true. A value that
 * is already a boolean (JSON true/false, a bool column) and is in neither list is kept.
 */
export interface BoolColumn extends BaseColumn {
  kind: 'bool';
  input: string;
  trueValues: string[];
  falseValues: string[];
  /** Value used for a missing or unknown input. Default: false. */
  unknownValue?: boolean;
}

/** Joins the elements of a list with `separator` (a plain string stays as is). */
export interface StringJoinColumn extends BaseColumn {
  kind: 'string_join';
  input: string;
  separator: string;
}

/**
 * Concatenates the non-missing inputs with `separator`; all missing gives missing.
 * An entry that is a list means "the first present of these paths", so one part can
 * come from either of two record shapes (Azure `properties.location.city` or `location.city`).
 */
export interface StringCatColumn extends BaseColumn {
  kind: 'string_cat';
  inputs: (string | string[])[];
  separator: string;
}

/** The first input that is present and not empty; `fallback` when none is. */
export interface CoalesceColumn extends BaseColumn {
  kind: 'coalesce';
  type: ColumnType;
  inputs: string[];
  fallback?: string | number | boolean;
}

/** Per (group, UTC day) running row counter in row order, 0-based. */
export interface IncrementColumn extends BaseColumn {
  kind: 'increment';
  /** Timestamp column that decides the day. */
  input: string;
  groupBy: string;
  period?: Period;
}

/** Per (group, UTC day) running count of distinct `input` values, 1-based. */
export interface DistinctIncrementColumn extends BaseColumn {
  kind: 'distinct_increment';
  input: string;
  groupBy: string;
  timestampColumn: string;
  period?: Period;
}

/** A registered function (see `registerCustomColumn`) applied to the whole table. */
export interface CustomColumn extends BaseColumn {
  kind: 'custom';
  type: ColumnType;
  function: string;
  inputs?: string[];
}

export type ColumnSpec =
  | ValueColumn
  | RenameColumn
  | DateTimeColumn
  | BoolColumn
  | StringJoinColumn
  | StringCatColumn
  | CoalesceColumn
  | IncrementColumn
  | DistinctIncrementColumn
  | CustomColumn;

export interface InputSchema {
  /**
   * Top-level keys whose nested objects are flattened to dotted names
   * (`access_device.location.city`). Empty or absent: flatten everything.
   */
  jsonColumns?: string[];
  columns: ColumnSpec[];
  /** Input columns copied to the output unchanged when present (exact names). */
  preserve?: string[];
  /**
   * Top-level keys the source is known to carry that the schema deliberately ignores.
   * Keys that are neither used by a column nor listed here are reported once per call
   * as "unknown fields: ...", which is how schema drift shows up.
   */
  knownFields?: string[];
}

export interface PreprocessSchema {
  columns: ColumnSpec[];
  preserve?: string[];
}

export interface TrainingDefaults {
  epochs?: number;
  validationSize?: number;
}

/** Everything the pipeline needs to know about one kind of log. */
export interface SourceDefinition {
  name: string;
  description?: string;
  /** Column holding the entity id (user, host, role...). */
  entityColumn: string;
  /** Column holding the event time (UTC epoch ms after the input schema). */
  timestampColumn: string;
  /** Column with a stable per-event id (Duo txid, Azure id, CloudTrail eventID), if any. */
  eventIdColumn?: string;
  /** Model features, in order; each is an output column of the preprocessing schema. */
  features: string[];
  input: InputSchema;
  preprocess: PreprocessSchema;
  /** File batching period: 'D' for one batch per UTC day, null for one batch of all files. */
  period?: Period | null;
  training?: TrainingDefaults;
}

/** A record that could not be used, with where it came from and why. */
export interface RecordReject {
  /** File path, object URL or topic/partition/offset. */
  source: string;
  /** 0-based index of the record in its source. */
  index: number;
  /** Field that failed, when one did. */
  field: string | null;
  reason: string;
  /** The raw record, when it could be kept. */
  record?: unknown;
}

/** A problem worth reporting that did not cost the record (unknown enum value, new keys). */
export interface RecordWarning {
  source: string;
  index: number | null;
  field: string | null;
  message: string;
}
