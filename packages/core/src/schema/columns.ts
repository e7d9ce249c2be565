/**
 * Per-row column kinds, compiled once per batch. The same compiled form serves
 * the input schema (rows are raw records, inputs are dotted paths) and the
 * preprocessing schema (rows are table row numbers, inputs are column names).
 */
import type { Cell, ColumnType } from '../table';
import { DfpError, ErrorCodes } from '../errors';
import type { ColumnSpec } from './types';
import { CastFailure, castValue, isMissing, shown, textOf } from './values';
import { tryParseTimestamp } from './timestamps';

/** A problem found while computing one cell. */
export interface Issue {
  readonly field: string;
  readonly message: string;
  /** True when the value is simply absent (a reject if required, else no warning). */
  readonly missing?: boolean;
}

/**
 * Collects what went wrong for the current row. `problem` explains a missing or
 * unusable value (a reject when the column is required, else a warning); `notes`
 * are warnings that do not cost the value (unknown enum value, fallback used).
 */
export interface RowIssues {
  problem: Issue | null;
  notes: Issue[];
}

export type ColumnCompute<R> = (row: R, pos: number, issues: RowIssues) => Cell;

export type ReaderFactory<R> = (path: string) => (row: R) => unknown;

/** The column type a spec produces. */
export function outputType(spec: ColumnSpec): ColumnType {
  switch (spec.kind) {
    case 'column':
    case 'rename':
    case 'coalesce':
    case 'custom':
      return spec.type;
    case 'datetime':
      return 'timestamp';
    case 'bool':
      return 'bool';
    case 'string_join':
    case 'string_cat':
      return 'string';
    case 'increment':
    case 'distinct_increment':
      return 'int';
  }
}

/** Every input a spec reads, in order (dotted paths or column names). */
export function inputPaths(spec: ColumnSpec): string[] {
  switch (spec.kind) {
    case 'column':
      return [spec.input ?? spec.name];
    case 'rename':
    case 'bool':
    case 'string_join':
      return [spec.input];
    case 'datetime':
      return typeof spec.input === 'string' ? [spec.input] : spec.input;
    case 'string_cat':
      return spec.inputs.flatMap((p) => (typeof p === 'string' ? [p] : p));
    case 'coalesce':
      return spec.inputs;
    case 'custom':
      return spec.inputs ?? [];
    case 'increment':
      return [spec.input, spec.groupBy];
    case 'distinct_increment':
      return [spec.input, spec.groupBy, spec.timestampColumn];
  }
}

/** The (shared, read-only) problem of a value absent from every input. */
function missingIssue(paths: string[]): Issue {
  const message =
    paths.length === 1 ? `missing ${paths[0]}` : `missing: none of ${paths.join(', ')} is present`;
  return Object.freeze({ field: paths[0], message, missing: true });
}

function firstPresent<R>(readers: ((row: R) => unknown)[], row: R): unknown {
  for (const read of readers) {
    const v = read(row);
    if (!isMissing(v)) return v;
  }
  return undefined;
}

function compileCast<R>(
  type: ColumnType,
  field: string,
  read: (row: R, pos: number) => unknown,
): ColumnCompute<R> {
  const missing = missingIssue([field]);
  return (row, pos, issues) => {
    const v = castValue(type, read(row, pos));
    if (v instanceof CastFailure) {
      issues.problem = { field, message: `${field}: ${v.reason}` };
      return null;
    }
    if (v === null) issues.problem = missing;
    return v;
  };
}

function compileDatetime<R>(paths: string[], readerFor: ReaderFactory<R>): ColumnCompute<R> {
  const readers = paths.map(readerFor);
  const missing = missingIssue(paths);
  return (row, _pos, issues) => {
    let failed: Issue | null = null;
    for (let i = 0; i < readers.length; i++) {
      const raw = readers[i](row);
      if (isMissing(raw)) continue;
      const t = tryParseTimestamp(raw);
      if (t.ok) {
        if (failed) {
          issues.notes.push({
            field: failed.field,
            message: `${failed.message}; used ${paths[i]}`,
          });
        }
        return t.ms;
      }
      failed ??= {
        field: paths[i],
        message: `unparseable ${paths[i]} ${shown(raw)}: ${t.reason}`,
      };
    }
    issues.problem = failed ?? missing;
    return null;
  };
}

