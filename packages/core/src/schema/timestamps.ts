/**
 * Timestamp parsing for log records. Every result is UTC epoch milliseconds, and
 * no code path here reads the process time zone: strings without an offset are
 * UTC by rule (never local time), and only `Date.UTC` builds instants.
 *
 * Accepted forms:
 * - numbers and digit strings as epoch seconds (< 1e11), milliseconds (< 1e14),
 *   microseconds (< 1e17) or nanoseconds, chosen by magnitude;
 * - ISO 8601 `YYYY-MM-DD[(T| )HH:MM[:SS[.f{1,9}]]][Z|±HH:MM|±HHMM|±HH]`, fraction
 *   truncated to milliseconds;
 * - US locale `M/D/YYYY[ h:mm[:ss][ AM|PM]]` (seen in Azure exports), as UTC.
 * Instants before 1990 or after 2200 are rejected as absurd (a unit mix-up, a zero).
 */

export type TimestampParse = { ok: true; ms: number } | { ok: false; reason: string };

const MIN_MS = Date.UTC(1990, 0, 1);
const MAX_MS = Date.UTC(2200, 0, 1);
const SECONDS_BELOW = 1e11;
const MILLIS_BELOW = 1e14;
const MICROS_BELOW = 1e17;
const MS_PER_MINUTE = 60_000;
const MAX_FRACTION_DIGITS = 9;

const FORMATS = 'expected ISO 8601, epoch seconds or milliseconds, or M/D/YYYY h:mm:ss AM|PM';

function fail(reason: string): TimestampParse {
  return { ok: false, reason };
}

function inRange(ms: number): TimestampParse {
  if (ms < MIN_MS || ms > MAX_MS || !Number.isFinite(ms)) {
    const shown = Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : ms;
    return fail(`instant ${shown} is outside 1990..2200`);
  }
  return { ok: true, ms };
}

function fromEpochNumber(n: number): TimestampParse {
  if (!Number.isFinite(n) || n < 0) return fail(`epoch value ${n} is not a positive number`);
  if (n < SECONDS_BELOW) return inRange(Math.round(n * 1000));
  if (n < MILLIS_BELOW) return inRange(Math.trunc(n));
  if (n < MICROS_BELOW) return inRange(Math.trunc(n / 1e3));
  return inRange(Math.trunc(n / 1e6));
}

