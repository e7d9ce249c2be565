/**
 * `--watch_inputs`: polls the input patterns every `--watch_interval` seconds
 * on a fixed cadence and hands over the files that are new since the previous
 * poll, or changed (size or modification time). Runs until the signal aborts.
 */
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDfpError, ErrorCodes } from '../errors';
import { expandInputs } from './inputs';

async function listing(patterns: readonly string[]): Promise<Map<string, string>> {
  let paths: string[];
  try {
    paths = await expandInputs(patterns);
  } catch (err) {
    if (isDfpError(err, ErrorCodes.INPUT_NO_FILES)) return new Map();
    throw err;
  }
  const out = new Map<string, string>();
  for (const path of paths) {
    try {
      const info = await stat(path);
      out.set(path, `${info.size}:${info.mtimeMs}`);
    } catch {
      // Deleted between listing and stat: it will show up again if it comes back.
    }
  }
  return out;
}

export async function watchInputs(
  patterns: readonly string[],
  intervalMs: number,
  onNewFiles: (paths: string[]) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let previous = new Map<string, string>();
  let next = Date.now();
  while (!signal.aborted) {
    const current = await listing(patterns);
    const fresh = [...current].filter(([path, id]) => previous.get(path) !== id).map(([p]) => p);
    previous = current;
    if (fresh.length > 0) await onNewFiles(fresh.sort());
    next += intervalMs;
    const wait = Math.max(0, next - Date.now());
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      break;
    }
  }
}
