/**
 * Rows written to S3 as new JSON Lines objects under a prefix, partitioned by
 * the day of each row (`<prefix>dt=YYYY-MM-DD/<name>-<run>-<n>.jsonl`). An
 * object is never overwritten: names carry the run's start time, process and a
 * random part, and the write asks the store to refuse an existing key.
 * Rows are buffered until `flush` (the pipeline flushes after every batch), so
 * each batch makes one object per day rather than one per entity.
 */
import { randomBytes } from 'node:crypto';
import { type S3Objects, parseS3Uri, s3Uri } from '../sources/s3';
import type { RowSink, SinkRow } from './types';

export interface S3SinkOptions {
  /** Object name stem, e.g. `dfp-detections-duo`. */
  name: string;
  /** The UTC day a row belongs to (`YYYY-MM-DD`). */
  dayOf: (row: SinkRow) => string | null;
  /** Rows held before a flush is forced. */
  maxBufferedRows?: number;
}

/** The UTC day of an ISO timestamp or epoch ms, or null. */
export function utcDay(value: unknown): string | null {
  const ms =
    typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : null;
}

export class S3Sink implements RowSink {
  written = 0;
  private buffer: SinkRow[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private sequence = 0;
  private readonly run: string;
  private readonly bucket: string;
  private readonly prefix: string;
  /** Objects written so far. */
  readonly objects: string[] = [];

  constructor(
    private readonly store: S3Objects,
    uri: string,
    private readonly options: S3SinkOptions,
  ) {
    const { bucket, key } = parseS3Uri(uri);
    this.bucket = bucket;
    this.prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
    const started = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    this.run = `${started}-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  get currentPath(): string {
    return s3Uri(this.bucket, this.prefix);
  }

  async write(rows: SinkRow[]): Promise<void> {
    if (rows.length === 0) return;
    this.buffer.push(...rows);
    this.written += rows.length;
    if (this.buffer.length >= (this.options.maxBufferedRows ?? 50_000)) await this.flush();
  }

  /**
   * Writes the buffered rows as objects. Flushes run one at a time; rows written
   * while one runs wait in the buffer for the next.
   */
  flush(): Promise<void> {
    const next = this.flushing.then(() => this.flushNow());
    this.flushing = next.catch(() => undefined);
    return next;
  }

  private async flushNow(): Promise<void> {
    if (this.buffer.length === 0) return;
    const taken = this.buffer;
    this.buffer = [];
    const byDay = new Map<string, SinkRow[]>();
    for (const row of taken) {
      const day = this.options.dayOf(row) ?? 'unknown';
      let rows = byDay.get(day);
      if (!rows) byDay.set(day, (rows = []));
      rows.push(row);
    }
    const days = [...byDay].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [i, [day, rows]] of days.entries()) {
      const name = `${this.options.name}-${this.run}-${++this.sequence}.jsonl`;
      const uri = s3Uri(this.bucket, `${this.prefix}dt=${day}/${name}`);
      const body = rows
        .map((r) => JSON.stringify(r, (_k, v: unknown) => (v === undefined ? null : v)))
        .join('\n');
      try {
        await this.store.put(uri, `${body}\n`, 'application/x-ndjson');
      } catch (err) {
        // Days already written leave the buffer; a later flush re-sends only the others.
        this.buffer = [...days.slice(i).flatMap(([, r]) => r), ...this.buffer];
        throw err;
      }
      this.objects.push(uri);
    }
  }
}