/** Digit strings: the digit count picks the unit, so nanoseconds keep their precision. */
function fromEpochString(s: string, dot: number): TimestampParse {
  const intDigits = dot < 0 ? s.length : dot;
  if (intDigits > 17 && dot < 0) return inRange(Number(s.slice(0, s.length - 6)));
  if (intDigits > 14 && dot < 0) return inRange(Number(s.slice(0, s.length - 3)));
  return fromEpochNumber(Number(s));
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Reads exactly `len` digits at `pos`; -1 when they are not all digits. */
function digits(s: string, pos: number, len: number): number {
  if (pos + len > s.length) return -1;
  let v = 0;
  for (let i = pos; i < pos + len; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  milli: number;
}

function build(f: Fields, offsetMinutes: number): TimestampParse {
  if (f.month < 1 || f.month > 12) return fail(`month ${f.month} is not 1..12`);
  if (f.day < 1 || f.day > daysInMonth(f.year, f.month)) {
    return fail(`day ${f.day} does not exist in ${f.year}-${f.month}`);
  }
  if (f.hour > 23 || f.minute > 59 || f.second > 59) {
    return fail(`time ${f.hour}:${f.minute}:${f.second} is not a valid time of day`);
  }
  const ms = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, f.milli);
  return inRange(ms - offsetMinutes * MS_PER_MINUTE);
}

/** Parses `±HH[:MM]`, `±HHMM`, `Z` at `pos` to the end; minutes east of UTC or an error. */
function parseOffset(s: string, pos: number): number | string {
  if (pos === s.length) return 0;
  let p = pos;
  if (s[p] === ' ') p++;
  const c = s[p];
  if ((c === 'Z' || c === 'z') && p + 1 === s.length) return 0;
  if (s.slice(p) === 'UTC' || s.slice(p) === 'GMT') return 0;
  if (c !== '+' && c !== '-') return `unexpected "${s.slice(pos)}" after the time`;
  const sign = c === '-' ? -1 : 1;
  const hh = digits(s, p + 1, 2);
  if (hh < 0) return `bad UTC offset "${s.slice(p)}"`;
  let q = p + 3;
  let mm = 0;
  if (q < s.length) {
    if (s[q] === ':') q++;
    mm = digits(s, q, 2);
    if (mm < 0 || q + 2 !== s.length) return `bad UTC offset "${s.slice(p)}"`;
  }
  if (hh > 18 || mm > 59) return `bad UTC offset "${s.slice(p)}"`;
  return sign * (hh * 60 + mm);
}

function parseIso(s: string): TimestampParse {
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  if (year < 0 || month < 0 || day < 0 || s[7] !== '-') return fail(FORMATS);
  const f: Fields = { year, month, day, hour: 0, minute: 0, second: 0, milli: 0 };
  if (s.length === 10) return build(f, 0);

  const sep = s[10];
  if (sep !== 'T' && sep !== 't' && sep !== ' ') return fail(FORMATS);
  f.hour = digits(s, 11, 2);
  f.minute = digits(s, 14, 2);
  if (f.hour < 0 || f.minute < 0 || s[13] !== ':') return fail('bad time of day');
  let pos = 16;
  if (s[pos] === ':') {
    f.second = digits(s, pos + 1, 2);
    if (f.second < 0) return fail('bad seconds');
    pos += 3;
    if (s[pos] === '.' || s[pos] === ',') {
      const start = ++pos;
      while (pos < s.length && isDigit(s.charCodeAt(pos))) pos++;
      const count = pos - start;
      if (count === 0 || count > MAX_FRACTION_DIGITS) {
        return fail('fraction of a second must have 1 to 9 digits');
      }
      const ms3 = (s.slice(start, Math.min(pos, start + 3)) + '00').slice(0, 3);
      f.milli = Number(ms3);
    }
  }
  const offset = parseOffset(s, pos);
  if (typeof offset === 'string') return fail(offset);
  return build(f, offset);
}

/** Reads 1 or 2 digits at `pos`: [value, next position], or null. */
function shortNumber(s: string, pos: number): [number, number] | null {
  if (pos >= s.length || !isDigit(s.charCodeAt(pos))) return null;
  if (pos + 1 < s.length && isDigit(s.charCodeAt(pos + 1))) {
    return [Number(s.slice(pos, pos + 2)), pos + 2];
  }
  return [s.charCodeAt(pos) - 48, pos + 1];
}

function parseUsLocale(s: string): TimestampParse {
  const bad = fail(FORMATS);
  const m = shortNumber(s, 0);
  if (!m || s[m[1]] !== '/') return bad;
  const d = shortNumber(s, m[1] + 1);
  if (!d || s[d[1]] !== '/') return bad;
  const year = digits(s, d[1] + 1, 4);
  if (year < 0) return bad;
  const f: Fields = { year, month: m[0], day: d[0], hour: 0, minute: 0, second: 0, milli: 0 };
  let pos = d[1] + 5;
  if (pos === s.length) return build(f, 0);
  if (s[pos] !== ' ') return bad;

  const h = shortNumber(s, pos + 1);
  if (!h || s[h[1]] !== ':') return bad;
  f.hour = h[0];
  f.minute = digits(s, h[1] + 1, 2);
  if (f.minute < 0) return bad;
  pos = h[1] + 3;
  if (s[pos] === ':') {
    f.second = digits(s, pos + 1, 2);
    if (f.second < 0) return bad;
    pos += 3;
  }
  const rest = s.slice(pos).trim().toUpperCase();
  if (rest === 'AM' || rest === 'PM') {
    if (f.hour < 1 || f.hour > 12) return fail(`hour ${f.hour} is not 1..12 before AM/PM`);
    f.hour = (f.hour % 12) + (rest === 'PM' ? 12 : 0);
  } else if (rest !== '') {
    return bad;
  }
  return build(f, 0);
}

/** Where the digits-and-one-dot check passes: the index of the dot, -1 for none, -2 for no. */
function epochDot(s: string): number {
  let dot = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 && dot === -1 && i > 0 && i < s.length - 1) dot = i;
    else if (!isDigit(c)) return -2;
  }
  return dot;
}

/** Parses a timestamp value, saying why when it cannot. */
export function tryParseTimestamp(value: unknown): TimestampParse {
  if (typeof value === 'number') return fromEpochNumber(value);
  if (value instanceof Date) return inRange(value.getTime());
  if (typeof value !== 'string') {
    return fail(`a ${value === null ? 'null' : typeof value} is not a timestamp`);
  }
  const s = value.trim();
  if (s === '') return fail('empty string');
  const dot = epochDot(s);
  if (dot !== -2) return fromEpochString(s, dot);
  if (s.length >= 10 && s[4] === '-') return parseIso(s);
  if (s.indexOf('/') > 0) return parseUsLocale(s);
  return fail(FORMATS);
}

/** UTC epoch milliseconds, or null when the value is not a usable timestamp. */
export function parseTimestamp(value: unknown): number | null {
  const r = tryParseTimestamp(value);
  return r.ok ? r.ms : null;
}
