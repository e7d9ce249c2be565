// Calendar, delivery slots and the timestamp spellings of each log format.

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** Morpheus' example data has ~8 files a day, one per ~3 hours. */
export const SLOT_HOURS = 3;
/** File names carry the slot start plus a small delivery delay, like the Morpheus names. */
const MAX_NAME_DELAY_MS = 20 * MINUTE_MS;

const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
const SATURDAY = 6;
const SUNDAY = 0;

export function parseStartDate(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) {
    throw new Error(`--start must be a date like 2022-08-01, got "${text}"`);
  }
  return ms;
}

/**
 * Training days are followed directly by inference days; day d covers
 * [startMs + d days, startMs + (d + 1) days) in UTC.
 */
export function buildCalendar(startMs, trainingDays, inferenceDays) {
  const trainingEndMs = startMs + trainingDays * DAY_MS;
  return {
    startMs,
    trainingDays,
    inferenceDays,
    trainingEndMs,
    endMs: trainingEndMs + inferenceDays * DAY_MS,
  };
}

export function phaseOf(calendar, ms) {
  return ms < calendar.trainingEndMs ? 'training' : 'inference';
}

export function isWeekend(ms) {
  const weekday = new Date(ms).getUTCDay();
  return weekday === SATURDAY || weekday === SUNDAY;
}

/** Consecutive 3-hour slots covering [fromMs, toMs); nameMs is what the file name shows. */
export function buildSlots(fromMs, toMs, rng) {
  const slots = [];
  for (let start = fromMs; start < toMs; start += SLOT_HOURS * HOUR_MS) {
    const end = Math.min(start + SLOT_HOURS * HOUR_MS, toMs);
    slots.push({ startMs: start, endMs: end, nameMs: start + rng.int(0, MAX_NAME_DELAY_MS) });
  }
  return slots;
}

const pad = (value, width = 2) => String(value).padStart(width, '0');

/** 2022-08-01T00:05:06.806Z (ms resolution). */
export function isoMs(ms) {
  return new Date(ms).toISOString();
}

/** 2022-08-01T00:05:06Z (CloudTrail eventTime). */
export function isoSeconds(ms) {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** 2022-08-01T00:05:06.806123+00:00 (Duo isotimestamp); micros = the 3 digits below 1 ms. */
export function isoMicrosOffset(ms, micros) {
  return `${new Date(ms).toISOString().slice(0, 23)}${pad(micros, 3)}+00:00`;
}

/**
 * Azure writes 100 ns ticks and drops trailing zeros, so a value may have 0 to 7 fraction
 * digits; ticks = the 4 digits below 1 ms.
 */
export function isoTicks(ms, ticks, suffix = 'Z') {
  const fraction = `${new Date(ms).toISOString().slice(20, 23)}${pad(ticks, 4)}`.replace(/0+$/, '');
  const base = new Date(ms).toISOString().slice(0, 19);
  return fraction ? `${base}.${fraction}${suffix}` : `${base}${suffix}`;
}

/** 2022-08-01T00_05_06.806Z, the Morpheus DUO_/AZUREAD_ file name stamp. */
export function fileStamp(ms) {
  return new Date(ms).toISOString().replace(/:/g, '_');
}

/** 20220801T0305Z, the CloudTrail S3 object key stamp. */
export function cloudTrailStamp(ms) {
  const d = new Date(ms);
  const date = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  return `${date}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
}

/** "Aug 1, 2022 1:33:28 PM", the style CloudTrail uses inside responseElements. */
export function cloudTrailLongDate(ms) {
  const d = new Date(ms);
  const month = MONTHS[d.getUTCMonth()];
  const hours = d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12;
  const half = d.getUTCHours() < 12 ? 'AM' : 'PM';
  const clock = `${hours}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${month} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${clock} ${half}`;
}
