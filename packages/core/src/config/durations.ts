/** Durations written like pandas Timedelta strings: `60d`, `1d`, `2 days`, `12h`, `1w 2d`. */

const UNIT_MS: Record<string, number> = {
  w: 7 * 86_400_000,
  week: 7 * 86_400_000,
  weeks: 7 * 86_400_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  t: 60_000,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  ms: 1,
};

/** Milliseconds in a duration string; throws with the reason when it is not one. */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  const part = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = part.exec(trimmed)) !== null) {
    const unit = UNIT_MS[m[2]];
    if (unit === undefined) throw new Error(`unknown unit "${m[2]}" in duration "${text}"`);
    total += Number(m[1]) * unit;
    matched = part.lastIndex;
  }
  if (matched === 0 || matched !== trimmed.length) {
    throw new Error(`"${text}" is not a duration (examples: 60d, 1d, 12h, 90min, 2 days)`);
  }
  return total;
}
