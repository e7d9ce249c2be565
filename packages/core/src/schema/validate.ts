/**
 * Checks a source definition read from a schema file before anything uses it.
 * Every problem is reported with its JSON path (`preprocess.columns[3].kind`) and
 * what is wrong, all at once, so a schema author fixes the file in one pass.
 */
import { DfpError, ErrorCodes } from '../errors';
import type { ColumnType } from '../table';
import type { ColumnSpec, SourceDefinition } from './types';
import { inputPaths, outputType } from './columns';
import { hasCustomColumn } from './custom-columns';
import { CastFailure, castValue } from './values';

export interface SchemaProblem {
  /** JSON path of the offending value, e.g. `preprocess.columns[3].kind`. */
  path: string;
  message: string;
}

type Check = (v: unknown) => string | null;

const COLUMN_TYPES: ColumnType[] = ['string', 'float', 'int', 'bool', 'timestamp'];
const PER_ROW_KINDS = [
  'column',
  'rename',
  'datetime',
  'bool',
  'string_join',
  'string_cat',
  'coalesce',
  'custom',
] as const;
const WINDOW_KINDS = ['increment', 'distinct_increment'] as const;
const ALL_KINDS: readonly string[] = [...PER_ROW_KINDS, ...WINDOW_KINDS];

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const name: Check = (v) =>
  typeof v === 'string' && v.trim() !== '' ? null : 'must be a non-empty string';
const text: Check = (v) => (typeof v === 'string' ? null : 'must be a string');
const names: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((x) => name(x) === null)
    ? null
    : 'must be a non-empty list of non-empty strings';
const values: Check = (v) =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : 'must be a list of strings';
const nameOrNames: Check = (v) =>
  name(v) === null || names(v) === null ? null : 'must be a name or a list of names';
const catInputs: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((x) => nameOrNames(x) === null)
    ? null
    : 'must be a non-empty list whose entries are names or lists of alternative names';
const columnType: Check = (v) =>
  COLUMN_TYPES.includes(v as ColumnType) ? null : `must be one of ${COLUMN_TYPES.join(', ')}`;
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const scalar: Check = (v) =>
  ['string', 'number', 'boolean'].includes(typeof v) ? null : 'must be a string, number or boolean';
const period: Check = (v) => (v === 'D' ? null : "must be 'D' (one UTC day)");

/** Required and optional keys of each column kind, besides `name` and `kind`. */
const KIND_KEYS: Record<
  string,
  { required: Record<string, Check>; optional: Record<string, Check> }
> = {
  column: { required: { type: columnType }, optional: { input: name } },
  rename: { required: { type: columnType, input: name }, optional: {} },
  datetime: { required: { input: nameOrNames }, optional: {} },
  bool: {
    required: { input: name, trueValues: values, falseValues: values },
    optional: { unknownValue: bool },
  },
  string_join: { required: { input: name, separator: text }, optional: {} },
  string_cat: { required: { inputs: catInputs, separator: text }, optional: {} },
  coalesce: { required: { type: columnType, inputs: names }, optional: { fallback: scalar } },
  custom: { required: { type: columnType, function: name }, optional: { inputs: names } },
  increment: { required: { input: name, groupBy: name }, optional: { period } },
  distinct_increment: {
    required: { input: name, groupBy: name, timestampColumn: name },
    optional: { period },
  },
};

class Problems {
  readonly list: SchemaProblem[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  check(path: string, v: unknown, check: Check): boolean {
    const msg = check(v);
    if (msg !== null) this.add(path, v === undefined ? `is missing; ${msg}` : msg);
    return msg === null;
  }

  keys(path: string, obj: Record<string, unknown>, allowed: string[]): void {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) {
        this.add(`${path}${path ? '.' : ''}${k}`, `unknown key (allowed: ${allowed.join(', ')})`);
      }
    }
  }
}

