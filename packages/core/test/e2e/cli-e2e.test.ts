/**
 * End to end through the compiled command line, as a user runs it: generated
 * Duo logs → train (worker threads) → score → detections, judged against the
 * generator's labels. Needs `pnpm build` first (scripts/test.sh does it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../../../..');
const CLI = join(ROOT, 'packages/core/dist/cli/main.js');

interface Labelled {
  id: string;
  label: 'normal' | 'anomaly';
  kind: string;
}

async function dfp(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function jsonl<T>(path: string): Promise<T[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

describe('e2e > dfp command line on generated Duo logs', () => {
  let dir: string;
  let data: string;
  let starterOut: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "pnpm build" first`);
    dir = await mkdtemp(join(tmpdir(), 'dfp-e2e-'));
    data = join(dir, 'data');
    await run(process.execPath, [
      join(ROOT, 'scripts/generate-sample-data.mjs'),
      '--out',
      data,
      '--sources',
      'duo',
      '--users',
      '10',
      '--seed',
      '7',
    ]);
    starterOut = await runStarter();
  }, 600_000);

  async function runStarter(): Promise<string> {
    const { stdout } = await dfp([
      '--source',
      'duo',
      '--train_users',
      'all',
      '--start_time',
      '2022-08-01',
      '-f',
      join(data, 'duo-training-data/*.json'),
      '--inference_file',
      join(data, 'duo-inference-data/*.json'),
      '--tracking_uri',
      `file:${join(dir, 'models')}`,
      '--cache_dir',
      join(dir, 'cache'),
      '--filter_threshold',
      '0',
      '--output',
      join(dir, 'all.jsonl'),
      '--log_level',
      'WARNING',
    ]);
    return stdout;
  }

  it('trains every entity and the generic model, and says so', () => {
    expect(starterOut).toContain('Training summary (duo)');
    expect(starterOut).toMatch(/models: 11 trained, 0 skipped, 0 failed/);
    expect(starterOut).toContain('trained generic model (all entities): DFP-duo-generic_user:1');
    expect(starterOut).toMatch(/scored: \d+ rows .*0 dead-lettered/);
  });

  it('ranks injected account takeovers and other anomalies above normal rows', async () => {
    const labels = new Map(
      (await jsonl<Labelled>(join(data, 'labels/duo-labels.jsonl'))).map((l) => [l.id, l]),
    );
    const rows = await jsonl<{ txid: string; mean_abs_z: number }>(join(dir, 'all.jsonl'));
    expect(rows).toHaveLength(labels.size);
    expect(rows.every((r) => Number.isFinite(r.mean_abs_z))).toBe(true);

    const normal = rows
      .filter((r) => labels.get(r.txid)?.label === 'normal')
      .map((r) => r.mean_abs_z);
    const takeovers = rows
      .filter((r) => labels.get(r.txid)?.kind === 'account_takeover')
      .map((r) => r.mean_abs_z);
    const anomalies = rows
      .filter((r) => labels.get(r.txid)?.label === 'anomaly')
      .map((r) => r.mean_abs_z);
    expect(takeovers.length).toBeGreaterThan(0);
    expect(quantile(takeovers, 0.5)).toBeGreaterThan(quantile(normal, 0.9));

    const { stdout } = await run(process.execPath, [
      join(ROOT, 'scripts/evaluate.mjs'),
      '--scores',
      join(dir, 'all.jsonl'),
      '--labels',
      join(data, 'labels/duo-labels.jsonl'),
    ]);
    const quality = JSON.parse(stdout) as {
      recall: number;
      falsePositiveRate: number;
      rocAuc: number;
    };
    // An untrained or broken model scores near AUC 0.5 and cannot pass these together.
    expect(quality.rocAuc).toBeGreaterThan(0.85);
    expect(quality.recall).toBeGreaterThan(0.7);
    expect(quality.falsePositiveRate).toBeLessThan(0.25);
    expect(anomalies.length).toBeGreaterThan(0);
  });

  it('reads the parsed batches from the cache on the second run', async () => {
    const again = await runStarter();
    expect(again).toMatch(/files: \d+ in 1 batch\(es\), 1 from cache/);
    // Same files, same window, same settings: nothing is retrained.
    expect(again).toMatch(/models: 0 trained, 11 skipped, 0 failed/);
    expect(again).toContain('already trained on this exact window (DFP-duo-generic_user:1)');
  });

  it('B15: writes the same detections under any TZ', async () => {
    const score = (tz: string, out: string) =>
      dfp(
        [
          '--source',
          'duo',
          '--train_users',
          'none',
          '-f',
          join(data, 'duo-inference-data/*.json'),
          '--tracking_uri',
          `file:${join(dir, 'models')}`,
          '--no_cache',
          '--output',
          join(dir, out),
          '--log_level',
          'ERROR',
        ],
        { TZ: tz },
      );
    await score('UTC', 'utc.csv');
    await score('America/Los_Angeles', 'la.csv');
    const strip = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((line) => line.replace(/,[^,]*$/, '')); // event_time is the last column
    const utc = strip(await readFile(join(dir, 'utc.csv'), 'utf8'));
    const la = strip(await readFile(join(dir, 'la.csv'), 'utf8'));
    expect(utc.length).toBeGreaterThan(1);
    expect(la).toEqual(utc);
    expect(utc[0].split(',')[0]).toBe('timestamp');
    expect(utc[1]).toMatch(/^2022-08-3\dT\d\d:\d\d:\d\d\.\d{3}Z,/);
  });

  it('explains every Morpheus option in --help and reads DFP_* variables', async () => {
    const { stdout } = await dfp(['--help']);
    for (const flag of [
      '--train_users',
      '--skip_user',
      '--only_user',
      '--start_time',
      '--duration',
      '--cache_dir',
      '--log_level',
      '--sample_rate_s',
      '--input_file',
      '--watch_inputs',
      '--watch_interval',
      '--tracking_uri',
      '--filter_threshold',
      '--source',
      '--output',
      '--inference_file',
    ]) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('DFP_CACHE_DIR');

    // An option given only through the environment takes effect.
    await expect(
      dfp(['--source', 'duo', '-f', join(data, 'duo-training-data')], {
        DFP_TRAIN_USERS: 'sometimes',
      }),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('sometimes') });
  });

  it('fails with exit 2 and a clear message on a bad option', async () => {
    await expect(
      dfp([
        '--source',
        'duo',
        '-f',
        join(data, 'duo-training-data'),
        '--skip_user',
        'a',
        '--only_user',
        'b',
      ]),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('cannot be combined with --only_user'),
    });
    await expect(dfp(['--source', 'nosuch.yaml', '-f', 'x'])).rejects.toMatchObject({ code: 2 });
    await expect(dfp(['--train_users', 'maybe', '-f', 'x'])).rejects.toMatchObject({ code: 2 });
    await expect(dfp(['--start_time'])).rejects.toMatchObject({ code: 2 });
    await expect(
      dfp(['-f', join(data, 'duo-training-data'), '--output', join(dir, 'x.txt')]),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('use .csv or .jsonl') });
  });

  it('exits 1 when rows could not be scored, e.g. with no model trained', async () => {
    await expect(
      dfp([
        '--train_users',
        'none',
        '-f',
        join(data, 'duo-inference-data'),
        '--tracking_uri',
        `file:${join(dir, 'empty-store')}`,
        '--output',
        join(dir, 'none.csv'),
        '--log_level',
        'ERROR',
      ]),
    ).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/scored: 0 rows .*, \d+ dead-lettered/),
    });
  });
});
