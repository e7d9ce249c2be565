/**
 * `--watch_inputs`: polls the inputs (local globs and S3 prefixes) every
 * `--watch_interval` seconds on a fixed cadence and hands over the files and
 * objects not processed yet, or changed since (size and time, or ETag).
 *
 * A ledger in the cache directory records what was processed, so that a
 * restarted watcher processes each file or object once. A local file still
 * being written is left for a later poll: it is taken only once two polls saw
 * it unchanged, or its last change is older than the settle time. A file dated
 * earlier than one already processed (a late delivery) is processed like any
 * other, and counted.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dateFromName } from '../batching/file-batcher';
import { ErrorCodes, errorMessage, isDfpError } from '../errors';
import type { Logger } from '../logging';
import { type S3Objects, isS3Uri } from '../sources/s3';
import type { PipelineConfig } from './config';
import { type InputInfo, expandInputs, inputInfo } from './inputs';
import type { RunReport, WatchStats } from './report';
import { objectsOf } from './stages';

interface LedgerEntry {
  path: string;
  version: string;
  at: string;
  /** 'failed' when given up after repeated failures; absent when processed. */
  status?: string;
}

/** What was processed, one JSON line per file or object, appended and synced. */
export class WatchLedger {
  private readonly done = new Map<string, string>();

  constructor(readonly path: string) {}

  /** The ledger file of one watched set of inputs, for one kind of work. */
  static for(cacheDir: string, kind: string, patterns: readonly string[]): WatchLedger {
    const digest = createHash('sha256')
      .update(JSON.stringify([kind, [...patterns].sort()]))
      .digest('hex')
      .slice(0, 16);
    return new WatchLedger(join(cacheDir, 'watch', `${kind}-${digest}.jsonl`));
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as LedgerEntry;
        this.done.set(e.path, e.version);
      } catch {
        // A line cut by a crash: its file is simply processed again.
      }
    }
  }

  has(path: string, version: string): boolean {
    return this.done.get(path) === version;
  }

  get size(): number {
    return this.done.size;
  }

  /** Paths recorded (for dating what came before a restart). */
  paths(): string[] {
    return [...this.done.keys()];
  }

  async record(entries: { path: string; version: string; status?: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const at = new Date().toISOString();
    await mkdir(dirname(this.path), { recursive: true });
    const text = entries.map((e) => JSON.stringify({ ...e, at }) + '\n').join('');
    await appendFile(this.path, text);
    const handle = await open(this.path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    for (const e of entries) this.done.set(e.path, e.version);
  }
}

export interface WatchOptions {
  intervalMs: number;
  ledger?: WatchLedger;
  objects?: S3Objects;
  /** A local file unchanged for this long is taken even if only one poll saw it. */
  settleMs?: number;
  /** Failures of one version of a file before it is recorded as failed. Default 3. */
  maxAttempts?: number;
  logger?: Logger;
}

async function listing(
  patterns: readonly string[],
  objects: S3Objects | undefined,
): Promise<Map<string, InputInfo>> {
  let paths: string[];
  try {
    paths = await expandInputs(patterns, objects);
  } catch (err) {
    if (isDfpError(err, ErrorCodes.INPUT_NO_FILES)) return new Map();
    throw err;
  }
  const out = new Map<string, InputInfo>();
  for (const path of paths) {
    try {
      out.set(path, await inputInfo(path, objects));
    } catch {
      // Deleted between listing and stat: it will show up again if it comes back.
    }
  }
  return out;
}

export async function watchInputs(
  patterns: readonly string[],
  options: WatchOptions,
  /** Processes files; resolves with those that failed (left for a later poll). */
  onNewFiles: (paths: string[]) => Promise<{ failed: string[] }>,
  signal: AbortSignal,
): Promise<WatchStats> {
  const { ledger, objects, logger } = options;
  const settleMs = options.settleMs ?? 5_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const stats: WatchStats = {
    polls: 0,
    processed: 0,
    retried: 0,
    givenUp: 0,
    late: 0,
    deferred: 0,
  };
  await ledger?.load();
  const attempts = new Map<string, number>();
  /** What this process handed over, for watching without a ledger. */
  const handed = new Map<string, string>();
  let previous = new Map<string, InputInfo>();
  // Files dated by name in the ledger tell what "late" means after a restart.
  let newest = Math.max(
    -Infinity,
    ...(ledger?.paths() ?? []).map((p) => dateFromName(p) ?? -Infinity),
  );
  let next = Date.now();
  while (!signal.aborted) {
    stats.polls += 1;
    const current = await listing(patterns, objects);
    const ready: [string, InputInfo][] = [];
    for (const [path, info] of current) {
      if (ledger ? ledger.has(path, info.version) : handed.get(path) === info.version) continue;
      // Objects appear whole; a local file must have stopped changing.
      const settled =
        isS3Uri(path) ||
        previous.get(path)?.version === info.version ||
        Date.now() - info.mtimeMs >= settleMs;
      if (settled) ready.push([path, info]);
      else stats.deferred += 1;
    }
    previous = current;
    if (ready.length > 0) {
      ready.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      for (const [path, info] of ready) {
        const time = dateFromName(path) ?? info.mtimeMs;
        if (time < newest) {
          stats.late += 1;
          logger?.info({ file: path, time: new Date(time).toISOString() }, 'late file processed');
        }
      }
      const { failed } = await onNewFiles(ready.map(([p]) => p));
      const failedSet = new Set(failed);
      const done: { path: string; version: string; status?: string }[] = [];
      for (const [path, info] of ready) {
        const id = `${path}\n${info.version}`;
        if (failedSet.has(path)) {
          const n = (attempts.get(id) ?? 0) + 1;
          attempts.set(id, n);
          if (n < maxAttempts) {
            stats.retried += 1;
            continue;
          }
          stats.givenUp += 1;
          logger?.error({ file: path, attempts: n }, 'file failed every attempt; not retried');
          done.push({ path, version: info.version, status: 'failed' });
        } else {
          stats.processed += 1;
          done.push({ path, version: info.version });
        }
        attempts.delete(id);
        handed.set(path, info.version);
        newest = Math.max(newest, dateFromName(path) ?? info.mtimeMs);
      }
      await ledger?.record(done);
    }
    next += options.intervalMs;
    const wait = Math.max(0, next - Date.now());
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      break;
    }
  }
  return stats;
}

