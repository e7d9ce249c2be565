/**
 * Watching local inputs: a file still being written waits for a later poll, a
 * failing file is retried and then given up (and recorded), and a restarted
 * watcher skips what its ledger says was processed.
 */
import { appendFile, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DfpError, ErrorCodes } from '../../src/errors';
import { emptyReport } from '../../src/pipeline/report';
import { WatchLedger, runWatch, watchInputs } from '../../src/pipeline/watch';
import { until } from '../support/until';
import { tempDir, testConfig, testContext } from './helpers';

/** Watchers still running when a test fails are stopped, so the run ends. */
const controllers: AbortController[] = [];
function controller(): AbortController {
  const c = new AbortController();
  controllers.push(c);
  return c;
}
afterEach(() => {
  for (const c of controllers.splice(0)) c.abort();
});

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

  it('a poll whose processing fails is tried again, never taken for processed', async () => {
    const dir = await tempDir('dfp-watch-fail-');
    const old = new Date(Date.now() - 60_000);
    const files = ['DUO_2022-08-30T00_00_00.000Z.json', 'DUO_2022-08-31T00_00_00.000Z.json'];
    for (const name of files) {
      await writeFile(join(dir, name), '[]');
      await utimes(join(dir, name), old, old);
    }
    const config = testConfig(dir, { inputs: [join(dir, '*.json')], watchIntervalMs: 100 });
    const calls: string[][] = [];
    // The first poll fails after reading (its output could not be written); the second works.
    const worker = {
      report: emptyReport('inference', 'duo'),
      async processFiles(paths: string[]) {
        calls.push(paths);
        if (calls.length === 1) throw new Error('S3 PutObject: 503 after the deadline');
      },
    };
    const stop = controller();
    const running = runWatch(
      config,
      worker,
      'inference',
      stop.signal,
      (await testContext(dir)).logger,
    );
    await until(() => calls.length >= 2, 'a second poll', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    const report = await running;

    expect(calls).toHaveLength(2);
    expect(calls[1].sort()).toEqual(calls[0].sort());
    expect(report.watch).toMatchObject({ processed: 2, retried: 2, givenUp: 0 });

    // A poll that fails every time is given up after the attempts and recorded as failed.
    const always = {
      report: emptyReport('inference', 'duo'),
      async processFiles() {
        throw new Error('state folder not writable');
      },
    };
    const config2 = { ...config, cacheDir: join(dir, 'cache2') };
    const stop2 = controller();
    const logger = (await testContext(dir)).logger;
    const running2 = runWatch(config2, always, 'inference', stop2.signal, logger);
    await until(async () => (await ledgerLines(config2.cacheDir)).length >= 2, 'given up', 20_000);
    stop2.abort();
    const report2 = await running2;
    expect(report2.watch).toMatchObject({ processed: 0, retried: 4, givenUp: 2 });
    expect((await ledgerLines(config2.cacheDir)).map((e) => e.status)).toEqual([
      'failed',
      'failed',
    ]);

    // Files outside the time window are not used, and not tried again on every poll.
    let outside = 0;
    const windowed = {
      report: emptyReport('inference', 'duo'),
      async processFiles() {
        outside += 1;
        throw new DfpError(ErrorCodes.INPUT_NO_FILES, 'none of the 2 input files falls in');
      },
    };
    const stop3 = controller();
    const config3 = { ...config, cacheDir: join(dir, 'cache3') };
    const running3 = runWatch(config3, windowed, 'inference', stop3.signal, logger);
    await new Promise((r) => setTimeout(r, 500));
    stop3.abort();
    await running3;
    expect(outside).toBe(1);
  });
});

async function ledgerLines(cacheDir: string | null): Promise<{ status?: string }[]> {
  const folder = join(cacheDir as string, 'watch');
  const names = await readdir(folder).catch(() => [] as string[]);
  const lines: { status?: string }[] = [];
  for (const name of names) {
    const text = await readFile(join(folder, name), 'utf8');
    for (const l of text.split('\n')) if (l.trim()) lines.push(JSON.parse(l));
  }
  return lines;
}
