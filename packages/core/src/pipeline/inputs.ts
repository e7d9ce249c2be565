/**
 * Inputs named on the command line: local files, directories and globs, and
 * S3 locations (`s3://bucket/prefix/*.json`, `filecache::s3://…`). Each is
 * expanded into the files or objects it names; `inputInfo` and `readInput`
 * then treat both kinds alike.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { DfpError, ErrorCodes } from '../errors';
import { type S3Objects, isS3Uri, parseS3Uri } from '../sources/s3';

const GLOB_CHARS = /[*?[\]{}]/;

export interface InputInfo {
  size: number;
  /** Modification time, UTC epoch ms. */
  mtimeMs: number;
  /** Changes whenever the content does: size and mtime for files, the ETag for objects. */
  version: string;
}

function needsS3(pattern: string, objects: S3Objects | undefined): S3Objects {
  if (!objects) {
    throw new DfpError(ErrorCodes.CONFIG_INVALID, `input ${pattern}: no S3 client configured`);
  }
  return objects;
}

/** Expands every input into the sorted, distinct files and objects it names. */
export async function expandInputs(
  patterns: readonly string[],
  objects?: S3Objects,
): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    if (isS3Uri(pattern)) {
      const { cached } = parseS3Uri(pattern);
      for (const o of await needsS3(pattern, objects).list(pattern)) {
        found.add(cached ? `filecache::${o.uri}` : o.uri);
      }
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*::/i.test(pattern)) {
      throw new DfpError(
        ErrorCodes.CONFIG_INVALID,
        `input ${pattern}: only filecache::s3://… is supported as a prefixed location`,
      );
    }
    if (GLOB_CHARS.test(pattern)) {
      for (const p of await glob(pattern, {
        absolute: true,
        onlyFiles: true,
        expandDirectories: false,
      })) {
        found.add(p);
      }
      continue;
    }
    let info;
    try {
      info = await stat(pattern);
    } catch {
      continue;
    }
    if (info.isDirectory()) {
      for (const p of await glob('*', { cwd: pattern, absolute: true, onlyFiles: true }))
        found.add(p);
    } else {
      found.add(resolve(pattern));
    }
  }
  if (found.size === 0) {
    throw new DfpError(
      ErrorCodes.INPUT_NO_FILES,
      `no files matched the inputs: ${patterns.map((p) => JSON.stringify(p)).join(', ')}`,
    );
  }
  return [...found].sort();
}

/** Size, modification time and version of a file or object. */
export async function inputInfo(path: string, objects?: S3Objects): Promise<InputInfo> {
  if (isS3Uri(path)) {
    const o = await needsS3(path, objects).info(path);
    return { size: o.size, mtimeMs: o.lastModified, version: `etag:${o.etag}` };
  }
  const s = await stat(path);
  return { size: s.size, mtimeMs: s.mtimeMs, version: `${s.size}:${s.mtimeMs}` };
}

/** The bytes of an object; undefined for a local file (the reader opens it itself). */
export async function readInput(path: string, objects?: S3Objects): Promise<Buffer | undefined> {
  if (!isS3Uri(path)) return undefined;
  return needsS3(path, objects).read(path);
}

/** Reads a local file's bytes or an object's. */
export async function readInputBytes(path: string, objects?: S3Objects): Promise<Buffer> {
  return (await readInput(path, objects)) ?? readFile(path);
}
