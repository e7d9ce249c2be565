import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelName } from '../../src/entities/names';
import { runInference } from '../../src/pipeline/infer';
import { runTraining } from '../../src/pipeline/train';
import { registerCustomColumn } from '../../src/schema/engine';
import { LocalModelStore } from '../../src/store/local-store';
import { getBuiltinSource } from '../../src/schema/builtin';
import type { SourceDefinition } from '../../src/schema/types';
import {
  HOUR,
  duoHistory,
  duoRecord,
  tempDir,
  testConfig,
  testContext,
  writeDuoFile,
} from './helpers';

const AUG1 = Date.UTC(2022, 7, 1);
const AUG30 = Date.UTC(2022, 7, 30);

async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** One file per day, as Morpheus names them. */
async function writeDays(dir: string, records: Record<string, unknown>[]): Promise<void> {
  const byDay = new Map<string, unknown[]>();
  for (const r of records) {
    const day = new Date((r.timestamp as number) * 1000).toISOString().slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), r]);
  }
  for (const [day, list] of byDay) await writeDuoFile(dir, day, list);
}

describe('pipeline > training and inference', () => {
  it('B07: scores each entity with its own model, however odd its id', async () => {
    const dir = await tempDir();
    const users = [
      'dana.lee@example.com',
      'dana_dot_lee@example.com',
      'ops/build:bot',
      'Eve Example ',
    ];
    await writeDays(join(dir, 'train'), duoHistory(users, AUG1, 320, 20));
    const config = testConfig(dir, { inputs: [join(dir, 'train')] });
    const ctx = await testContext(dir);

    const training = await runTraining(config, ctx);
    expect(training.entities.map((e) => [e.entity, e.status])).toEqual([
      [null, 'trained'],
      ['Eve Example ', 'trained'],
      ['dana.lee@example.com', 'trained'],
      ['dana_dot_lee@example.com', 'trained'],
      ['ops/build:bot', 'trained'],
    ]);
    expect((await ctx.store.list()).sort()).toEqual(
      [null, ...users].map((u) => modelName('duo', u)).sort(),
    );

    const infer = [0, 1, 2].map((i) => duoRecord('dana.lee@example.com', AUG30 + i * HOUR));
    await writeDuoFile(join(dir, 'infer'), '2022-08-30', infer);
    const scoring = await runInference({ ...config, trainUsers: 'none', filterThreshold: 0 }, ctx, [
      join(dir, 'infer'),
    ]);
    expect(scoring.scored).toBe(3);
    const rows = await readJsonl(config.output);
    expect(rows.map((r) => r.model_version)).toEqual(
      Array(3).fill('DFP-duo-dana_2elee_40example_2ecom:1'),
    );
    expect(rows.every((r) => r.model_fallback_reason === null)).toBe(true);
  });

  it('B02: a failing entity is reported, the others train, its rows use generic', async () => {
    const dir = await tempDir();
    let faultActive = true;
    registerCustomColumn('b02_fault', (ctx) => {
      const users = ctx.values('username');
      const distinct = new Set(users);
      if (faultActive && distinct.size === 1 && distinct.has('dave@example.com')) {
        throw new Error('injected trainer fault for dave');
      }
      return ctx.values('logcount_raw') as number[];
    });
    const source: SourceDefinition = {
      name: 'numeric',
      entityColumn: 'username',
      timestampColumn: 'timestamp',
      features: ['logcount', 'locincrement'],
      input: {
        columns: [
          { name: 'timestamp', kind: 'datetime', input: 'isotimestamp' },
          { name: 'username', kind: 'rename', type: 'string', input: 'user.name' },
          {
            name: 'location',
            kind: 'string_cat',
            inputs: ['access_device.location.city', 'access_device.location.country'],
            separator: ', ',
          },
        ],
      },
      preprocess: {
        columns: [
          { name: 'logcount_raw', kind: 'increment', input: 'timestamp', groupBy: 'username' },
          {
            name: 'locincrement',
            kind: 'distinct_increment',
            input: 'location',
            groupBy: 'username',
            timestampColumn: 'timestamp',
          },
        ],
      },
    };
    // The fault needs logcount_raw first; a second preprocess pass reads it.
    source.preprocess.columns.push({
      name: 'logcount',
      kind: 'custom',
      type: 'float',
      function: 'b02_fault',
      inputs: ['username', 'logcount_raw'],
    });
    const users = ['carol@example.com', 'dave@example.com', 'svc-backup@example.com'];
    await writeDays(join(dir, 'train'), duoHistory(users, AUG1, 350, 20));
    const config = testConfig(dir, {
      source,
      inputs: [join(dir, 'train')],
      model: {
        encoderLayers: [16, 8],
        decoderLayers: [16],
        epochs: 4,
        validationSize: 0,
      },
    });
    const ctx = await testContext(dir);

    const report = await runTraining(config, ctx);
    const status = Object.fromEntries(report.entities.map((e) => [e.entity ?? 'generic', e]));
    expect(status['carol@example.com'].status).toBe('trained');
    expect(status['svc-backup@example.com'].status).toBe('trained');
    expect(status['dave@example.com']).toMatchObject({ status: 'failed' });
    expect(status['dave@example.com'].reason).toContain('injected trainer fault for dave');
    expect(status['carol@example.com'].finalLoss).toBeGreaterThan(0);
    expect(Number.isFinite(status['carol@example.com'].finalLoss)).toBe(true);
    expect(status.generic.status).toBe('trained');

    const inferFile = await writeDuoFile(join(dir, 'infer'), '2022-08-30', [
      duoRecord('carol@example.com', AUG30),
      duoRecord('dave@example.com', AUG30 + HOUR),
    ]);
    // The same fault while scoring costs dave's rows a dead letter, not the run.
    const faulty = await runInference(
      { ...config, trainUsers: 'none', output: join(dir, 'faulty.jsonl') },
      ctx,
      [inferFile],
    );
    expect(faulty).toMatchObject({ scored: 1, deadLettered: 1 });
    expect(await readFile(config.deadLetterFile, 'utf8')).toContain(
      'preprocessing failed: injected trainer fault for dave',
    );

    faultActive = false;
    const out = await runInference({ ...config, trainUsers: 'none', filterThreshold: 0 }, ctx, [
      inferFile,
    ]);
    expect(out).toMatchObject({ scored: 2, deadLettered: 0 });
    const rows = await readJsonl(config.output);
    const dave = rows.find((r) => r.username === 'dave@example.com');
    expect(dave?.model_version).toBe('DFP-numeric-generic_user:1');
    expect(dave?.model_fallback_reason).toBe('no model DFP-numeric-dave_40example_2ecom');
    expect(rows.find((r) => r.username === 'carol@example.com')?.model_version).toBe(
      'DFP-numeric-carol_40example_2ecom:1',
    );
  });

  it('B09/B20: rows no model can score are dead-lettered with the reason', async () => {
    const dir = await tempDir();
    const config = testConfig(dir, { trainUsers: 'none' });
    const ctx = await testContext(dir);
    const file = await writeDuoFile(join(dir, 'infer'), '2022-08-30', [
      duoRecord('sam@example.com', AUG30),
      duoRecord('sam@example.com', AUG30 + HOUR),
    ]);
    const report = await runInference(config, ctx, [file]);
    expect(report).toMatchObject({ rows: 2, scored: 0, deadLettered: 2, detections: 0 });
    const dead = await readJsonl(config.deadLetterFile);
    expect(dead).toHaveLength(2);
    expect(dead[0]).toMatchObject({
      entity: 'sam@example.com',
      reason:
        'no model for entity sam@example.com and no fallback generic_user (DFP-duo-generic_user)',
    });
    expect(dead[0].row).toMatchObject({
      txid: `sam@example.com-${AUG30}`,
      origin_source: file,
      origin_record: 0,
    });
  });
});

