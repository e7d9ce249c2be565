/**
 * Dotted paths into nested records. Schemas name inputs as flattened columns
 * (`access_device.location.city`); instead of flattening every record, the engine
 * compiles each path once into a reader that walks the nested object.
 */

export type JsonObject = Record<string, unknown>;

const hasOwn = Object.prototype.hasOwnProperty;

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function flattenInto(out: JsonObject, prefix: string, obj: JsonObject): void {
  for (const key in obj) {
    if (!hasOwn.call(obj, key)) continue;
    const v = obj[key];
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (isPlainObject(v)) flattenInto(out, name, v);
    else out[name] = v;
  }
}

/**
 * Flattens nested objects to dotted keys (`{a:{b:1}}` → `{"a.b": 1}`). Lists stay
 * lists and empty objects produce no key. With `jsonColumns`, only those top-level
 * keys are flattened (a JSON string held there is parsed first); other nested
 * values are kept as they are.
 */
export function flattenRecord(record: JsonObject, jsonColumns?: string[]): JsonObject {
  const out: JsonObject = {};
  if (!jsonColumns || jsonColumns.length === 0) {
    flattenInto(out, '', record);
    return out;
  }
  const flatten = new Set(jsonColumns);
  for (const key in record) {
    if (!hasOwn.call(record, key)) continue;
    const v = flatten.has(key) ? parseJsonText(record[key]) : record[key];
    if (flatten.has(key) && isPlainObject(v)) flattenInto(out, key, v);
    else out[key] = v;
  }
  return out;
}

/** A string that holds a JSON object is parsed; anything else is returned unchanged. */
export function parseJsonText(v: unknown): unknown {
  if (typeof v !== 'string' || v.length < 2 || v.charCodeAt(0) !== 123) return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

export type PathReader = (record: JsonObject) => unknown;

/**
 * Compiles a dotted path into a reader. A key that literally contains the dots
 * wins (already-flat input); otherwise the reader walks nested objects. With
 * `jsonColumns`, only paths under those top-level keys may walk.
 */
export function compilePath(path: string, jsonColumns?: ReadonlySet<string>): PathReader {
  const segments = path.split('.');
  if (segments.length === 1) {
    return (r) => (hasOwn.call(r, path) ? r[path] : undefined);
  }
  const walkable = !jsonColumns || jsonColumns.size === 0 || jsonColumns.has(segments[0]);
  return (r) => {
    if (hasOwn.call(r, path)) return r[path];
    if (!walkable) return undefined;
    let cur: unknown = r;
    for (let i = 0; i < segments.length; i++) {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
      const obj = cur as JsonObject;
      if (!hasOwn.call(obj, segments[i])) return undefined;
      cur = obj[segments[i]];
    }
    return cur;
  };
}

/** The top-level key a dotted path starts with. */
export function topLevelKey(path: string): string {
  const dot = path.indexOf('.');
  return dot < 0 ? path : path.slice(0, dot);
}
