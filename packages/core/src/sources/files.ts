/**
 * Reads log files into raw records. One reader handles every layout the sources
 * ship in, gzip-compressed or not (decided by the magic bytes, not the name):
 * a JSON array, JSON Lines, a single record, and the envelopes of the APIs and
 * exports that produce these logs (CloudTrail `Records`, Microsoft Graph `value`,
 * Duo Admin API `response`, and lists of Duo response pages).
 */
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DfpError, ErrorCodes } from '../errors';
import type { RecordReject, RecordWarning } from '../schema/types';
import { findJsonProblem, lineColumn } from './readers/json-position';

const gunzipAsync = promisify(gunzip);

/** How the records were laid out in the file. */
export type FileLayout =
  | 'json-array'
  | 'json-lines'
  | 'single-record'
  | 'cloudtrail-records'
  | 'graph-value'
  | 'duo-response'
  | 'duo-pages';

export interface ReadResult {
  source: string;
  /** Records in file order. Non-object entries are rejected, not included. */
  records: unknown[];
  /** Index of each record in its source (JSON Lines: the 0-based line number). */
  indices: number[];
  rejects: RecordReject[];
  warnings: RecordWarning[];
  layout: FileLayout;
}

const RETRIABLE_FS_CODES = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'EIO']);

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

function malformed(path: string, message: string, cause?: unknown): DfpError {
  return new DfpError(ErrorCodes.INPUT_MALFORMED, message, {
    cause,
    details: { file: path },
  });
}

/** Where and why `text` (from offset `start`) is not JSON, for error messages. */
function explain(text: string, start: number, err: unknown): string {
  const body = start === 0 ? text : text.slice(start);
  const problem = findJsonProblem(body);
  if (!problem) return err instanceof Error ? err.message : String(err);
  const pos = start + problem.pos;
  const { line, column } = lineColumn(text, pos);
  return `at line ${line} column ${column} (position ${pos}): ${problem.reason}`;
}

function parseDocument(text: string, start: number, path: string): unknown {
  try {
    return JSON.parse(start === 0 ? text : text.slice(start)) as unknown;
  } catch (err) {
    throw malformed(path, `invalid JSON in ${path} ${explain(text, start, err)}`, err);
  }
}

/** The line starting at `from` (without its line break) and where the next one starts. */
function lineAt(text: string, from: number): [string, number] {
  const nl = text.indexOf('\n', from);
  const end = nl < 0 ? text.length : nl;
  const line = text.slice(from, end > from && text[end - 1] === '\r' ? end - 1 : end);
  return [line, nl < 0 ? text.length : nl + 1];
}

function isObjectLine(line: string): boolean {
  const t = line.trim();
  return t.startsWith('{') && t.endsWith('}');
}

/**
 * JSON Lines when one of the first two non-blank lines is a whole `{…}` object
 * and there is more than one non-blank line. A pretty-printed object starts with a
 * line that does not close itself, so it is read as one document.
 */
function looksLikeJsonLines(text: string, start: number): boolean {
  const [first, next] = lineAt(text, start);
  let pos = next;
  while (pos < text.length) {
    const [line, after] = lineAt(text, pos);
    if (line.trim() !== '') return isObjectLine(first) || isObjectLine(line);
    pos = after;
  }
  return false;
}

function readJsonLines(text: string, path: string): ReadResult {
  const out = emptyResult(path, 'json-lines');
  let lineNo = 0;
  for (let pos = 0; pos < text.length; lineNo++) {
    const [line, next] = lineAt(text, pos);
    pos = next;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line) as unknown;
    } catch (err) {
      const reason = `invalid JSON ${explain(line, 0, err)}`.replace(/ at line 1 /, ' at ');
      out.rejects.push({ source: path, index: lineNo, field: null, reason, record: line });
      continue;
    }
    addRecord(out, value, lineNo);
  }
  return out;
}

function emptyResult(path: string, layout: FileLayout): ReadResult {
  return { source: path, records: [], indices: [], rejects: [], warnings: [], layout };
}

function addRecord(out: ReadResult, value: unknown, index: number): void {
  if (isObject(value)) {
    out.records.push(value);
    out.indices.push(index);
  } else {
    out.rejects.push({
      source: out.source,
      index,
      field: null,
      reason: `record is not a JSON object (found ${typeName(value)})`,
      record: value,
    });
  }
}

function fromList(path: string, layout: FileLayout, list: unknown[]): ReadResult {
  const out = emptyResult(path, layout);
  for (let i = 0; i < list.length; i++) addRecord(out, list[i], i);
  return out;
}

function isDuoPage(v: unknown): v is { authlogs: unknown[] } {
  return isObject(v) && Array.isArray(v.authlogs);
}

