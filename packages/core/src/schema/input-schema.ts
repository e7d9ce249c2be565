/**
 * The input schema: raw JSON records in, one typed Arrow table out, plus the
 * records that could not be used (rejects) and the problems that did not cost a
 * record (warnings). Nothing is dropped without a reject naming source, record
 * index, field and reason.
 */
import { type Cell, type ColumnType, type Table, makeTable } from '../table';
import type { ColumnSpec, InputSchema, RecordReject, RecordWarning } from './types';
import {
  type ColumnCompute,
  type Issue,
  type RowIssues,
  compileColumn,
  inputPaths,
  outputType,
} from './columns';
import { type JsonObject, compilePath, isPlainObject, parseJsonText, topLevelKey } from './flatten';
import { getCustomColumn } from './custom-columns';
import { DfpError, ErrorCodes } from '../errors';
import { CastFailure, castValue, isMissing } from './values';

export interface InputSchemaOptions {
  /** Where the records came from (file path, object URL, topic/partition). */
  source: string;
  /** Index of the first record in its source, when `indices` is not given. Default 0. */
  firstIndex?: number;
  /** Source index of each record (e.g. JSON Lines line numbers from `readRecords`). */
  indices?: ArrayLike<number>;
  /**
   * Adds, under these names, each row's origin: the source label and the record
   * index in it, so that any row (a detection, a dead letter) can be traced back.
   */
  originColumns?: { source: string; index: string };
  /** Output columns a record must have; a record missing one is rejected. */
  requiredColumns?: string[];
  /** Output column to sort rows by (stable, missing last), e.g. the timestamp. */
  sortBy?: string;
}

export interface SchemaResult {
  table: Table;
  rejects: RecordReject[];
  warnings: RecordWarning[];
}

/** Value warnings kept per field and call; the rest are counted in one summary. */
export const MAX_WARNINGS_PER_FIELD = 100;

interface Plan {
  spec: ColumnSpec;
  type: ColumnType;
  required: boolean;
  compute: ColumnCompute<JsonObject>;
  values: Cell[];
}

class WarningLog {
  readonly warnings: RecordWarning[] = [];
  private readonly counts = new Map<string, number>();

  constructor(private readonly source: string) {}

  add(index: number | null, issue: Issue): void {
    const n = (this.counts.get(issue.field) ?? 0) + 1;
    this.counts.set(issue.field, n);
    if (n <= MAX_WARNINGS_PER_FIELD) {
      this.warnings.push({
        source: this.source,
        index,
        field: issue.field,
        message: issue.message,
      });
    }
  }