/** A scorer or trainer that processes files and reports on them. */
export interface FileWorker {
  readonly report: RunReport;
  processFiles(paths: string[]): Promise<void>;
}

/**
 * Runs a worker over the watched inputs until `signal` aborts, with the ledger
 * in `<cache_dir>/watch/` (none with --no_cache). Files whose reading failed are
 * retried on later polls; the run's report gets the watch counters.
 */
export async function runWatch(
  config: PipelineConfig,
  worker: FileWorker,
  kind: 'training' | 'inference',
  signal: AbortSignal,
  logger: Logger,
): Promise<RunReport> {
  const ledger =
    config.cacheDir === null
      ? undefined
      : WatchLedger.for(config.cacheDir, `${kind}-${config.source.name}`, config.inputs);
  if (!ledger) logger.warn('no cache directory: a restarted watcher processes every file again');
  const { report } = worker;
  const stats = await watchInputs(
    config.inputs,
    { intervalMs: config.watchIntervalMs, ledger, objects: objectsOf(config), logger },
    async (paths) => {
      const before = report.failedFiles.length;
      let failed: string[] = [];
      try {
        await worker.processFiles(paths);
      } catch (err) {
        // A failed poll must not end the watch, nor leave its files taken for processed.
        if (isDfpError(err, ErrorCodes.INPUT_NO_FILES)) {
          // Outside the --start_time/--duration window: not used, as in a run without watching.
          logger.warn({ err: errorMessage(err), files: paths.length }, 'files not used');
        } else {
          // Output or state not written, say: every file of the poll is tried again. Batches
          // that did finish are not scored twice (their rows are repeats by then).
          logger.error(
            { err: errorMessage(err), files: paths.length },
            'files not processed; they are tried again on the next poll',
          );
          failed = paths;
        }
      }
      failed = [...new Set([...failed, ...report.failedFiles.slice(before).map((f) => f.path)])];
      // A failed read is retried, so it is reported once, when given up, not on every poll.
      report.failedFiles.splice(before);
      return { failed };
    },
    signal,
  );
  report.watch = stats;
  return report;
}
