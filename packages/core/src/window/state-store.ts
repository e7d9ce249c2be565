/**
 * Per-entity state on disk, so that a restarted or rebalanced consumer picks up
 * an entity's history (the day behind logcount and the increments, or a
 * training window) where the last owner left it.
 *
 * Each key has a folder holding Arrow IPC segments and a `state.json` naming
 * the segments that belong to it, with the caller's counters. New rows are
 * appended as a new segment; `replace` writes one compacted segment. A segment
 * counts only once `state.json` names it, and `state.json` is replaced
 * atomically, so a crash at any point leaves the previous state readable.
 * Writes to one key are applied in call order.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Table, concatTables, fromIPC, toIPC } from '../table';

const STATE_FORMAT = 1;
/** Appended segments merged into one once there are this many. */
const MAX_SEGMENTS = 32;

export interface StoredState<M> {
  table: Table | null;
  meta: M;
}

interface StateFile<M> {
  format: number;
  key: string;
  segments: string[];
  meta: M;
}

export class EntityStateStore<M = Record<string, unknown>> {
  private readonly queues = new Map<string, Promise<unknown>>();
  private sequence = 0;

  constructor(readonly dir: string) {}

  /** The folder of a key: a digest, so that any entity id makes a safe, short name. */
  private folder(key: string): string {
    return join(this.dir, createHash('sha256').update(key).digest('hex').slice(0, 32));
  }

  private serial<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  private async readState(key: string): Promise<StateFile<M> | null> {
    let text: string;
    try {
      text = await readFile(join(this.folder(key), 'state.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const state = JSON.parse(text) as StateFile<M>;
    if (state.format !== STATE_FORMAT || state.key !== key) {
      throw new Error(
        `state file ${join(this.folder(key), 'state.json')} is not format ${STATE_FORMAT} ` +
          `for key ${JSON.stringify(key)}`,
      );
    }
    return state;
  }

  private async writeState(key: string, state: StateFile<M>): Promise<void> {
    const folder = this.folder(key);
    const tmp = join(folder, `.state-${process.pid}-${++this.sequence}.tmp`);
    await writeFile(tmp, JSON.stringify(state));
    await rename(tmp, join(folder, 'state.json'));
  }

  private async writeSegment(key: string, table: Table): Promise<string> {
    const folder = this.folder(key);
    await mkdir(folder, { recursive: true });
    const name = `${Date.now().toString(36)}-${process.pid}-${++this.sequence}.arrow`;
    const tmp = join(folder, `.${name}.tmp`);
    await writeFile(tmp, toIPC(table));
    await rename(tmp, join(folder, name));
    return name;
  }

  /** Removes files of the folder that the state does not name (left by a crash). */
  private async sweep(key: string, keep: string[]): Promise<void> {
    const folder = this.folder(key);
    const wanted = new Set([...keep, 'state.json']);
    for (const name of await readdir(folder)) {
      if (!wanted.has(name) && !name.startsWith('.state-')) {
        await rm(join(folder, name), { force: true });
      }
    }
  }

  /** The stored rows and counters of a key, or null when none were stored. */
  load(key: string): Promise<StoredState<M> | null> {
    return this.serial(key, async () => {
      const state = await this.readState(key);
      if (!state) return null;
      const tables = await Promise.all(
        state.segments.map(async (s) => fromIPC(await readFile(join(this.folder(key), s)))),
      );
      return { table: tables.length > 0 ? concatTables(tables) : null, meta: state.meta };
    });
  }

  /** Adds rows to a key's state and replaces its counters. */
  append(key: string, rows: Table | null, meta: M): Promise<void> {
    return this.serial(key, async () => {
      const state = (await this.readState(key)) ?? {
        format: STATE_FORMAT,
        key,
        segments: [],
        meta,
      };
      if (rows && rows.numRows > 0) {
        if (state.segments.length + 1 >= MAX_SEGMENTS) {
          // Too many small files: fold them and the new rows into one.
          const tables = await Promise.all(
            state.segments.map(async (s) => fromIPC(await readFile(join(this.folder(key), s)))),
          );
          state.segments = [await this.writeSegment(key, concatTables([...tables, rows]))];
        } else {
          state.segments.push(await this.writeSegment(key, rows));
        }
      } else {
        await mkdir(this.folder(key), { recursive: true });
      }
      state.meta = meta;
      await this.writeState(key, state);
      await this.sweep(key, state.segments);
    });
  }

  /** Replaces a key's whole state (for example after a window was trimmed). */
  replace(key: string, table: Table | null, meta: M): Promise<void> {
    return this.serial(key, async () => {
      const segments = table && table.numRows > 0 ? [await this.writeSegment(key, table)] : [];
      await mkdir(this.folder(key), { recursive: true });
      await this.writeState(key, { format: STATE_FORMAT, key, segments, meta });
      await this.sweep(key, segments);
    });
  }

  /** Waits for every write started so far. */
  async flush(): Promise<void> {
    await Promise.all([...this.queues.values()]);
  }
}
