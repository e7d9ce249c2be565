/**
 * Value rules shared by the input and preprocessing schemas: what counts as
 * missing, and how a raw JSON value becomes a typed cell. There is one missing
 * value, `null`; no cast ever produces "undefined", "None", "nan" or "null".
 */
import type { Cell, ColumnType } from '../table';
import { tryParseTimestamp } from './timestamps';

/** A value that could not be cast, with the reason (allocated only on failure). */
export class CastFailure {
  constructor(readonly reason: string) {}
}

/**
 * Absent, null, NaN, an empty or blank string, an empty list, or an object whose
 * values are all missing (flattening such an object yields no field at all).
 * Blank strings count as missing so that "" and an absent key are one category.
 */
export function isMissing(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  switch (typeof v) {
    case 'string':
      return v.length === 0 || (v.charCodeAt(0) <= 32 && v.trim().length === 0);
    case 'number':
      return Number.isNaN(v);
    case 'object':
      if (Array.isArray(v)) return v.length === 0;
      if (v instanceof Date) return false;
      for (const k in v) {
        if (!isMissing((v as Record<string, unknown>)[k])) return false;
      }
      return true;
    default:
      return false;
  }
}

/** The text of a present value: numbers as decimal text, lists and objects as JSON. */
export function textOf(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    default:
      if (v instanceof Date) return v.toISOString();
      return JSON.stringify(v);
  }
}

/** Shortens a value for a warning or reject message. */
export function shown(v: unknown): string {
  const t = v === undefined ? 'undefined' : typeof v === 'string' ? JSON.stringify(v) : textOf(v);
  return t.length > 80 ? t.slice(0, 80) + '…' : t;
}

function toNumber(v: unknown): number | CastFailure {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
    return new CastFailure(`${shown(v)} is not a number`);
  }
  return new CastFailure(`${shown(v)} is not a number`);
}

function toBool(v: unknown): boolean | CastFailure {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (t === 'true') return true;
    if (t === 'false') return false;
  }
  return new CastFailure(`${shown(v)} is not true or false`);
}

/**
 * Casts a raw value to a cell of `type`. Missing values give null; a present value
 * that cannot be cast gives a CastFailure (the caller reports it).
 */
export function castValue(type: ColumnType, v: unknown): Cell | CastFailure {
  if (isMissing(v)) return null;
  switch (type) {
    case 'string':
      return textOf(v);
    case 'float':
      return toNumber(v);
    case 'int': {
      const n = toNumber(v);
      if (n instanceof CastFailure) return n;
      if (!Number.isInteger(n) || Math.abs(n) > 2 ** 31 - 1) {
        return new CastFailure(`${shown(v)} is not a 32-bit integer`);
      }
      return n;
    }
    case 'bool':
      return toBool(v);
    case 'timestamp': {
      const t = tryParseTimestamp(v);
      return t.ok ? t.ms : new CastFailure(t.reason);
    }
  }
}
