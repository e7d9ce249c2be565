/**
 * Appending file sinks. Detections go to CSV or JSON Lines (chosen by the
 * extension); rejects and dead letters go to JSON Lines. Nothing is ever
 * truncated: a CSV whose header differs from the new rows' columns is left
 * alone and the rows go to a numbered sibling file instead.
 */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { createInterface } from 'node:readline';
import { DfpError, ErrorCodes } from '../errors';

import type { RowSink, SinkRow } from './types';

export type { SinkRow };

export type FileFormat = 'csv' | 'jsonl';

export function formatOf(path: string): FileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new DfpError(
    ErrorCodes.CONFIG_INVALID,
    `--output ${path}: unknown extension ${ext || '(none)'}; use .csv or .jsonl`,
  );
}

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (starting with
 * = + - @, a tab or a carriage return) gets a leading apostrophe: log fields
 * such as user agents are attacker-controlled. Numbers are left alone.
 */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

async function firstLine(path: string): Promise<string | null> {
  try {
    await stat(path);
  } catch {
    return null;
  }
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

function jsonValue(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** Whether an undefined hides anywhere in a row (JSON would drop that key). */
function holdsUndefined(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'object' || value === null) return false;
  for (const v of Object.values(value)) if (holdsUndefined(v)) return true;
  return false;
}

/** A row as one JSON line; undefined values become null, as missing ones are. */
function jsonLine(row: SinkRow): string {
  // The replacer costs a call per value; most rows have nothing for it to do.
  const text = holdsUndefined(row)
    ? JSON.stringify(row, (_k, v: unknown) => jsonValue(v))
    : JSON.stringify(row);
  return text + '\n';
}

export class FileSink implements RowSink {
  private columns: string[] | null = null;
  private target: string;
  private ready = false;
  private queue: Promise<void> = Promise.resolve();
  written = 0;

  constructor(readonly path: string) {
    this.target = path;
  }

  get format(): FileFormat {
    return formatOf(this.path);
  }

  /** Where rows actually go (differs from `path` when the CSV header did not match). */
  get currentPath(): string {
    return this.target;
  }

  private async prepare(columns: string[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.columns = columns;
    if (this.format === 'jsonl') {
      this.ready = true;
      return;
    }
    const header = columns.map(csvCell).join(',');
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? this.path : this.path.replace(/(\.csv)$/i, `.${n}$1`);
      const existing = await firstLine(candidate);
      if (existing === null || existing === '') {
        this.target = candidate;
        await appendFile(candidate, header + '\n');
        break;
      }
      if (existing === header) {
        this.target = candidate;
        break;
      }
      if (n === 0) {
        process.emitWarning(
          `${this.path} has other columns; appending to a numbered sibling file instead`,
        );
      }
    }
    this.ready = true;
  }

  /**
   * Appends rows. CSV columns are fixed by the first call. Calls made while one is
   * still writing wait for it, so rows land in call order and the header once.
   */
  write(rows: SinkRow[]): Promise<void> {
    const next = this.queue.then(() => this.append(rows));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async append(rows: SinkRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (!this.ready) await this.prepare(Object.keys(rows[0]));
    let text = '';
    if (this.format === 'jsonl') {
      for (const row of rows) text += jsonLine(row);
    } else {
      const columns = this.columns as string[];
      for (const row of rows) text += columns.map((c) => csvCell(row[c])).join(',') + '\n';
    }
    try {
      await appendFile(this.target, text);
    } catch (err) {
      throw new DfpError(
        ErrorCodes.SINK_WRITE_FAILED,
        `cannot write to ${this.target}: ${(err as Error).message}`,
        {
          cause: err,
          retriable: true,
        },
      );
    }
    this.written += rows.length;
  }
}