describe('pipeline > model versions', () => {
  it('B18: a run over many daily files trains each entity once, on all of them', async () => {
    const dir = await tempDir();
    await writeDays(join(dir, 'train'), duoHistory(['rita@example.com'], AUG1, 1200, 6));
    const config = testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'individual' });
    const ctx = await testContext(dir);
    const report = await runTraining(config, ctx);
    expect(report.batches).toBe(6);
    expect(report.entities).toEqual([
      expect.objectContaining({ entity: 'rita@example.com', status: 'trained', rows: 1200 }),
    ]);
    const versions = await ctx.store.versions('DFP-duo-rita_40example_2ecom');
    expect(versions.map((v) => [v.version, v.tags.count])).toEqual([[1, '1200']]);
    expect(versions[0].tags.start).toBe('2022-08-01T00:00:16.000Z');

    // The same files again: the same window, so no new version.
    const again = await runTraining(config, ctx);
    expect(again.entities).toEqual([
      expect.objectContaining({
        status: 'skipped',
        reason: 'already trained on this exact window (DFP-duo-rita_40example_2ecom:1)',
      }),
    ]);
    expect(await ctx.store.versions('DFP-duo-rita_40example_2ecom')).toHaveLength(1);

    // A new run starts new windows: 299 rows are too few for a model of their own.
    await writeDays(
      join(dir, 'more'),
      duoHistory(['rita@example.com'], Date.UTC(2022, 7, 10), 299, 1),
    );
    await runTraining({ ...config, inputs: [join(dir, 'more')] }, ctx);
    expect(await ctx.store.versions('DFP-duo-rita_40example_2ecom')).toHaveLength(1);
  });
});