/** Checks one column spec; returns it when its shape is usable for cross-checks. */
function checkColumn(p: Problems, path: string, v: unknown): ColumnSpec | null {
  if (!isObj(v)) {
    p.add(path, 'must be an object with name and kind');
    return null;
  }
  const nameOk = p.check(`${path}.name`, v.name, name);
  const kind = v.kind;
  if (typeof kind !== 'string' || !ALL_KINDS.includes(kind)) {
    p.add(
      `${path}.kind`,
      `${kind === undefined ? 'is missing' : `unknown kind ${JSON.stringify(kind)}`}` +
        ` (expected one of ${ALL_KINDS.join(', ')})`,
    );
    return null;
  }
  const spec = KIND_KEYS[kind];
  let ok = nameOk;
  for (const [key, check] of Object.entries(spec.required)) {
    ok = p.check(`${path}.${key}`, v[key], check) && ok;
  }
  for (const [key, check] of Object.entries(spec.optional)) {
    if (v[key] !== undefined) ok = p.check(`${path}.${key}`, v[key], check) && ok;
  }
  p.keys(path, v, ['name', 'kind', ...Object.keys(spec.required), ...Object.keys(spec.optional)]);
  if (!ok) return null;

  const col = v as unknown as ColumnSpec;
  if (col.kind === 'custom' && !hasCustomColumn(col.function)) {
    p.add(`${path}.function`, `custom function "${col.function}" is not registered`);
  }
  if (col.kind === 'coalesce' && col.fallback !== undefined) {
    const cast = castValue(col.type, col.fallback);
    if (cast instanceof CastFailure) p.add(`${path}.fallback`, cast.reason);
  }
  return col;
}

function checkColumns(p: Problems, path: string, v: unknown): ColumnSpec[] {
  if (!Array.isArray(v) || v.length === 0) {
    p.add(path, v === undefined ? 'is missing' : 'must be a non-empty list of columns');
    return [];
  }
  const out: ColumnSpec[] = [];
  const seen = new Map<string, number>();
  v.forEach((item, i) => {
    const col = checkColumn(p, `${path}[${i}]`, item);
    if (!col) return;
    const first = seen.get(col.name);
    if (first !== undefined) {
      p.add(`${path}[${i}].name`, `duplicate column ${col.name} (also ${path}[${first}])`);
    }
    seen.set(col.name, i);
    out.push(col);
  });
  return out;
}

function optionalList(p: Problems, path: string, v: unknown): string[] {
  if (v === undefined) return [];
  return p.check(path, v, values) ? (v as string[]) : [];
}

function producesTimestamp(spec: ColumnSpec | undefined): boolean {
  return spec !== undefined && outputType(spec) === 'timestamp';
}

function checkTraining(p: Problems, v: unknown): void {
  if (v === undefined) return;
  if (!isObj(v)) {
    p.add('training', 'must be an object with epochs and validationSize');
    return;
  }
  p.keys('training', v, ['epochs', 'validationSize']);
  const { epochs, validationSize } = v;
  if (epochs !== undefined && !(Number.isInteger(epochs) && (epochs as number) > 0)) {
    p.add('training.epochs', 'must be a positive integer');
  }
  if (
    validationSize !== undefined &&
    !(typeof validationSize === 'number' && validationSize >= 0 && validationSize < 1)
  ) {
    p.add('training.validationSize', 'must be a number in [0, 1)');
  }
}