function onlyODataBesides(obj: Record<string, unknown>, key: string): boolean {
  for (const k in obj) if (k !== key && !k.startsWith('@odata.')) return false;
  return true;
}

/** Unwraps the known envelopes; anything else is one record. */
function fromObject(path: string, doc: Record<string, unknown>): ReadResult {
  if (Array.isArray(doc.Records)) return fromList(path, 'cloudtrail-records', doc.Records);
  if (Array.isArray(doc.value) && onlyODataBesides(doc, 'value')) {
    return fromList(path, 'graph-value', doc.value);
  }
  if ('response' in doc && ('stat' in doc || Object.keys(doc).length === 1)) {
    if (doc.stat !== undefined && doc.stat !== 'OK') {
      const detail = [doc.code, doc.message, doc.message_detail].filter((v) => v !== undefined);
      throw malformed(
        path,
        `${path} holds a Duo API error response (stat ${String(doc.stat)}` +
          `${detail.length ? ': ' + detail.join(' ') : ''}), not logs`,
      );
    }
    const response = doc.response;
    if (Array.isArray(response)) return fromList(path, 'duo-response', response);
    if (isDuoPage(response)) return fromList(path, 'duo-response', response.authlogs);
    throw malformed(
      path,
      `${path} looks like a Duo API response but "response" holds a ${typeName(response)} ` +
        'instead of a list of logs or an object with "authlogs"',
    );
  }
  if (isDuoPage(doc) && Object.keys(doc).every((k) => k === 'authlogs' || k === 'metadata')) {
    return fromList(path, 'duo-response', doc.authlogs);
  }
  const out = emptyResult(path, 'single-record');
  addRecord(out, doc, 0);
  return out;
}

function fromArray(path: string, doc: unknown[]): ReadResult {
  if (doc.length > 0 && doc.every(isDuoPage)) {
    const flat: unknown[] = [];
    for (const page of doc) for (const log of page.authlogs) flat.push(log);
    return fromList(path, 'duo-pages', flat);
  }
  return fromList(path, 'json-array', doc);
}

function firstNonBlank(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
  }
  return -1;
}

/**
 * Parses the text of one log file. Throws DfpError INPUT_MALFORMED for an empty
 * file and for text that is not JSON; a bad JSON Lines line is only rejected.
 */
export function parseRecords(content: string, path: string): ReadResult {
  const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  const start = firstNonBlank(text);
  if (start < 0) {
    throw new DfpError(ErrorCodes.INPUT_MALFORMED, `empty file ${path}`, {
      details: { file: path, empty: true },
    });
  }
  const first = text[start];
  if (first === '[') {
    const doc = parseDocument(text, start, path);
    if (Array.isArray(doc)) return fromArray(path, doc);
  }
  if (first === '{') {
    if (looksLikeJsonLines(text, start)) return readJsonLines(text, path);
    const doc = parseDocument(text, start, path);
    if (isObject(doc)) return fromObject(path, doc);
  }
  throw malformed(
    path,
    `${path} is not a JSON array, JSON object or JSON Lines file ` +
      `(starts with ${JSON.stringify(text.slice(start, start + 20))})`,
  );
}

/**
 * A local file's bytes. Read synchronously: a log file comes whole from the page
 * cache in microseconds, while the promise API's open, stat, read and close each
 * wait for a turn of the event loop, which the scoring work keeps busy (measured:
 * end-to-end scoring 10–20% faster).
 */
async function loadBytes(path: string): Promise<Buffer> {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new DfpError(
      ErrorCodes.INPUT_UNREADABLE,
      `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err, retriable: RETRIABLE_FS_CODES.has(code), details: { file: path, code } },
    );
  }
}

/**
 * Reads one log file (or its bytes, when already fetched from object storage;
 * `path` then only names them) into raw records. Gzip is detected by its magic
 * bytes. Throws DfpError INPUT_UNREADABLE when the file cannot be read and
 * INPUT_MALFORMED when it is empty ("empty file <path>") or not JSON.
 */
export async function readRecords(path: string, bytes?: Uint8Array): Promise<ReadResult> {
  let data: Buffer = bytes
    ? Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : await loadBytes(path);
  if (isGzip(data)) {
    try {
      data = await gunzipAsync(data);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw malformed(path, `cannot decompress gzip file ${path}: ${reason}`, err);
    }
  }
  if (data.length === 0) {
    throw new DfpError(ErrorCodes.INPUT_MALFORMED, `empty file ${path}`, {
      details: { file: path, empty: true },
    });
  }
  return parseRecords(data.toString('utf8'), path);
}