describe('pipeline > model store failures', () => {
  it('B08: a model the store cannot register is spooled and the failure reported', async () => {
    const dir = await tempDir();
    await writeDays(join(dir, 'train'), duoHistory(['uma@example.com'], AUG1, 300, 3));
    const config = testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'individual' });
    const ctx = await testContext(dir);
    const spool = new LocalModelStore(join(dir, 'spool'));
    const refusing = {
      ...ctx.store,
      uri: 'http://mlflow.invalid:5000',
      latest: async () => null,
      register: async () => {
        throw new Error('MLflow registered-models/create: 503 TEMPORARILY_UNAVAILABLE');
      },
    };
    const report = await runTraining(config, { ...ctx, store: refusing, spool });
    expect(report.entities).toEqual([
      expect.objectContaining({
        entity: 'uma@example.com',
        status: 'failed',
        reason: expect.stringContaining(
          `503 TEMPORARILY_UNAVAILABLE); the model is kept in ${spool.uri} as ` +
            'DFP-duo-uma_40example_2ecom:1',
        ),
      }),
    ]);
    expect((await spool.latest('DFP-duo-uma_40example_2ecom'))?.tags.count).toBe('300');
  });
});

describe('pipeline > inputs and accounting', () => {
  it('reads every batch from the Arrow cache on a second run and parses nothing', async () => {
    const dir = await tempDir();
    await writeDays(join(dir, 'train'), duoHistory(['alice@example.com'], AUG1, 120, 3));
    const config = testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'generic' });
    const ctx = await testContext(dir);
    const first = await runTraining(config, ctx);
    expect(first).toMatchObject({ batches: 3, cachedBatches: 0, rows: 120 });
    const second = await runTraining(config, ctx);
    expect(second).toMatchObject({ batches: 3, cachedBatches: 3, rows: 120 });

    // A changed file is parsed again; the others still come from the cache.
    const files = (await readdir(join(dir, 'train'))).sort();
    const changed = join(dir, 'train', files[0]);
    const records = JSON.parse(await readFile(changed, 'utf8')) as unknown[];
    await writeFile(changed, JSON.stringify(records.slice(1)));
    const third = await runTraining(config, ctx);
    expect(third).toMatchObject({ batches: 3, cachedBatches: 2, rows: 119 });
  });

  it('writes rejects with file, index, field and reason, counts them, and goes on', async () => {
    const dir = await tempDir();
    const good = duoHistory(['alice@example.com'], AUG1, 5, 1);
    const noUser = { ...duoRecord('x', AUG1 + HOUR), user: {} };
    const badTime = {
      ...duoRecord('bob@example.com', AUG1),
      isotimestamp: 'yesterday',
      timestamp: 'soon',
    };
    const file = await writeDuoFile(join(dir, 'in'), '2022-08-01', [...good, noUser, badTime]);
    const config = testConfig(dir, { inputs: [file], trainUsers: 'generic' });
    const report = await runTraining(config, await testContext(dir));
    expect(report).toMatchObject({ records: 7, rows: 5, rejected: 2 });
    const rejects = await readJsonl(config.rejectsFile);
    expect(rejects.map((r) => [r.source, r.index, r.field])).toEqual([
      [file, 5, 'username'],
      [file, 6, 'timestamp'],
    ]);
    expect(
      rejects.every((r) => typeof r.reason === 'string' && (r.reason as string).length > 0),
    ).toBe(true);
  });

  it('B20: [] succeeds with no rows; a zero-byte file is named and skipped', async () => {
    const dir = await tempDir();
    const empty = await writeDuoFile(join(dir, 'in'), '2022-08-01', []);
    const zero = join(dir, 'in', 'DUO_2022-08-02T00_00_00.000Z.json');
    await writeFile(zero, '');
    const config = testConfig(dir, { inputs: [join(dir, 'in')], trainUsers: 'none' });
    const report = await runInference(config, await testContext(dir));
    expect(report).toMatchObject({ files: 2, records: 0, rows: 0, scored: 0, detections: 0 });
    expect(report.emptyFiles).toEqual([{ path: zero, reason: `empty file ${zero}` }]);
    expect(report.failedFiles).toEqual([]);
    expect(empty).toBeTruthy();
  });

  it('reports an unparseable file in the summary and rejects file, and goes on', async () => {
    const dir = await tempDir();
    const good = await writeDuoFile(
      join(dir, 'in'),
      '2022-08-01',
      duoHistory(['al@example.com'], AUG1, 3, 1),
    );
    const broken = join(dir, 'in', 'DUO_2022-08-02T00_00_00.000Z.json');
    await writeFile(broken, '[{"txid": "a"}, {"txid": ');
    const config = testConfig(dir, { inputs: [join(dir, 'in')], trainUsers: 'generic' });
    const report = await runTraining(config, await testContext(dir));
    expect(report).toMatchObject({ files: 2, rows: 3 });
    expect(report.failedFiles).toEqual([{ path: broken, reason: expect.stringContaining(broken) }]);
    const rejects = await readJsonl(config.rejectsFile);
    expect(rejects).toEqual([
      expect.objectContaining({ source: broken, index: null, field: null }),
    ]);
    expect(good).toBeTruthy();
  });

  it('B20: a day of normal rows gives zero detections and writes no empty output', async () => {
    const dir = await tempDir();
    await writeDays(join(dir, 'train'), duoHistory(['sam@example.com'], AUG1, 300, 10));
    const config = testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'generic' });
    const ctx = await testContext(dir);
    await runTraining(config, ctx);
    const file = await writeDuoFile(
      join(dir, 'infer'),
      '2022-08-30',
      duoHistory(['sam@example.com'], AUG30, 25, 1),
    );
    const report = await runInference(
      { ...config, trainUsers: 'none', filterThreshold: 1e9 },
      ctx,
      [file],
    );
    expect(report).toMatchObject({ rows: 25, scored: 25, deadLettered: 0, detections: 0 });
    await expect(readFile(config.output)).rejects.toThrow(/ENOENT/);
  });

  it('gives an event one detection_id wherever it was read, even without ids', async () => {
    const dir = await tempDir();
    const source = { ...getBuiltinSource('duo'), eventIdColumn: undefined };
    await writeDays(join(dir, 'train'), duoHistory(['ann@example.com'], AUG1, 300, 10));
    const config = testConfig(dir, { source, inputs: [join(dir, 'train')], trainUsers: 'generic' });
    const ctx = await testContext(dir);
    await runTraining(config, ctx);
    const rows = duoHistory(['ann@example.com'], AUG30, 5, 1);
    const ids = [];
    for (const name of ['a', 'b']) {
      const file = await writeDuoFile(join(dir, name), '2022-08-30', rows);
      const output = join(dir, `${name}.jsonl`);
      await runInference({ ...config, trainUsers: 'none', filterThreshold: 0, output }, ctx, [
        file,
      ]);
      ids.push((await readJsonl(output)).map((r) => [r.detection_id, r.origin_source]));
    }
    expect(ids[0].map(([id]) => id)).toEqual(ids[1].map(([id]) => id));
    expect(ids[0][0][1]).not.toBe(ids[1][0][1]);
    expect(String(ids[0][0][0])).toMatch(/^duo:[0-9a-f]+$/);
  });

  it('scores each row exactly once across daily batches that share history', async () => {
    const dir = await tempDir();
    await writeDays(join(dir, 'train'), duoHistory(['ann@example.com'], AUG1, 300, 10));
    const config = testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'generic' });
    const ctx = await testContext(dir);
    await runTraining(config, ctx);
    // Two days, the second starting mid-day after late rows of the first.
    const rows = duoHistory(['ann@example.com'], AUG30, 40, 2);
    await writeDays(join(dir, 'infer'), rows);
    const report = await runInference({ ...config, trainUsers: 'none', filterThreshold: 0 }, ctx, [
      join(dir, 'infer'),
    ]);
    expect(report).toMatchObject({ batches: 2, rows: 40, scored: 40, detections: 40 });
    const out = await readJsonl(config.output);
    expect(new Set(out.map((r) => r.detection_id)).size).toBe(40);
    // logcount restarts each UTC day and counts the day's earlier rows.
    const day2 = out.filter((r) => String(r.timestamp).startsWith('2022-08-31'));
    expect(day2.map((r) => r.logcount)).toEqual(day2.map((_, i) => i));
  });
});
