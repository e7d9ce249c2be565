/**
 * Groups input files into batches by the date in their names.
 *
 * A name date looks like `2022-08-01T00_03_56.207Z` (Morpheus file naming),
 * `2022-08-01`, or CloudTrail's compact `20220801T0305Z`. Every date is UTC.
 * Unlike Morpheus, the fraction of a second is read as written (`.207` is
 * 207 ms). A file without a date in its name is dated by its modification time.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';

export interface DatedFile {
  path: string;
  /** UTC epoch ms. */
  time: number;
  /** Where the time came from. */
  timeSource: 'name' | 'mtime';
}

export interface FileBatch {
  files: DatedFile[];
  /** Start of the batch's period (UTC epoch ms), or of its first file when not periodic. */
  start: number;
  /** Number of periods covered by the whole run, empty ones included (Morpheus `n_groups`). */
  periods: number;
}

// Date, then an optional time: hour, minute and second with any separator, a fraction, a Z.
const ISO_IN_NAME = new RegExp(
  String.raw`(\d{4})-(\d{1,2})-(\d{1,2})` +
    String.raw`(?:[T_ ](\d{1,2})(?:[:_.-]?(\d{2}))?(?:[:_.-]?(\d{2}))?(?:\.(\d{1,9}))?Z?)?`,
);
const COMPACT_IN_NAME = /(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?Z/;

/** The UTC time written in a file name, or null. */
export function dateFromName(path: string): number | null {
  const name = basename(path);
  const m = ISO_IN_NAME.exec(name) ?? COMPACT_IN_NAME.exec(name);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => (v ? Number(v) : 0));
  const fraction = m[7] ? Number(`0.${m[7]}`) : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return null;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second) + Math.floor(fraction * 1000);
}

/**
 * Dates each file by its name, else by its modification time (`mtimeOf`
 * gives it for objects in storage; local files are stat-ed).
 */
export async function dateFiles(
  paths: string[],
  mtimeOf: (path: string) => Promise<number> = async (p) => (await stat(p)).mtimeMs,
): Promise<DatedFile[]> {
  return Promise.all(
    paths.map(async (path) => {
      const fromName = dateFromName(path);
      if (fromName !== null) return { path, time: fromName, timeSource: 'name' as const };
      return { path, time: await mtimeOf(path), timeSource: 'mtime' as const };
    }),
  );
}

export interface BatchingOptions {
  /** Inclusive bounds (UTC epoch ms); null = open. */
  startTime: number | null;
  endTime: number | null;
  /** Keep only the first file of each bin of this many seconds; 0 = keep all. */
  sampleRateS: number;
  /** 'D' = one batch per UTC day; null = one batch of everything. */
  period: 'D' | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Filters by time window, samples, sorts by time and cuts into batches. */
export function batchFiles(files: DatedFile[], options: BatchingOptions): FileBatch[] {
  let kept = files.filter(
    (f) =>
      (options.startTime === null || f.time >= options.startTime) &&
      (options.endTime === null || f.time <= options.endTime),
  );
  kept.sort((a, b) => a.time - b.time || a.path.localeCompare(b.path));

  if (options.sampleRateS > 0) {
    const binMs = options.sampleRateS * 1000;
    const seenBins = new Set<number>();
    kept = kept.filter((f) => {
      const bin = Math.floor(f.time / binMs);
      if (seenBins.has(bin)) return false;
      seenBins.add(bin);
      return true;
    });
  }
  if (kept.length === 0) return [];

  if (options.period === null) return [{ files: kept, start: kept[0].time, periods: 1 }];

  const byDay = new Map<number, DatedFile[]>();
  for (const f of kept) {
    const day = Math.floor(f.time / DAY_MS) * DAY_MS;
    let list = byDay.get(day);
    if (!list) byDay.set(day, (list = []));
    list.push(f);
  }
  const days = [...byDay.keys()].sort((a, b) => a - b);
  const periods = Math.round((days[days.length - 1] - days[0]) / DAY_MS) + 1;
  return days.map((day) => ({ files: byDay.get(day) as DatedFile[], start: day, periods }));
}
