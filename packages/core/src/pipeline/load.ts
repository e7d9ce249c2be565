/**
 * Reads a batch of files into one Arrow table through the source's input
 * schema, with the batch cache: a batch's parsed table is kept in
 * `<cache_dir>/batches/<key>.arrow`, keyed by the files' identity (path, size,
 * modification time) and the input schema, so a second run over the same
 * files parses nothing and a schema change never reuses a stale table.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, isDfpError } from '../errors';
import { decodeRecords } from '../schema/engine';
import type { RecordReject, RecordWarning, SourceDefinition } from '../schema/types';
import { readRecords } from '../sources/files';
import type { S3Objects } from '../sources/s3';
import { inputInfo, readInput } from './inputs';
import { type Table, concatTables, fromIPC, sortByNumber, toIPC } from '../table';

const CACHE_FORMAT = 2;
/** Files read ahead of the one being decoded. */
const READ_AHEAD = 8;

type ReadResult = Awaited<ReturnType<typeof readRecords>>;

export interface FileProblem {
  path: string;
  reason: string;
}

export interface LoadedBatch {
  table: Table;
  /** Records found in the files (decoded + rejected). */
  records: number;
  rejects: RecordReject[];
  warnings: RecordWarning[];
  /** Files that held nothing at all (zero bytes), skipped. */
  emptyFiles: FileProblem[];
  /** Files that could not be read or parsed. */
  failedFiles: FileProblem[];
  fromCache: boolean;
}

interface CachedSidecar {
  format: number;
  records: number;
  rejects: RecordReject[];
  warnings: RecordWarning[];
  emptyFiles: FileProblem[];
  failedFiles: FileProblem[];
}

async function cacheKey(
  paths: string[],
  source: SourceDefinition,
  objects: S3Objects | undefined,
): Promise<string> {
  const identity = await Promise.all(
    paths.map(async (path) => ({ path, version: (await inputInfo(path, objects)).version })),
  );
  const schema = { name: source.name, input: source.input, ts: source.timestampColumn };
  return createHash('sha256')
    .update(JSON.stringify({ format: CACHE_FORMAT, identity, schema }))
    .digest('hex');
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

async function readCached(dir: string, key: string): Promise<LoadedBatch | null> {
  try {
    const [bytes, sidecar] = await Promise.all([
      readFile(join(dir, `${key}.arrow`)),
      readFile(join(dir, `${key}.json`), 'utf8'),
    ]);
    const meta = JSON.parse(sidecar) as CachedSidecar;
    if (meta.format !== CACHE_FORMAT) return null;
    return { ...meta, table: fromIPC(bytes), fromCache: true };
  } catch {
    return null;
  }
}

async function parseFiles(
  paths: string[],
  source: SourceDefinition,
  objects: S3Objects | undefined,
): Promise<LoadedBatch> {
  const tables: Table[] = [];
  const out: LoadedBatch = {
    table: concatTables([]),
    records: 0,
    rejects: [],
    warnings: [],
    emptyFiles: [],
    failedFiles: [],
    fromCache: false,
  };
  // Files are fetched a few ahead of the one being decoded, so that waiting for
  // the disk or S3 overlaps with decoding.
  const reads = new Map<number, Promise<ReadResult>>();
  let started = 0;
  for (const [index, path] of paths.entries()) {
    while (started < paths.length && started < index + READ_AHEAD) {
      const at = paths[started];
      reads.set(
        started,
        readInput(at, objects).then((input) => readRecords(at, input)),
      );
      // Settled later, in order; a rejection must not count as unhandled meanwhile.
      reads.get(started)?.catch(() => undefined);
      started++;
    }
    let read;
    try {
      read = await (reads.get(index) as Promise<ReadResult>);
    } catch (err) {
      const reason = errorMessage(err);
      if (isDfpError(err) && err.details.empty === true) out.emptyFiles.push({ path, reason });
      else out.failedFiles.push({ path, reason });
      continue;
    } finally {
      reads.delete(index);
    }
    out.records += read.records.length + read.rejects.length;
    out.rejects.push(...read.rejects);
    out.warnings.push(...read.warnings);
    const decoded = decodeRecords(read.records, source, path, {
      indices: read.indices,
      origin: true,
    });
    out.rejects.push(...decoded.rejects);
    out.warnings.push(...decoded.warnings);
    if (decoded.table.numRows > 0) tables.push(decoded.table);
  }
  out.table =
    tables.length > 0 ? sortByNumber(concatTables(tables), source.timestampColumn) : out.table;
  return out;
}

/** Reads (or takes from the cache) the table of a batch of files. */
export async function loadBatch(
  paths: string[],
  source: SourceDefinition,
  cacheDir: string | null,
  objects?: S3Objects,
): Promise<LoadedBatch> {
  if (cacheDir === null) return parseFiles(paths, source, objects);
  const dir = join(cacheDir, 'batches');
  const key = await cacheKey(paths, source, objects);
  const cached = await readCached(dir, key);
  if (cached) return cached;

  const batch = await parseFiles(paths, source, objects);
  if (batch.failedFiles.length === 0 && batch.table.numCols > 0) {
    await mkdir(dir, { recursive: true });
    const sidecar: CachedSidecar = {
      format: CACHE_FORMAT,
      records: batch.records,
      rejects: batch.rejects,
      warnings: batch.warnings,
      emptyFiles: batch.emptyFiles,
      failedFiles: batch.failedFiles,
    };
    await writeAtomic(join(dir, `${key}.arrow`), toIPC(batch.table));
    await writeAtomic(join(dir, `${key}.json`), JSON.stringify(sidecar));
  }
  return batch;
}