  finish(): RecordWarning[] {
    for (const [field, n] of this.counts) {
      if (n > MAX_WARNINGS_PER_FIELD) {
        this.warnings.push({
          source: this.source,
          index: null,
          field,
          message: `${n - MAX_WARNINGS_PER_FIELD} more warnings for ${field} not listed`,
        });
      }
    }
    return this.warnings;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

/** Parses JSON text held in the listed top-level keys; copies the record only when needed. */
function prepare(record: JsonObject, jsonColumns: string[] | undefined): JsonObject {
  if (!jsonColumns) return record;
  let out = record;
  for (const key of jsonColumns) {
    const v = record[key];
    if (typeof v !== 'string') continue;
    const parsed = parseJsonText(v);
    if (parsed !== v) {
      if (out === record) out = { ...record };
      out[key] = parsed;
    }
  }
  return out;
}

function knownKeys(schema: InputSchema): Set<string> {
  const known = new Set<string>();
  for (const spec of schema.columns) {
    for (const p of inputPaths(spec)) {
      known.add(p);
      known.add(topLevelKey(p));
    }
  }
  for (const p of schema.preserve ?? []) known.add(topLevelKey(p)).add(p);
  for (const k of schema.knownFields ?? []) known.add(k);
  for (const k of schema.jsonColumns ?? []) known.add(k);
  return known;
}

function inferType(values: unknown[]): ColumnType {
  let type: ColumnType | null = null;
  for (const v of values) {
    if (isMissing(v)) continue;
    const t: ColumnType =
      typeof v === 'number' ? 'float' : typeof v === 'boolean' ? 'bool' : 'string';
    if (type !== null && t !== type) return 'string';
    type = t;
  }
  return type ?? 'string';
}

function preservedColumns(
  schema: InputSchema,
  rows: JsonObject[],
  taken: Set<string>,
  readerFor: (p: string) => (r: JsonObject) => unknown,
): { name: string; type: ColumnType; values: Cell[] }[] {
  const out: { name: string; type: ColumnType; values: Cell[] }[] = [];
  for (const name of schema.preserve ?? []) {
    if (taken.has(name)) continue;
    const read = readerFor(name);
    const raw = rows.map(read);
    if (raw.every(isMissing)) continue;
    const type = inferType(raw);
    const values = raw.map((v) => {
      const c = castValue(type, v);
      return c instanceof CastFailure ? null : c;
    });
    out.push({ name, type, values });
  }
  return out;
}

function sortRows(columns: { values: Cell[] }[], key: Cell[]): void {
  const order = Array.from(key, (_, i) => i);
  order.sort((a, b) => {
    const x = key[a];
    const y = key[b];
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (const col of columns) {
    const src = col.values;
    col.values = order.map((i) => src[i]);
  }
}

/**
 * Applies an input schema to raw records. Each record becomes one row unless a
 * required column is missing or unusable (then it is rejected). Unknown
 * top-level keys are reported once per call.
 */
export function applyInputSchema(
  records: readonly unknown[],
  schema: InputSchema,
  opts: InputSchemaOptions,
): SchemaResult {
  const source = opts.source;
  const firstIndex = opts.firstIndex ?? 0;
  const indexOf = (pos: number): number => (opts.indices ? opts.indices[pos] : firstIndex + pos);
  const rejects: RecordReject[] = [];
  const log = new WarningLog(source);

  const jsonColumns = schema.jsonColumns?.length ? schema.jsonColumns : undefined;
  const jsonSet = jsonColumns ? new Set(jsonColumns) : undefined;
  const readerCache = new Map<string, (r: JsonObject) => unknown>();
  const readerFor = (path: string): ((r: JsonObject) => unknown) => {
    let read = readerCache.get(path);
    if (!read) {
      read = compilePath(path, jsonSet);
      readerCache.set(path, read);
    }
    return read;
  };

  const objects: (JsonObject | null)[] = records.map((r) =>
    isPlainObject(r) ? prepare(r, jsonColumns) : null,
  );

  const required = new Set(opts.requiredColumns ?? []);
  for (const name of required) {
    if (!schema.columns.some((c) => c.name === name)) {
      throw new DfpError(
        ErrorCodes.SCHEMA_INVALID,
        `required column ${name} is not produced by the input schema of ${source}`,
        { details: { column: name } },
      );
    }
  }
  const plans: Plan[] = schema.columns.map((spec) => {
    let custom: unknown[] | undefined;
    if (spec.kind === 'custom') {
      const fn = getCustomColumn(spec.function);
      const present = objects.map((o) => o ?? {});
      const produced = fn({
        numRows: present.length,
        spec,
        values: (name) => present.map(readerFor(name)),
      });
      custom = Array.from(produced);
    }
    return {
      spec,
      type: outputType(spec),
      required: required.has(spec.name),
      compute: compileColumn(spec, readerFor, custom),
      values: [],
    };
  });
  const ordered = [...plans.filter((p) => p.required), ...plans.filter((p) => !p.required)];
  const known = knownKeys(schema);
  const unknown = new Set<string>();
  const kept: JsonObject[] = [];
  const keptIndices: number[] = [];
  const issues: RowIssues = { problem: null, notes: [] };
  const rowValues: Cell[] = new Array<Cell>(ordered.length);

  for (let pos = 0; pos < records.length; pos++) {
    const rec = objects[pos];
    const index = indexOf(pos);
    if (rec === null) {
      rejects.push({
        source,
        index,
        field: null,
        reason: `record is not a JSON object (found ${typeName(records[pos])})`,
        record: records[pos],
      });
      continue;
    }
    for (const key in rec) if (!known.has(key)) unknown.add(key);

    issues.notes.length = 0;
    let rejected = false;
    for (let c = 0; c < ordered.length; c++) {
      const plan = ordered[c];
      issues.problem = null;
      const v = plan.compute(rec, pos, issues);
      rowValues[c] = v;
      if (v !== null) continue;
      const problem = issues.problem as Issue | null;
      if (plan.required) {
        const reason = problem?.message ?? `missing ${inputPaths(plan.spec).join(', ')}`;
        rejects.push({ source, index, field: plan.spec.name, reason, record: records[pos] });
        rejected = true;
        break;
      }
      if (problem !== null && !problem.missing) log.add(index, problem);
    }
    if (rejected) continue;
    for (const note of issues.notes) log.add(index, note);
    for (let c = 0; c < ordered.length; c++) ordered[c].values.push(rowValues[c]);
    kept.push(rec);
    keptIndices.push(index);
  }

  const warnings = log.finish();
  if (unknown.size > 0) {
    const message = `unknown fields: ${[...unknown].sort().join(', ')}`;
    warnings.push({ source, index: null, field: null, message });
  }

  const taken = new Set(plans.map((p) => p.spec.name));
  const columns = [
    ...plans.map((p) => ({ name: p.spec.name, type: p.type, values: p.values })),
    ...preservedColumns(schema, kept, taken, readerFor),
  ];
  if (opts.originColumns) {
    columns.push(
      { name: opts.originColumns.source, type: 'string', values: kept.map(() => source) },
      { name: opts.originColumns.index, type: 'int', values: keptIndices },
    );
  }
  if (opts.sortBy !== undefined) {
    const key = columns.find((c) => c.name === opts.sortBy);
    if (!key) throw new Error(`cannot sort by ${opts.sortBy}: the schema has no such column`);
    sortRows(columns, key.values);
  }
  return { table: makeTable(columns), rejects, warnings };
}
