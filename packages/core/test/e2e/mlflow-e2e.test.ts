/**
 * Training and inference as separate processes that meet only in a real MLflow
 * server (an instance of this test's own, so it can be stopped mid-run).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger } from '../../src/logging';
import { initBackend } from '../../src/model';
import { Scorer } from '../../src/pipeline/infer';
import { MlflowClient } from '../../src/store/mlflow-client';
import { MlflowModelStore } from '../../src/store/mlflow-store';
import { testConfig } from '../pipeline/helpers';
import { ROOT, servicesDown, servicesUp } from '../support/services';

const run = promisify(execFile);
const CLI = join(ROOT, 'packages/core/dist/cli/main.js');

describe('e2e > training and inference through MLflow', () => {
  let dir: string;
  let data: string;
  let uri: string;
  let svc: string;

  const dfp = (args: string[]) =>
    run(process.execPath, [CLI, '--source', 'duo', '--log_level', 'ERROR', ...args], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });

  beforeAll(
    async () => {
      if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "pnpm build" first`);
      dir = await mkdtemp(join(tmpdir(), 'dfp-mlflow-e2e-'));
      data = join(dir, 'data');
      svc = join(dir, 'services');
      const [, services] = await Promise.all([
        run(process.execPath, [
          join(ROOT, 'scripts/generate-sample-data.mjs'),
          '--out',
          data,
          '--sources',
          'duo',
          '--users',
          '6',
          '--seed',
          '11',
        ]),
        servicesUp('mlflow', svc),
      ]);
      uri = services.MLFLOW_TRACKING_URI;
      const train = (store: string) =>
        dfp([
          '--train_users',
          'all',
          '-f',
          join(data, 'duo-training-data'),
          '--epochs',
          '4',
          '--tracking_uri',
          store,
          '--no_cache',
          '--output',
          join(dir, 'unused.csv'),
        ]);
      await train(`file:${join(dir, 'local-models')}`);
      await train(uri);
    },
    15 * 60 * 1000,
  );

  afterAll(async () => {
    await servicesDown('mlflow', svc);
  });

  it('registers each entity and generic_user, with tags and the champion alias', async () => {
    const client = new MlflowClient({ uri });
    const store = new MlflowModelStore(client);
    const names = await store.list();
    const local = (await readdir(join(dir, 'local-models', 'models'))).sort();
    expect(names).toEqual(local);
    expect(names).toContain('DFP-duo-generic_user');
    expect(names).toHaveLength(7);
    const res = await client.call<{
      registered_model: { aliases?: { alias: string; version: string }[] };
    }>('GET', 'registered-models/get', { query: { name: 'DFP-duo-generic_user' } });
    expect(res.registered_model.aliases).toEqual([{ alias: 'champion', version: '1' }]);
    const v = await store.latest('DFP-duo-generic_user');
    expect(v?.tags.count).toMatch(/^\d+$/);
    expect(Date.parse(v?.tags.start ?? '')).toBeLessThan(Date.parse(v?.tags.end ?? ''));
  });

  it('scores in another process exactly as with the local store', async () => {
    const score = async (store: string, out: string) => {
      await dfp([
        '--train_users',
        'none',
        '-f',
        join(data, 'duo-inference-data'),
        '--tracking_uri',
        store,
        '--filter_threshold',
        '0',
        '--no_cache',
        '--output',
        join(dir, out),
      ]);
      return (await readFile(join(dir, out), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => {
          const row = JSON.parse(l) as Record<string, unknown>;
          delete row.event_time;
          return row;
        });
    };
    const viaLocal = await score(`file:${join(dir, 'local-models')}`, 'local.jsonl');
    const viaMlflow = await score(uri, 'mlflow.jsonl');
    expect(viaLocal.length).toBeGreaterThan(100);
    expect(viaMlflow).toEqual(viaLocal);
  });

  it('loses no row when MLflow stops in the middle of inference', async () => {
    await initBackend();
    const store = new MlflowModelStore(
      new MlflowClient({ uri, deadlineMs: 2000, timeoutMs: 1000 }),
    );
    const config = testConfig(dir, {
      trainUsers: 'none',
      period: 'D',
      filterThreshold: 0,
      cacheDir: null,
      output: join(dir, 'stop.jsonl'),
      deadLetterFile: join(dir, 'stop-dead.jsonl'),
    });
    const scorer = new Scorer(config, { logger: silentLogger(), store });
    const files = (await readdir(join(data, 'duo-inference-data'))).sort();
    const days = [...new Set(files.map((f) => f.slice(4, 14)))];
    expect(days).toHaveLength(2);
    const ofDay = (day: string) =>
      files.filter((f) => f.slice(4, 14) === day).map((f) => join(data, 'duo-inference-data', f));

    await scorer.processFiles(ofDay(days[0]));
    const firstDay = scorer.report.scored;
    expect(firstDay).toBeGreaterThan(0);
    await servicesDown('mlflow', svc);
    await scorer.processFiles(ofDay(days[1]));
    scorer.close();

    const r = scorer.report;
    expect(r.rows).toBe(r.scored + r.deadLettered + r.duplicates);
    // Entities seen on the first day keep scoring with their cached models.
    expect(r.scored).toBeGreaterThan(firstDay);
  });
});
