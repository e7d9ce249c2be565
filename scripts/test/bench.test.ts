/**
 * Small runs of `pnpm bench` and `pnpm eval`, so that both commands keep
 * working: every figure is printed with real values. Needs `pnpm build` and a
 * broker (scripts/test.sh provides both).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { kafkaBootstrap } from '../../packages/core/test/support/services';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

type Figure = Record<string, unknown> & { figure: string };

function lines(stdout: string): Figure[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Figure);
}

describe('scripts > bench', () => {
  it('prints training, scoring, model-only and Kafka figures as JSON lines', async () => {
    const servers = await kafkaBootstrap();
    const work = await mkdtemp(join(tmpdir(), 'dfp-bench-'));
    const { stdout } = await run(
      process.execPath,
      [
        join(ROOT, 'scripts/bench.mjs'),
        '--events=3000',
        '--users=4',
        '--epochs=2',
        '--scoring_days=3,6',
        '--partitions=2',
        '--batch_records=500',
        `--work=${work}`,
      ],
      { cwd: ROOT, env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS: servers }, timeout: 600_000 },
    );
    const figures = lines(stdout);
    const named = (name: string) => figures.filter((f) => f.figure === name);

    // The whole sample: 4 entities and the generic model; then each part alone.
    const [all] = named('training_all');
    expect(all).toMatchObject({ models_trained: 5, backend: expect.stringMatching(/wasm|cpu/) });
    // Every hyper-parameter is stated, defaults included.
    expect(all.model).toMatchObject({
      optimizer: 'adam',
      calibration: 'held_out',
      epochs: 2,
      encoderLayers: [512, 500],
    });
    expect(named('training_generic')[0]).toMatchObject({ models_trained: 1 });
    expect(named('training_individual')[0]).toMatchObject({ models_trained: 4 });
    // rows × epochs: every training row seen twice (2 epochs) by both kinds of model.
    expect(all.rows_x_epochs).toBeGreaterThan((all.rows as number) * 2);
    for (const f of [...named('training_all'), ...named('training_generic')]) {
      expect(f.value).toBeGreaterThan(0);
      expect(f.peak_rss_mb).toBeGreaterThan(50);
    }

    // One scoring figure per --scoring_days entry, each over its own days of logs.
    const [scoring, longer] = named('scoring_end_to_end');
    expect([scoring.days, longer.days]).toEqual([3, 6]);
    expect(longer.events).toBeGreaterThan(scoring.events as number);
    expect(scoring.events).toBeGreaterThan(100);
    expect(scoring).toMatchObject({ scored: scoring.events, dead_lettered: 0 });
    expect(scoring.scoring_engine).toBe('onnx');
    expect(scoring).toMatchObject({ z_cap: 5, models_trained_with: { epochs: 2 } });
    expect(scoring.value).toBeGreaterThan(0);

    const engines = named('scoring_model_only').map((f) => f.scoring_engine);
    expect(engines).toEqual(['onnx', 'tfjs']);

    const [kafka] = named('kafka_scoring_events_per_s');
    expect(kafka).toMatchObject({
      unit: 'events/s',
      events: 3000,
      scored: 3000,
      dead_lettered: 0,
      partitions: 2,
    });
    expect(kafka.value).toBeGreaterThan(0);
  }, 600_000);

  it('refuses an unknown figure or a bad number in one line, exit status 2', async () => {
    const failed = await run(process.execPath, [join(ROOT, 'scripts/bench.mjs'), '--only=gpu'], {
      cwd: ROOT,
    }).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown figure gpu/) });
    const days = await run(
      process.execPath,
      [join(ROOT, 'scripts/bench.mjs'), '--only=scoring', '--scoring_days=120,x'],
      { cwd: ROOT },
    ).catch((err: { code: number; stderr: string }) => err);
    expect(days).toMatchObject({
      code: 2,
      stderr: 'bench: --scoring_days must be whole numbers ≥ 1 separated by commas, got 120,x\n',
    });
  });
});

describe('scripts > eval', () => {
  it('prints detection quality per source beside the never-seen-before rule', async () => {
    const work = await mkdtemp(join(tmpdir(), 'dfp-eval-'));
    const full = join(work, 'full');
    const { stdout } = await run(
      process.execPath,
      [
        join(ROOT, 'scripts/eval.mjs'),
        '--sources=duo,cloudtrail',
        '--users=4',
        `--work=${work}`,
        `--full_scores=${full}`,
        '--',
        '--epochs=2',
        '--encoder_layers=32,16',
        '--decoder_layers=32',
      ],
      { cwd: ROOT, timeout: 600_000 },
    );
    const results = lines(stdout);
    expect(results.map((r) => r.source)).toEqual(['duo', 'cloudtrail']);
    for (const r of results) {
      const labels = readFileSync(
        join(work, 'data-u4-sdefault', 'labels', `${r.source}-labels.jsonl`),
        'utf8',
      )
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { label: string; kind?: string });
      const kinds = new Set(labels.filter((l) => l.label === 'anomaly').map((l) => l.kind));
      expect(r.rows).toBe(labels.length);
      const model = r.model as Record<string, unknown>;
      const rule = r.never_seen_before as Record<string, unknown>;
      expect(r.fpr_budget).toBe(0.02);
      for (const side of [model, rule]) {
        expect(side.roc_auc).toBeGreaterThan(0);
        expect(side.roc_auc).toBeLessThanOrEqual(1);
        expect(side.recall_at_fpr_budget).toBeGreaterThanOrEqual(0);
        expect(side.recall_at_fpr_budget).toBeLessThanOrEqual(1);
        expect(new Set(Object.keys(side.recall_by_kind as object))).toEqual(kinds);
      }
      // Full-scoring mode: one scored row per labelled row.
      const scores = readFileSync(join(full, `${r.source}-scores.jsonl`), 'utf8')
        .trim()
        .split('\n');
      expect(scores).toHaveLength(labels.length);
    }
  }, 600_000);

  it('recall at an alert budget: the best threshold whose false-positive rate fits', async () => {
    const module = pathToFileURL(join(ROOT, 'scripts/evaluate.mjs')).href;
    const snippet =
      `import { recallAtFpr } from ${JSON.stringify(module)};` +
      'const s = [5, 4, 3, 3, 2, 1], p = [true, false, true, false, true, false];' +
      'console.log(JSON.stringify([0, 1 / 3, 0.67, 1].map((b) => recallAtFpr(s, p, b))));';
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', snippet]);
    // Tied scores are flagged together: the 3s cost a false positive along with their hit.
    expect(JSON.parse(stdout)).toEqual([1 / 3, 1 / 3, 1, 1]);
  });

  it('refuses a bad option before it runs anything, exit status 2', async () => {
    const bad = [['--threshold=abc'], ['--sources=duo,okta'], ['--users=1'], ['--budget_fpr=2']];
    for (const args of bad) {
      const failed = await run(process.execPath, [join(ROOT, 'scripts/eval.mjs'), ...args], {
        cwd: ROOT,
      }).catch((err: { code: number; stderr: string }) => err);
      expect(failed).toMatchObject({ code: 2, stderr: expect.stringMatching(/^eval: .+\n$/) });
    }
  });
});