/** Every problem with a source definition; empty when it is usable. */
export function checkSourceDefinition(v: unknown): SchemaProblem[] {
  const p = new Problems();
  if (!isObj(v)) {
    p.add('', 'a source schema must be an object');
    return p.list;
  }
  p.keys('', v, [
    'name',
    'description',
    'entityColumn',
    'timestampColumn',
    'eventIdColumn',
    'features',
    'input',
    'preprocess',
    'period',
    'training',
  ]);
  p.check('name', v.name, name);
  if (v.description !== undefined) p.check('description', v.description, text);
  p.check('entityColumn', v.entityColumn, name);
  p.check('timestampColumn', v.timestampColumn, name);
  if (v.eventIdColumn !== undefined) p.check('eventIdColumn', v.eventIdColumn, name);
  if (v.period !== undefined && v.period !== null) p.check('period', v.period, period);
  checkTraining(p, v.training);

  const input = isObj(v.input) ? v.input : {};
  if (!isObj(v.input)) p.add('input', 'is missing; must be an object with columns');
  else p.keys('input', input, ['jsonColumns', 'columns', 'preserve', 'knownFields']);
  optionalList(p, 'input.jsonColumns', input.jsonColumns);
  optionalList(p, 'input.knownFields', input.knownFields);
  const inputPreserve = optionalList(p, 'input.preserve', input.preserve);
  const inputCols = checkColumns(p, 'input.columns', input.columns);
  inputCols.forEach((c) => {
    if ((WINDOW_KINDS as readonly string[]).includes(c.kind)) {
      const i = (input.columns as unknown[]).indexOf(c);
      p.add(
        `input.columns[${i}].kind`,
        `${c.kind} counts over an entity window; put it in preprocess.columns`,
      );
    }
  });

  const pre = isObj(v.preprocess) ? v.preprocess : {};
  if (!isObj(v.preprocess)) p.add('preprocess', 'is missing; must be an object with columns');
  else p.keys('preprocess', pre, ['columns', 'preserve']);
  const prePreserve = optionalList(p, 'preprocess.preserve', pre.preserve);
  const preCols = checkColumns(p, 'preprocess.columns', pre.columns);

  const decoded = new Map(inputCols.map((c) => [c.name, c] as const));
  const tableColumns = new Set([...decoded.keys(), ...inputPreserve]);
  const describe = `decoded columns are ${[...tableColumns].join(', ')}`;
  if (typeof v.entityColumn === 'string' && !decoded.has(v.entityColumn)) {
    p.add('entityColumn', `${v.entityColumn} is not produced by input.columns (${describe})`);
  }
  if (typeof v.timestampColumn === 'string') {
    if (!decoded.has(v.timestampColumn)) {
      p.add('timestampColumn', `${v.timestampColumn} is not produced by input.columns`);
    } else if (!producesTimestamp(decoded.get(v.timestampColumn))) {
      p.add('timestampColumn', `${v.timestampColumn} must be a datetime column`);
    }
  }
  if (typeof v.eventIdColumn === 'string' && !tableColumns.has(v.eventIdColumn)) {
    p.add('eventIdColumn', `${v.eventIdColumn} is not produced by input.columns`);
  }

  const preList = Array.isArray(pre.columns) ? pre.columns : [];
  for (const col of preCols) {
    const i = preList.indexOf(col);
    for (const input of inputPaths(col)) {
      if (!tableColumns.has(input)) {
        p.add(`preprocess.columns[${i}]`, `reads ${input}, which is not a decoded column`);
      }
    }
    const ts =
      col.kind === 'increment'
        ? col.input
        : col.kind === 'distinct_increment'
          ? col.timestampColumn
          : null;
    if (ts !== null && decoded.has(ts) && !producesTimestamp(decoded.get(ts))) {
      p.add(`preprocess.columns[${i}]`, `counts per day of ${ts}, which is not a datetime column`);
    }
  }

  const produced = new Set([...preCols.map((c) => c.name), ...prePreserve]);
  if (p.check('features', v.features, names)) {
    (v.features as string[]).forEach((f, i) => {
      if (!produced.has(f)) {
        p.add(
          `features[${i}]`,
          `${f} is not produced by preprocess.columns or preprocess.preserve`,
        );
      }
      if ((v.features as string[]).indexOf(f) !== i) p.add(`features[${i}]`, `duplicate ${f}`);
    });
  }
  return p.list;
}

/** Throws DfpError SCHEMA_INVALID listing every problem, or returns the definition. */
export function validateSourceDefinition(v: unknown, origin: string): SourceDefinition {
  const problems = checkSourceDefinition(v);
  if (problems.length > 0) {
    const listed = problems.map((q) => (q.path ? `${q.path}: ${q.message}` : q.message));
    throw new DfpError(
      ErrorCodes.SCHEMA_INVALID,
      `invalid source schema ${origin}: ${listed.join('; ')}`,
      { details: { file: origin, problems } },
    );
  }
  return v as SourceDefinition;
}
