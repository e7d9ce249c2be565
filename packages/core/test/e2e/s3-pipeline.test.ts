/**
 * The pipeline over a real S3-compatible server: training from a prefix of
 * more than 1,000 objects, scoring from another with detections written to a
 * bucket by day, the same results as the same files read locally, and a
 * watcher restarted mid-way processing every object exactly once.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { PipelineConfig } from '../../src/pipeline/config';
import { Scorer, runInference } from '../../src/pipeline/infer';
import { type PipelineContext, runTraining } from '../../src/pipeline/train';
import { runWatch } from '../../src/pipeline/watch';
import { readRecords } from '../../src/sources/files';
import { S3Objects } from '../../src/sources/s3';
import { LocalModelStore } from '../../src/store/local-store';
import { until } from '../support/until';
import { tempDir, testConfig, testContext } from '../pipeline/helpers';
import { s3Server, uniqueSuffix } from '../support/services';

const ROOT = resolve(__dirname, '../../../..');
type Row = Record<string, unknown>;

async function put(objects: S3Objects, bucket: string, files: { key: string; body: string }[]) {
  for (let i = 0; i < files.length; i += 32) {
    await Promise.all(
      files
        .slice(i, i + 32)
        .map((f) =>
          objects.client.send(new PutObjectCommand({ Bucket: bucket, Key: f.key, Body: f.body })),
        ),
    );
  }
}

function jsonl(text: string): Row[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Row);
}

describe('e2e > pipeline over S3', () => {
  let dir: string;
  let data: string;
  let objects: S3Objects;
  let bucket: string;
  let endpoint: string;
  let ctx: PipelineContext;
  let base: PipelineConfig;
  let inferenceFiles: string[];

  beforeAll(async () => {
    endpoint = (await s3Server()).AWS_ENDPOINT_URL;
    objects = new S3Objects({ endpoint });
    bucket = `dfp-pipe-${uniqueSuffix()}`;
    await objects.client.send(new CreateBucketCommand({ Bucket: bucket }));
    dir = await tempDir('dfp-s3-pipe-');
    data = join(dir, 'data');
    execFileSync(process.execPath, [
      join(ROOT, 'scripts/generate-sample-data.mjs'),
      '--out',
      data,
      '--sources',
      'duo',
      '--users',
      '6',
      '--seed',
      '7',
    ]);
    ctx = await testContext(dir);
    base = testConfig(dir, { s3: { endpoint } });
    const inferDir = join(data, 'duo-inference-data');
    inferenceFiles = (await readdir(inferDir)).sort().map((f) => join(inferDir, f));
  }, 120_000);
  afterAll(() => objects?.destroy());

  it('trains from 1,000+ objects and scores to a bucket, as the same local files do', async () => {
    // The month of training logs, cut into objects of two records each.
    const trainDir = join(data, 'duo-training-data');
    const records: Row[] = [];
    for (const f of (await readdir(trainDir)).sort()) {
      records.push(...((await readRecords(join(trainDir, f))).records as Row[]));
    }
    records.sort((a, b) => String(a.isotimestamp).localeCompare(String(b.isotimestamp)));
    const pieces: { key: string; body: string }[] = [];
    for (let i = 0; i < records.length; i += 2) {
      const stamp = String(records[i].isotimestamp).slice(0, 23).replace(/:/g, '_');
      const name = `DUO_${stamp}Z-${String(i).padStart(5, '0')}.json`;
      pieces.push({ key: `train/${name}`, body: JSON.stringify(records.slice(i, i + 2)) });
    }
    expect(pieces.length).toBeGreaterThan(1000);
    const localTrain = join(dir, 'local-train');
    await mkdir(localTrain, { recursive: true });
    for (const p of pieces) await writeFile(join(localTrain, basename(p.key)), p.body);
    await put(objects, bucket, pieces);
    await put(
      objects,
      bucket,
      await Promise.all(
        inferenceFiles.map(async (f) => ({
          key: `infer/${basename(f)}`,
          body: await readFile(f, 'utf8'),
        })),
      ),
    );

    const fromS3 = await runTraining(
      { ...base, inputs: [`s3://${bucket}/train/*.json`], cacheDir: join(dir, 'cache-s3') },
      ctx,
    );
    const localCtx = { ...ctx, store: new LocalModelStore(join(dir, 'models-local')) };
    const fromFiles = await runTraining(
      { ...base, inputs: [localTrain], cacheDir: join(dir, 'cache-local') },
      localCtx,
    );
    expect(fromS3.files).toBe(pieces.length);
    expect(fromS3.rows).toBe(records.length);
    const summary = (r: typeof fromS3) =>
      r.entities.map((e) => [e.entity, e.status, e.rows]).sort();
    expect(summary(fromS3)).toEqual(summary(fromFiles));
    expect(fromS3.entities.filter((e) => e.status === 'trained')).toHaveLength(7);

    // Score the same two days from S3 (through filecache::) and from local files.
    const scoring = { ...base, trainUsers: 'none' as const, filterThreshold: 0 };
    const s3Report = await runInference(
      {
        ...scoring,
        inputs: [`filecache::s3://${bucket}/infer/*.json`],
        output: `s3://${bucket}/out/`,
        rejectsFile: `s3://${bucket}/out/_rejects/`,
        deadLetterFile: `s3://${bucket}/out/_dead_letters/`,
      },
      ctx,
    );
    const localReport = await runInference(
      { ...scoring, inputs: inferenceFiles, output: join(dir, 'local.jsonl') },
      ctx,
    );
    expect(s3Report.scored).toBe(localReport.scored);
    expect(s3Report.outputs.detections).toBe(`s3://${bucket}/out/`);

    const written = await objects.list(`s3://${bucket}/out/dt=*/*.jsonl`);
    expect(written.length).toBeGreaterThanOrEqual(2);
    const days = new Set(written.map((o) => /dt=(\d{4}-\d{2}-\d{2})\//.exec(o.key)?.[1]));
    expect([...days].sort()).toEqual(['2022-08-30', '2022-08-31']);
    const fromBucket: Row[] = [];
    for (const o of written) {
      const rows = jsonl((await objects.read(o.uri)).toString());
      const day = /dt=([\d-]+)\//.exec(o.key)?.[1];
      expect(rows.every((r) => String(r.timestamp).startsWith(day as string))).toBe(true);
      fromBucket.push(...rows);
    }
    const local = jsonl(await readFile(join(dir, 'local.jsonl'), 'utf8'));
    expect(fromBucket).toHaveLength(local.length);
    const byId = new Map(local.map((r) => [r.detection_id, r]));
    for (const r of fromBucket) {
      const l = byId.get(r.detection_id);
      expect(l).toBeDefined();
      expect(r.mean_abs_z).toBeCloseTo(l?.mean_abs_z as number, 9);
      expect(r.origin_source).toBe(
        `filecache::s3://${bucket}/infer/${basename(String(l?.origin_source))}`,
      );
    }

    // Plain s3:// (streamed, no local copy) scores the same rows the same way.
    const plain = await runInference(
      {
        ...scoring,
        inputs: [`s3://${bucket}/infer/*.json`],
        output: join(dir, 'plain.jsonl'),
        cacheDir: join(dir, 'cache-plain'),
      },
      ctx,
    );
    expect(plain.scored).toBe(localReport.scored);
    const plainRows = jsonl(await readFile(join(dir, 'plain.jsonl'), 'utf8'));
    expect(plainRows).toHaveLength(local.length);
    for (const r of plainRows) {
      const l = byId.get(r.detection_id);
      expect(r.mean_abs_z).toBeCloseTo(l?.mean_abs_z as number, 9);
      expect(r.origin_source).toBe(`s3://${bucket}/infer/${basename(String(l?.origin_source))}`);
    }
  }, 600_000);

  it('a watcher restarted mid-way processes every object exactly once', async () => {
    const prefix = `watch-${uniqueSuffix()}`;
    const files = await Promise.all(
      inferenceFiles.map(async (f) => ({
        key: `${prefix}/${basename(f)}`,
        body: await readFile(f, 'utf8'),
      })),
    );
    expect(files.length).toBeGreaterThanOrEqual(8);
    const late = files[2];
    const firstWave = files.slice(0, 6).filter((f) => f !== late);
    const secondWave = [...files.slice(6), late];
    const config: PipelineConfig = {
      ...base,
      trainUsers: 'none',
      filterThreshold: 0,
      inputs: [`s3://${bucket}/${prefix}/*.json`],
      output: join(dir, 'watch', 'detections.jsonl'),
      cacheDir: join(dir, 'watch-cache'),
      watchInputs: true,
      watchIntervalMs: 200,
    };

    const runOnce = async (expected: number) => {
      const scorer = new Scorer(config, ctx);
      let handed = 0;
      const worker = {
        report: scorer.report,
        processFiles: async (paths: string[]) => {
          await scorer.processFiles(paths);
          handed += paths.length;
        },
      };
      const stop = new AbortController();
      const running = runWatch(config, worker, 'inference', stop.signal, ctx.logger);
      await until(() => handed >= expected, `${expected} objects`);
      // One more poll: nothing already processed may come back.
      await new Promise((r) => setTimeout(r, 600));
      stop.abort();
      const report = await running;
      scorer.close();
      return { report, handed };
    };

    await put(objects, bucket, firstWave);
    const first = await runOnce(firstWave.length);
    await put(objects, bucket, secondWave);
    const second = await runOnce(secondWave.length);

    expect(first.handed).toBe(firstWave.length);
    expect(second.handed).toBe(secondWave.length);
    expect(first.report.watch).toMatchObject({ processed: firstWave.length, late: 0 });
    expect(second.report.watch).toMatchObject({ processed: secondWave.length, late: 1 });
    const ledgerDir = join(config.cacheDir as string, 'watch');
    const [ledgerFile] = await readdir(ledgerDir);
    const entries = jsonl(await readFile(join(ledgerDir, ledgerFile), 'utf8'));
    expect(entries.map((e) => e.path).sort()).toEqual(
      files.map((f) => `s3://${bucket}/${f.key}`).sort(),
    );
    // Every record of every object scored once: one detection each at threshold 0.
    const total = (
      await Promise.all(inferenceFiles.map(async (f) => (await readRecords(f)).records.length))
    ).reduce((a, b) => a + b, 0);
    const detections = jsonl(await readFile(config.output, 'utf8'));
    expect(detections).toHaveLength(total);
    expect(new Set(detections.map((d) => d.detection_id)).size).toBe(total);
  }, 300_000);
});
