/**
 * Watching local inputs: a file still being written waits for a later poll, a
 * failing file is retried and then given up (and recorded), and a restarted
 * watcher skips what its ledger says was processed.
 */
import { utimes, writeFile, appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WatchLedger, watchInputs } from '../../src/pipeline/watch';
import { until } from '../support/until';
import { tempDir } from './helpers';

describe('pipeline > watch', () => {
  it('defers a changing file, retries a failing one, and resumes from its ledger', async () => {
    const dir = await tempDir('dfp-watch-');
    const ledgerPath = join(dir, 'cache', 'ledger.jsonl');
    const old = new Date(Date.now() - 60_000);
    const done = join(dir, 'DUO_2022-08-30T00_00_00.000Z.json');
    const bad = join(dir, 'DUO_2022-08-30T01_00_00.000Z.json');
    const growing = join(dir, 'DUO_2022-08-30T02_00_00.000Z.json');
    await writeFile(done, '[]');
    await writeFile(bad, '[{"broken"');
    await utimes(done, old, old);
    await utimes(bad, old, old);
    await writeFile(growing, '[{"a":');

    const handed: string[][] = [];
    const stop = new AbortController();
    const running = watchInputs(
      [join(dir, '*.json')],
      { intervalMs: 100, ledger: new WatchLedger(ledgerPath), settleMs: 60_000, maxAttempts: 3 },
      async (paths) => {
        handed.push(paths);
        return { failed: paths.filter((p) => p === bad) };
      },
      stop.signal,
    );
    // The first poll takes the settled files; the growing one changes before the next poll.
    await until(() => handed.length >= 1, 'the first poll');
    await appendFile(growing, '1}]');
    await until(() => handed.flat().includes(growing), 'the grown file');
    await until(() => handed.flat().filter((p) => p === bad).length >= 3, 'three attempts');
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    const stats = await running;

    expect(handed[0].sort()).toEqual([done, bad].sort());
    expect(handed.flat().filter((p) => p === done)).toHaveLength(1);
    expect(handed.flat().filter((p) => p === growing)).toHaveLength(1);
    expect(handed.flat().filter((p) => p === bad)).toHaveLength(3);
    expect(stats).toMatchObject({ processed: 2, retried: 2, givenUp: 1 });
    expect(stats.deferred).toBeGreaterThanOrEqual(1);
    const ledger = (await readFile(ledgerPath, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(ledger.map((e) => [e.path, e.status ?? 'ok']).sort()).toEqual(
      [
        [done, 'ok'],
        [growing, 'ok'],
        [bad, 'failed'],
      ].sort(),
    );

    // A restarted watcher hands over only what is new.
    const fresh = join(dir, 'DUO_2022-08-29T00_00_00.000Z.json');
    await writeFile(fresh, '[]');
    await utimes(fresh, old, old);
    const again: string[] = [];
    const stop2 = new AbortController();
    const second = watchInputs(
      [join(dir, '*.json')],
      { intervalMs: 100, ledger: new WatchLedger(ledgerPath), settleMs: 60_000 },
      async (paths) => {
        again.push(...paths);
        return { failed: [] };
      },
      stop2.signal,
    );
    await until(() => again.length >= 1, 'the new file');
    await new Promise((r) => setTimeout(r, 300));
    stop2.abort();
    const stats2 = await second;
    expect(again).toEqual([fresh]);
    // Dated before the files the first run processed: a late file, counted.
    expect(stats2).toMatchObject({ processed: 1, late: 1 });
  });
});
