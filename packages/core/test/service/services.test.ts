/**
 * Both services started for real on loopback: health, readiness, a POST /score
 * round trip, refusal without the token, the body limit, metrics that count
 * what happened, a training run through POST /train and GET /runs/:id, and a
 * graceful SIGTERM of the compiled service that loses no request in flight.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DfpError } from '../../src/errors';
import { buildInferenceService } from '../../src/service/inference-app';
import { loadServiceSettings } from '../../src/service/settings';
import { buildTrainingService } from '../../src/service/training-app';
import { runTraining } from '../../src/pipeline/train';
import { Kafka, logLevel } from 'kafkajs';
import { duoHistory, tempDir, testConfig, testContext, writeDuoFile } from '../pipeline/helpers';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Objects } from '../../src/sources/s3';
import { openModelStore } from '../../src/store/open';
import { silentLogger } from '../../src/logging';
import { initBackend } from '../../src/model';
import { kafkaBootstrap, mlflowUri, s3Server, uniqueSuffix } from '../support/services';

const ROOT = resolve(__dirname, '../../../..');
const TOKEN = 'test-token-0123456789';
const AUG1 = Date.UTC(2022, 7, 1);
const AUG30 = Date.UTC(2022, 7, 30);
const USERS = ['nora@example.com', 'omar@example.com'];

function env(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    DFP_HOST: '127.0.0.1',
    DFP_PORT: '0',
    DFP_API_TOKEN: TOKEN,
    DFP_TRACKING_URI: `file:${join(dir, 'models')}`,
    DFP_CACHE_DIR: join(dir, 'cache'),
    DFP_LOG_LEVEL: 'ERROR',
    ...extra,
  };
}

describe('service > settings', () => {
  it('lists every bad setting with its variable, and freezes the result', async () => {
    const message = await loadServiceSettings('inference', {
      DFP_PORT: 'eighty',
      DFP_API_TOKEN: 'short',
      DFP_FILTER_THRESHOLD: '-1',
      DFP_EPOCHS: 'many',
      DFP_WATCH_INPUTS: 'perhaps',
      // Right together: neither is reported.
      DFP_BOOTSTRAP_SERVERS: 'k:9092',
      DFP_INPUT_TOPIC: 'duo-logs',
    }).then(
      () => 'started',
      (err: Error) => err.message,
    );
    const lines = message.split('\n').slice(1);
    expect(lines).toHaveLength(5);
    for (const line of [
      /^ {2}- DFP_PORT="eighty": must be an integer/,
      /^ {2}- DFP_API_TOKEN: must be at least 16/,
      /^ {2}- DFP_FILTER_THRESHOLD="-1": --filter_threshold "-1"/,
      /^ {2}- DFP_EPOCHS="many": --epochs "many"/,
      /^ {2}- DFP_WATCH_INPUTS="perhaps": .*expected true or false/,
    ]) {
      expect(lines.filter((l) => line.test(l))).toHaveLength(1);
    }
    const many = await loadServiceSettings('inference', {
      DFP_EPOCHS: 'many',
      DFP_BOOTSTRAP_SERVERS: 'k:9092',
      DFP_INPUT_TOPIC: 'duo-logs',
    }).catch((err: DfpError) => err.details.problems as string[]);
    expect(many).toEqual([expect.stringMatching(/^DFP_EPOCHS="many": /)]);
    const settings = await loadServiceSettings('training', { DFP_PORT: '9999' });
    expect(settings).toMatchObject({
      kind: 'training',
      port: 9999,
      apiToken: null,
      mainWork: 'none',
    });
    expect(Object.isFrozen(settings.pipeline)).toBe(true);
    await expect(loadServiceSettings('training', { DFP_TRAIN_USERS: 'none' })).rejects.toThrow(
      /DFP_TRAIN_USERS=none/,
    );
    await expect(
      loadServiceSettings('inference', { DFP_API_TOKEN: 'change-me-to-a-long-random-token' }),
    ).rejects.toThrow(/placeholder/);
    // Outputs go beside the state, not into the (read-only) working directory.
    const placed = await loadServiceSettings('inference', { DFP_CACHE_DIR: '/var/lib/dfp/cache' });
    expect(placed.pipeline.rejectsFile).toBe('/var/lib/dfp/out/dfp_rejects_duo.jsonl');
  });
});

describe('service > http', () => {
  let dir: string;
  let ctx: Awaited<ReturnType<typeof testContext>>;
  const records = duoHistory(USERS, AUG30, 10, 1);

  beforeAll(async () => {
    dir = await tempDir('dfp-svc-');
    await writeDuoFile(join(dir, 'train'), '2022-08-01', duoHistory(USERS, AUG1, 320, 20));
    ctx = await testContext(dir);
    await runTraining(
      testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'generic' }),
      ctx,
    );
  }, 120_000);

  it('inference: health, readiness, auth, body limit, scoring, metrics, models', async () => {
    const settings = await loadServiceSettings(
      'inference',
      env(dir, { DFP_BODY_LIMIT_BYTES: '20000' }),
    );
    const service = await buildInferenceService(settings, ctx, ctx.logger);
    const base = await service.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, checks: { model_store: 'ok' } });

      const post = (body: unknown, token?: string) =>
        fetch(`${base}/score`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(body),
        });
      expect((await post(records)).status).toBe(401);
      expect((await post(records, 'wrong-token-0123456789')).status).toBe(401);
      const big = Array.from({ length: 100 }, () => records[0]);
      expect((await post(big, TOKEN)).status).toBe(413);

      const answer = await post({ records: [...records, { txid: 'no-user' }] }, TOKEN);
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as {
        records: number;
        scored: number;
        scores: { record: number; mean_abs_z: number; detection: boolean }[];
        detections: unknown[];
        rejected: { record: number; field: string; reason: string }[];
      };
      expect(body).toMatchObject({ records: 21, scored: 20 });
      expect(body.scores.map((s) => s.record).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i),
      );
      expect(body.scores.every((s) => Number.isFinite(s.mean_abs_z))).toBe(true);
      const found = body.scores.filter((s) => s.detection).length;
      expect(body.detections).toHaveLength(found);
      expect(body.rejected).toEqual([
        { record: 20, field: expect.any(String), reason: expect.stringMatching(/missing/) },
      ]);

      // The same records sent again (a client's retry) are repeats: nothing is scored twice.
      const again = (await (await post(records, TOKEN)).json()) as {
        scored: number;
        duplicates: number;
      };
      expect(again).toMatchObject({ scored: 0, duplicates: 20 });
      for (const bad of [123, 'abc', null, { records: 5 }]) {
        expect((await post(bad, TOKEN)).status).toBe(400);
      }
      // The token is checked before the body is read.
      const unparsed = await fetch(`${base}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
      });
      expect(unparsed.status).toBe(401);

      const metrics = await (await fetch(`${base}/metrics`)).text();
      const value = (name: string) =>
        Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1]);
      // 21 records, then the same 20 again (read, and recognised as repeats).
      expect(value('dfp_records_read_total')).toBe(41);
      expect(value('dfp_records_rejected_total')).toBe(1);
      expect(value('dfp_rows_scored_total')).toBe(20);
      expect(value('dfp_detections_total')).toBe(found);
      expect(value('dfp_model_cache_misses_total')).toBeGreaterThan(0);

      expect((await fetch(`${base}/models`)).status).toBe(401);
      const models = (await (
        await fetch(`${base}/models`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as {
        models: { name: string; version: number }[];
      };
      expect(models.models).toEqual([
        expect.objectContaining({ name: 'DFP-duo-generic_user', version: 1 }),
      ]);
      const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      expect(Object.keys(openapi.paths)).toEqual(
        expect.arrayContaining(['/score', '/models', '/healthz', '/readyz', '/metrics']),
      );
    } finally {
      await service.stop();
    }
  });

  it('refuses state changes when no token is configured', async () => {
    const settings = await loadServiceSettings('inference', { ...env(dir), DFP_API_TOKEN: '' });
    const service = await buildInferenceService(settings, ctx, ctx.logger);
    const base = await service.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${base}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(records),
      });
      expect(res.status).toBe(403);
      expect(JSON.stringify(await res.json())).toMatch(/DFP_API_TOKEN is not set/);
    } finally {
      await service.stop();
    }
  });

  it('training: a run started by POST /train is followed to its summary', async () => {
    const settings = await loadServiceSettings(
      'training',
      env(dir, { DFP_TRAIN_USERS: 'all', DFP_TRAIN_INPUT_ROOTS: join(dir, 'train') }),
    );
    const service = await buildTrainingService(settings, ctx, ctx.logger);
    const base = await service.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const start = (body: unknown, token = TOKEN) =>
        fetch(`${base}/train`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
      expect((await start({ inputs: [] })).status).toBe(400);
      expect((await start({ inputs: ['x'] }, 'nope-nope-nope-nope')).status).toBe(401);
      // Only folders named in DFP_TRAIN_INPUT_ROOTS (and S3) may be read.
      for (const outside of ['/etc/passwd', join(dir, 'train', '..', 'models')]) {
        const refused = await start({ inputs: [outside] });
        expect(refused.status).toBe(400);
        expect(JSON.stringify(await refused.json())).toMatch(/outside DFP_TRAIN_INPUT_ROOTS/);
      }
      const res = await start({ inputs: [join(dir, 'train')], train_users: 'individual' });
      expect(res.status).toBe(202);
      const { id, url } = (await res.json()) as { id: string; url: string };
      let run: { status: string; report: { entities: { status: string }[] } | null } | null = null;
      const deadline = Date.now() + 120_000;
      const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
      expect((await fetch(`${base}${url}`)).status).toBe(401);
      while (Date.now() < deadline) {
        run = (await (await fetch(`${base}${url}`, auth)).json()) as typeof run;
        if (run?.status === 'succeeded' || run?.status === 'failed') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(run?.status).toBe('succeeded');
      expect(run?.report?.entities.filter((e) => e.status === 'trained')).toHaveLength(2);
      expect((await fetch(`${base}/runs/nope`, auth)).status).toBe(404);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/dfp_training_runs_total\{[^}]*status="succeeded"[^}]*\} 1/);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await service.stop();
    }
  }, 180_000);

  it('Kafka main work: readiness asks the broker; metrics count the stream and lag', async () => {
    const brokers = await kafkaBootstrap();
    const topic = `svc-duo-${uniqueSuffix()}`;
    const kafka = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [topic, `${topic}-out`, `${topic}-out-dead-letters`].map((t) => ({ topic: t })),
      waitForLeaders: true,
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: records.map((r) => ({ key: 'k', value: JSON.stringify(r) })),
    });
    await producer.disconnect();
    const settings = await loadServiceSettings(
      'inference',
      env(dir, {
        DFP_BOOTSTRAP_SERVERS: brokers,
        DFP_INPUT_TOPIC: topic,
        DFP_OUTPUT_TOPIC: `${topic}-out`,
        DFP_GROUP_ID: `svc-${topic}`,
        DFP_KAFKA_BATCH_WAIT_MS: '100',
      }),
    );
    expect(settings.mainWork).toBe('kafka');
    const service = await buildInferenceService(settings, ctx, ctx.logger);
    const base = await service.app.listen({ host: '127.0.0.1', port: 0 });
    service.start();
    try {
      const ready = (await (await fetch(`${base}/readyz`)).json()) as { checks: unknown };
      expect(ready.checks).toEqual({ model_store: 'ok', kafka: 'ok' });
      // Rows are counted when a chunk is scored; the lag only after its offsets are committed.
      const scored = /^dfp_rows_scored_total\{[^}]*\} 20$/m;
      const lag = new RegExp(`^dfp_kafka_consumer_lag\\{[^}]*topic="${topic}"[^}]*\\} 0$`, 'm');
      let metrics = '';
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        metrics = await (await fetch(`${base}/metrics`)).text();
        if (scored.test(metrics) && lag.test(metrics)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(metrics).toMatch(scored);
      expect(metrics).toMatch(lag);
      // The stream's model lookups are counted too: the generic model loaded once, then cached.
      expect(metrics).toMatch(/^dfp_model_cache_misses_total\{[^}]*\} [1-9]\d*$/m);
      await admin.deleteTopics({ topics: [topic] });
      const gone = await fetch(`${base}/readyz`);
      expect(gone.status).toBe(503);
      expect(JSON.stringify(await gone.json())).toMatch(/missing input topic/);
    } finally {
      await service.stop();
      await admin.disconnect();
    }
  }, 120_000);

  it('a failed main work stops the compiled service with exit 1', async () => {
    const main = join(ROOT, 'services/inference/dist/main.js');
    const child = spawn(process.execPath, [main], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...env(dir, { DFP_BOOTSTRAP_SERVERS: '127.0.0.1:1', DFP_INPUT_TOPIC: 'duo-logs' }),
      },
    });
    let out = '';
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    expect(code).toBe(1);
    expect(out).toMatch(/main work failed/);
  }, 120_000);

  it('SIGTERM: the compiled service answers the request in flight, then exits 0', async () => {
    const main = join(ROOT, 'services/inference/dist/main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run "pnpm build" first`);
    const child = spawn(process.execPath, [main], {
      cwd: ROOT,
      env: { ...process.env, ...env(dir, { DFP_LOG_LEVEL: 'INFO' }) },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const deadline = Date.now() + 60_000;
    let address: string | undefined;
    while (!address && Date.now() < deadline) {
      address = /"address":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(address).toBeDefined();
    const many = duoHistory(USERS, AUG30 + 86_400_000, 200, 1);
    const inFlight = fetch(`${address}/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(many),
    });
    // SIGTERM once the service has the request (its log says so), not before.
    const seen = Date.now() + 30_000;
    while (!/"url":"\/score"/.test(out) && Date.now() < seen) {
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { scored: number }).scored).toBe(400);
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopping/);
  }, 120_000);
});

describe('service > with MLflow and S3', () => {
  it('trains from S3 into MLflow on its schedule, then scores through MLflow', async () => {
    await initBackend();
    const logger = silentLogger();
    const tracking = await mlflowUri();
    const s3 = await s3Server();
    const dir = await tempDir('dfp-svc-real-');
    const objects = new S3Objects({ endpoint: s3.AWS_ENDPOINT_URL });
    const bucket = `dfp-svc-${uniqueSuffix()}`;
    await objects.client.send(new CreateBucketCommand({ Bucket: bucket }));
    const user = `svc-${uniqueSuffix()}@example.com`;
    await objects.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'train/DUO_2022-08-01T00_00_00.000Z.json',
        Body: JSON.stringify(duoHistory([user], AUG1, 320, 20)),
      }),
    );
    const common = {
      ...env(dir),
      DFP_TRACKING_URI: tracking,
      DFP_EPOCHS: '2',
      DFP_ENCODER_LAYERS: '16,8',
      DFP_DECODER_LAYERS: '16',
      DFP_S3_ENDPOINT: s3.AWS_ENDPOINT_URL,
    };
    const ctxFor = (settings: Awaited<ReturnType<typeof loadServiceSettings>>) => ({
      logger: logger,
      store: openModelStore(settings.pipeline.trackingUri),
    });
    const trainingSettings = await loadServiceSettings('training', {
      ...common,
      DFP_TRAIN_USERS: 'individual',
      DFP_INPUT_FILE: `s3://${bucket}/train/*.json`,
      DFP_TRAIN_SCHEDULE_S: '1',
    });
    const training = await buildTrainingService(trainingSettings, ctxFor(trainingSettings), logger);
    const trainBase = await training.app.listen({ host: '127.0.0.1', port: 0 });
    training.start();
    try {
      // The schedule trains the configured S3 inputs without being asked.
      let runs: { trigger: string; status: string }[] = [];
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const res = await fetch(`${trainBase}/runs`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        runs = ((await res.json()) as { runs: typeof runs }).runs;
        if (runs.some((r) => r.trigger === 'schedule' && r.status === 'succeeded')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      // Newest first: a later scheduled run may be running already; one has succeeded.
      expect(runs.some((r) => r.trigger === 'schedule' && r.status === 'succeeded')).toBe(true);
      const ready = (await (await fetch(`${trainBase}/readyz`)).json()) as { checks: unknown };
      expect(ready.checks).toEqual({ model_store: 'ok', s3: 'ok' });
    } finally {
      await training.stop();
    }

    const inferenceSettings = await loadServiceSettings('inference', common);
    const inference = await buildInferenceService(
      inferenceSettings,
      ctxFor(inferenceSettings),
      logger,
    );
    const base = await inference.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${base}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(duoHistory([user], AUG30, 5, 1)),
      });
      const body = (await res.json()) as { scored: number; scores: { model_version: string }[] };
      expect(body.scored).toBe(5);
      expect(body.scores[0].model_version).toMatch(/^DFP-duo-svc-.*:\d+$/);
      expect((await fetch(`${base}/models`)).status).toBe(401);
      const models = (await (
        await fetch(`${base}/models`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as { store: string };
      expect(models.store).toBe(tracking);
    } finally {
      await inference.stop();
      objects.destroy();
    }
  }, 300_000);
});
