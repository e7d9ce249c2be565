/** Expands `-f/--input_file` values (files, directories, globs) into file paths. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { DfpError, ErrorCodes } from '../errors';

const GLOB_CHARS = /[*?[\]{}]/;

export async function expandInputs(patterns: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    if (/^[a-z][a-z0-9+.-]*::|^s3:\/\//i.test(pattern)) {
      throw new DfpError(
        ErrorCodes.CONFIG_INVALID,
        `input ${pattern}: S3 and filecache:: inputs are not supported yet; use local paths`,
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