function compileBool<R>(
  spec: Extract<ColumnSpec, { kind: 'bool' }>,
  readerFor: ReaderFactory<R>,
): ColumnCompute<R> {
  const read = readerFor(spec.input);
  const trueSet = new Set(spec.trueValues);
  const falseSet = new Set(spec.falseValues);
  const fallback = spec.unknownValue ?? false;
  const expected = `true: ${spec.trueValues.join(', ')}; false: ${spec.falseValues.join(', ')}`;
  return (row, _pos, issues) => {
    const raw = read(row);
    if (isMissing(raw)) return fallback;
    const key = textOf(raw).trim();
    if (trueSet.has(key)) return true;
    if (falseSet.has(key)) return false;
    if (typeof raw === 'boolean') return raw;
    issues.notes.push({
      field: spec.input,
      message: `unknown value ${shown(raw)} for ${spec.input} read as ${fallback} (${expected})`,
    });
    return fallback;
  };
}

function compileJoin<R>(
  spec: Extract<ColumnSpec, { kind: 'string_join' }>,
  readerFor: ReaderFactory<R>,
): ColumnCompute<R> {
  const read = readerFor(spec.input);
  return (row) => {
    const raw = read(row);
    if (isMissing(raw)) return null;
    if (!Array.isArray(raw)) return textOf(raw);
    const parts: string[] = [];
    for (const el of raw) if (!isMissing(el)) parts.push(textOf(el));
    return parts.length === 0 ? null : parts.join(spec.separator);
  };
}

function compileCat<R>(
  spec: Extract<ColumnSpec, { kind: 'string_cat' }>,
  readerFor: ReaderFactory<R>,
): ColumnCompute<R> {
  const parts = spec.inputs.map((p) => (typeof p === 'string' ? [p] : p).map(readerFor));
  const sep = spec.separator;
  return (row) => {
    let out: string | null = null;
    for (const readers of parts) {
      const v = firstPresent(readers, row);
      if (v === undefined) continue;
      out = out === null ? textOf(v) : out + sep + textOf(v);
    }
    return out;
  };
}

function compileCoalesce<R>(
  spec: Extract<ColumnSpec, { kind: 'coalesce' }>,
  readerFor: ReaderFactory<R>,
): ColumnCompute<R> {
  const readers = spec.inputs.map(readerFor);
  const fallback = spec.fallback === undefined ? null : castValue(spec.type, spec.fallback);
  if (fallback instanceof CastFailure) {
    throw new DfpError(
      ErrorCodes.SCHEMA_INVALID,
      `column ${spec.name}: fallback ${shown(spec.fallback)} is not a ${spec.type}: ` +
        fallback.reason,
    );
  }
  const missing = missingIssue(spec.inputs);
  return (row, _pos, issues) => {
    for (let i = 0; i < readers.length; i++) {
      const raw = readers[i](row);
      if (isMissing(raw)) continue;
      const v = castValue(spec.type, raw);
      if (!(v instanceof CastFailure)) return v;
      issues.notes.push({ field: spec.inputs[i], message: `${spec.inputs[i]}: ${v.reason}` });
    }
    if (fallback === null) issues.problem = missing;
    return fallback;
  };
}

/**
 * Compiles a per-row column. `custom` columns need their values computed
 * beforehand for every row (`customValues`, indexed by row position).
 */
export function compileColumn<R>(
  spec: ColumnSpec,
  readerFor: ReaderFactory<R>,
  customValues?: ArrayLike<unknown>,
): ColumnCompute<R> {
  switch (spec.kind) {
    case 'column':
    case 'rename': {
      const path = spec.kind === 'column' ? (spec.input ?? spec.name) : spec.input;
      return compileCast(spec.type, path, readerFor(path));
    }
    case 'datetime':
      return compileDatetime(inputPaths(spec), readerFor);
    case 'bool':
      return compileBool(spec, readerFor);
    case 'string_join':
      return compileJoin(spec, readerFor);
    case 'string_cat':
      return compileCat(spec, readerFor);
    case 'coalesce':
      return compileCoalesce(spec, readerFor);
    case 'custom': {
      const values = customValues ?? [];
      const field = `${spec.function}()`;
      return compileCast(spec.type, field, (_row: R, pos: number) => values[pos]);
    }
    case 'increment':
    case 'distinct_increment':
      throw new DfpError(
        ErrorCodes.SCHEMA_INVALID,
        `column ${spec.name}: kind ${spec.kind} counts over a whole entity window and ` +
          'belongs in the preprocessing schema, not the input schema',
      );
  }
}
