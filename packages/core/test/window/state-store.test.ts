import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getNumbers, getStrings, makeTable, type Table } from '../../src/table';
import { DAY_MS, InferenceHistory, TrainingWindows } from '../../src/window/rolling-window';
import { EntityStateStore } from '../../src/window/state-store';
import { tempDir } from '../pipeline/helpers';

const T0 = Date.UTC(2022, 7, 28);

function rows(user: string, from: number, count: number): Table {
  const times = Array.from({ length: count }, (_, i) => T0 + (from + i) * 60_000);
  return makeTable([
    { name: 'username', type: 'string', values: times.map(() => user) },
    { name: 'timestamp', type: 'timestamp', values: times },
    { name: 'seq', type: 'int', values: times.map((_, i) => from + i) },
  ]);
}

describe('window > entity state store', () => {
  it('appends segments, replaces them, and reads back rows and counters', async () => {
    const store = new EntityStateStore<{ n: number }>(await tempDir('dfp-state-'));
    expect(await store.load('e:nobody')).toBeNull();
    await store.append('e:ana', rows('ana', 0, 3), { n: 3 });
    await store.append('e:ana', rows('ana', 3, 2), { n: 5 });
    await store.append('e:ana', null, { n: 6 });
    const loaded = await store.load('e:ana');
    expect(loaded?.meta).toEqual({ n: 6 });
    expect(Array.from(getNumbers(loaded!.table!, 'seq'))).toEqual([0, 1, 2, 3, 4]);

    await store.replace('e:ana', rows('ana', 10, 1), { n: 1 });
    const replaced = await store.load('e:ana');
    expect(Array.from(getNumbers(replaced!.table!, 'seq'))).toEqual([10]);
    // The replaced segments are gone from disk, not only from the state file.
    const folders = await readdir(store.dir);
    expect(folders).toHaveLength(1);
    const files = await readdir(join(store.dir, folders[0]));
    expect(files.filter((f) => f.endsWith('.arrow'))).toHaveLength(1);
  });

  it('applies writes to one key in call order, and folds many small segments', async () => {
    const store = new EntityStateStore<{ n: number }>(await tempDir('dfp-state-'));
    // Not awaited one by one: the store must still apply them in order.
    const writes = Array.from({ length: 40 }, (_, i) =>
      store.append('e:bo', rows('bo', i, 1), { n: i + 1 }),
    );
    await Promise.all(writes);
    const loaded = await store.load('e:bo');
    expect(loaded?.meta.n).toBe(40);
    expect(Array.from(getNumbers(loaded!.table!, 'seq'))).toEqual(
      Array.from({ length: 40 }, (_, i) => i),
    );
    const [folder] = await readdir(store.dir);
    const segments = (await readdir(join(store.dir, folder))).filter((f) => f.endsWith('.arrow'));
    expect(segments.length).toBeLessThan(32);
  });

  it('ignores a segment left by a crash before the state named it', async () => {
    const store = new EntityStateStore<{ n: number }>(await tempDir('dfp-state-'));
    await store.append('e:cy', rows('cy', 0, 2), { n: 2 });
    const [folder] = await readdir(store.dir);
    await writeFile(join(store.dir, folder, 'orphan.arrow'), 'half-written');
    const loaded = await store.load('e:cy');
    expect(loaded?.table?.numRows).toBe(2);
    await store.append('e:cy', rows('cy', 2, 1), { n: 3 });
    expect(await readdir(join(store.dir, folder))).not.toContain('orphan.arrow');
  });

  it('says which file is wrong when a state file is not its own', async () => {
    const store = new EntityStateStore(await tempDir('dfp-state-'));
    await store.append('e:di', rows('di', 0, 1), {});
    const [folder] = await readdir(store.dir);
    await writeFile(
      join(store.dir, folder, 'state.json'),
      JSON.stringify({ format: 1, key: 'e:someone-else', segments: [], meta: {} }),
    );
    await expect(store.load('e:di')).rejects.toThrow(/state\.json.*e:di/);
  });
});

describe('window > state across restarts', () => {
  it('a restored training window resumes its counts and does not count re-read rows', () => {
    const options = {
      timestampColumn: 'timestamp',
      minHistory: 5,
      minIncrement: 4,
      maxHistoryMs: 60 * DAY_MS,
    };
    const first = new TrainingWindows(options);
    first.add('k', rows('ana', 0, 6));
    const peeked = first.peek('k');
    expect(peeked.ready).toBe(true);
    // Trained only once marked: a second peek still sees the window as due.
    expect(first.peek('k').ready).toBe(true);
    first.markTrained('k', peeked.count);
    expect(first.peek('k').ready).toBe(false);
    first.add('k', rows('ana', 6, 2));
    const saved = first.exportState('k')!;
    expect(saved.meta).toEqual({ totalCount: 8, lastTrainCount: 6, earliestNew: T0 + 6 * 60_000 });

    const second = new TrainingWindows(options);
    second.restore('k', saved.table, saved.meta);
    // The last two rows read again after a crash are repeats, not new rows.
    expect(second.add('k', rows('ana', 6, 2))).toMatchObject({ newRows: 0, duplicates: 2 });
    expect(second.peek('k')).toMatchObject({ ready: false, reason: /only 2 new rows/ });
    second.add('k', rows('ana', 8, 2));
    const due = second.peek('k');
    expect(due).toMatchObject({ ready: true, count: 10 });
    // Rows that arrive while the model trains keep the entity due for the next round.
    second.add('k', rows('ana', 10, 1));
    second.markTrained('k', due.count);
    expect(second.exportState('k')!.meta).toMatchObject({
      lastTrainCount: 10,
      earliestNew: T0 + 6 * 60_000,
    });
  });

  it('a restored inference history gives the same derived rows as an unbroken one', () => {
    const unbroken = new InferenceHistory('timestamp');
    unbroken.prepare('k', rows('ana', 0, 5));
    const expected = unbroken.prepare('k', rows('ana', 5, 3));

    const before = new InferenceHistory('timestamp');
    before.prepare('k', rows('ana', 0, 5));
    const after = new InferenceHistory('timestamp');
    after.restore('k', before.rowsOf('k'));
    const got = after.prepare('k', rows('ana', 5, 3));
    expect(Array.from(got.isNew)).toEqual(Array.from(expected.isNew));
    expect(getStrings(got.table, 'username')).toEqual(getStrings(expected.table, 'username'));
    expect(Array.from(getNumbers(got.table, 'seq'))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('rolls the inference history back to a checkpoint', () => {
    const history = new InferenceHistory('timestamp');
    history.prepare('k', rows('ana', 0, 2));
    const saved = history.checkpoint();
    expect(history.prepare('k', rows('ana', 2, 2)).duplicates).toBe(0);
    history.rollback(saved);
    // After the rollback the same rows are new again, not repeats.
    const again = history.prepare('k', rows('ana', 2, 2));
    expect(again.duplicates).toBe(0);
    expect(Array.from(again.isNew)).toEqual([0, 0, 1, 1]);
  });
});
