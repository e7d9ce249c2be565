#!/usr/bin/env node
/**
 * `pnpm bench`: speed and memory figures, one JSON line per figure, each with
 * the backend, scoring engine and hyper-parameters used. Each figure but
 * `kafka` runs in a child process of its own, so that its peak resident
 * memory is its own.
 *
 *   training  `dfp --train_users all` on the Duo sample (every entity and the
 *             generic model, default Morpheus-size model and epochs): wall
 *             time and training rows per second (rows × epochs / s); then the
 *             generic model alone and the per-entity models alone.
 *   scoring   end to end, files in, detections out: `dfp --train_users none`
 *             over generated Duo logs of many days (decode, per-entity history
 *             and derived features, model, detections written), once per
 *             `--scoring_days` entry: a short run and a sustained one.
 *   model     model-only scoring of one table with the generic model, per
 *             scoring engine (onnx, tfjs).
 *   kafka     sustained scoring throughput through a real broker: generated
 *             Duo events are produced to a topic, scored by the streaming
 *             pipeline (decode, per-entity history, model, detections
 *             published, offsets committed) and timed until every offset is
 *             committed. Needs KAFKA_BOOTSTRAP_SERVERS or --bootstrap_servers
 *             (scripts/services.sh up kafka); skipped otherwise.
 *   memory    (only when asked for) peak resident memory of training a generic
 *             model on --memory_rows rows (default 1,000,000) for one epoch.
 *
 *   node scripts/bench.mjs [--only training,scoring,model,kafka] [--users 25]
 *     [--scoring_days 120,480] [--events 50000] [--partitions 4] [--batch_records 1000]
 *     [--epochs N] [--memory_rows 1000000] [--work .cache/bench]
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'packages/core/dist');
// Resolve packages as the core package does (kafkajs is its dependency, not the root's).
const require = createRequire(join(ROOT, 'packages/core/package.json'));

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'training,scoring,model,kafka' },
    child: { type: 'string' },
    scoring_days: { type: 'string', default: '120,480' },
    memory_rows: { type: 'string', default: '1000000' },
    events: { type: 'string', default: '50000' },
    partitions: { type: 'string', default: '4' },
    batch_records: { type: 'string', default: '1000' },
    users: { type: 'string', default: '25' },
    epochs: { type: 'string' },
    work: { type: 'string', default: join(ROOT, '.cache/bench') },
    bootstrap_servers: { type: 'string', default: process.env.KAFKA_BOOTSTRAP_SERVERS },
  },
});

function emit(figure) {
  process.stdout.write(JSON.stringify(figure) + '\n');
}

function log(message) {
  process.stderr.write(`bench: ${message}\n`);
}

/** The Duo sample and models trained on it, made once per settings and reused. */
function prepare(work) {
  const { data, models } = paths(work);
  if (!existsSync(join(data, 'duo-inference-data'))) {
    log(`generating Duo logs for ${args.users} users in ${data}`);
    generate(data, []);
  }
  if (!existsSync(models)) {
    log(`training Duo models (generic and per user) into ${models}`);
    execFileSync(
      process.execPath,
      [
        join(DIST, 'cli/main.js'),
        '--source=duo',
        '--train_users=all',
        `--input_file=${join(data, 'duo-training-data')}`,
        `--tracking_uri=file:${models}`,
        `--cache_dir=${join(work, 'cache')}`,
        '--log_level=WARNING',
        ...(args.epochs ? [`--epochs=${args.epochs}`] : []),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  return { data, models };
}

/** The inference records, repeated with shifted times and ids until there are `n`. */
async function events(data, n) {
  const { readRecords } = require(join(DIST, 'sources/files.js'));
  const dir = join(data, 'duo-inference-data');
  const base = [];
  for (const name of readdirSync(dir).sort()) {
    base.push(...(await readRecords(join(dir, name))).records);
  }
  const out = [];
  const day = 86_400_000;
  for (let copy = 0; out.length < n; copy++) {
    for (const r of base) {
      if (out.length >= n) break;
      const t = Date.parse(r.isotimestamp) + copy * 3 * day;
      out.push({
        ...r,
        txid: `${r.txid}-${copy}`,
        isotimestamp: new Date(t).toISOString().replace('Z', '+00:00'),
        timestamp: Math.floor(t / 1000),
      });
    }
  }
  return out;
}

async function benchKafka(work) {
  const figure = 'kafka_scoring_events_per_s';
  if (!args.bootstrap_servers) {
    emit({
      figure,
      skipped: 'no broker: run scripts/services.sh up kafka and export KAFKA_BOOTSTRAP_SERVERS',
    });
    return;
  }
  const { data, models } = prepare(work);
  const { Kafka, logLevel } = require('kafkajs');
  const { buildProgram, cliOptions } = require(join(DIST, 'cli/main.js'));
  const { buildConfig, buildKafkaOptions } = require(join(DIST, 'config/options.js'));
  const { loadSourceDefinition } = require(join(DIST, 'schema/loader.js'));
  const { initBackend } = require(join(DIST, 'model/backend.js'));
  const { openModelStore } = require(join(DIST, 'store/open.js'));
  const { createLogger } = require(join(DIST, 'logging.js'));
  const { runKafkaInference } = require(join(DIST, 'pipeline/kafka-inference.js'));

  const n = Number(args.events);
  const partitions = Number(args.partitions);
  const suffix = Date.now().toString(36);
  const topic = `bench-duo-${suffix}`;
  const output = `bench-detections-${suffix}`;
  const brokers = args.bootstrap_servers.split(',');
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [topic, output, `${output}-dead-letters`].map((t) => ({
      topic: t,
      numPartitions: partitions,
    })),
    waitForLeaders: true,
  });
  const records = await events(data, n);
  log(`producing ${records.length} events to ${topic} (${partitions} partitions)`);
  const producer = kafka.producer();
  await producer.connect();
  // Small sends: one request per partition must stay under the broker's message size limit.
  for (let i = 0; i < records.length; i += 500) {
    await producer.send({
      topic,
      messages: records.slice(i, i + 500).map((r) => ({
        key: r.user?.name ?? null,
        value: JSON.stringify(r),
      })),
    });
  }
  await producer.disconnect();

  const program = buildProgram().exitOverride();
  program.parse([
    'node',
    'dfp',
    '--source=duo',
    '--train_users=none',
    `--tracking_uri=file:${models}`,
    `--cache_dir=${join(work, 'cache')}`,
    `--bootstrap_servers=${args.bootstrap_servers}`,
    `--input_topic=${topic}`,
    `--output_topic=${output}`,
    `--group_id=bench-${suffix}`,
    `--kafka_batch_records=${args.batch_records}`,
  ]);
  const raw = cliOptions(program);
  const source = await loadSourceDefinition('duo');
  const config = buildConfig({ ...raw, progress: false }, source);
  const options = buildKafkaOptions(raw, source);
  options.stateDir = join(work, `state-${suffix}`);
  const backend = await initBackend('auto');
  const ctx = {
    logger: createLogger({ level: 'WARNING' }),
    store: openModelStore(config.trackingUri),
  };

  let lastCount = 0;
  const committed = async () => {
    try {
      const [offsets] = await admin.fetchOffsets({ groupId: options.groupId, topics: [topic] });
      lastCount = offsets.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    } catch (err) {
      // A group the broker is still setting up (not the coordinator yet): ask again next time.
      if (!err.retriable) throw err;
    }
    return lastCount;
  };
  const stop = new AbortController();
  const started = performance.now();
  const running = runKafkaInference(config, ctx, options, stop.signal);
  let first = null;
  let done = 0;
  let progress = { at: performance.now(), done: 0 };
  while (done < n) {
    await new Promise((r) => setTimeout(r, 100));
    done = await committed();
    if (first === null && done > 0) first = { at: performance.now(), done };
    if (done > progress.done) progress = { at: performance.now(), done };
    if (performance.now() - progress.at > 60_000) {
      stop.abort();
      await running.catch(() => undefined);
      throw new Error(`no offset committed for 60 s; ${done} of ${n} events done`);
    }
  }
  const ended = performance.now();
  stop.abort();
  const report = await running;
  await admin.disconnect();
  await rm(options.stateDir, { recursive: true, force: true });

  const sustainedS = (ended - first.at) / 1000;
  emit({
    figure,
    value: Math.round((n - first.done) / sustainedS),
    unit: 'events/s',
    events: n,
    including_startup: Math.round(n / ((ended - started) / 1000)),
    wall_s: Number(((ended - started) / 1000).toFixed(2)),
    scored: report.scored,
    detections: report.detections,
    dead_lettered: report.deadLettered,
    partitions,
    batch_records: Number(args.batch_records),
    entities: Number(args.users),
    backend,
    z_cap: config.zCap,
    models_trained_with: await trainedWith(models),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  });
}

/** Options and context for an in-process pipeline run, as the `dfp` command builds them. */
async function pipelineFor(argv) {
  const { buildProgram, cliOptions } = require(join(DIST, 'cli/main.js'));
  const { buildConfig } = require(join(DIST, 'config/options.js'));
  const { loadSourceDefinition } = require(join(DIST, 'schema/loader.js'));
  const { initBackend, createTrainerPool, scoringEngine } = require(join(DIST, 'model/index.js'));
  const { openModelStore } = require(join(DIST, 'store/open.js'));
  const { createLogger } = require(join(DIST, 'logging.js'));
  const program = buildProgram().exitOverride();
  program.parse(['node', 'dfp', '--source=duo', '--log_level=WARNING', ...argv]);
  const raw = cliOptions(program);
  const source = await loadSourceDefinition('duo');
  const config = buildConfig({ ...raw, progress: false }, source);
  const backend = await initBackend('auto');
  const pool =
    config.trainUsers === 'none' ? undefined : createTrainerPool({ size: config.workers });
  const ctx = {
    logger: createLogger({ level: 'WARNING' }),
    store: openModelStore(config.trackingUri),
    pool,
  };
  return { config, ctx, backend, engine: scoringEngine(), source };
}

/** Every hyper-parameter a run trains with: the defaults, the source's, the command line's. */
function trainingSettings(config) {
  const { modelOptionsFor } = require(join(DIST, 'pipeline/train.js'));
  const { resolveOptions } = require(join(DIST, 'model/index.js'));
  return resolveOptions(modelOptionsFor(config));
}

function peakRssMb() {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

const FIGURES = ['training', 'scoring', 'model', 'kafka', 'memory'];

/** A bad option: said in one line, exit status 2. */
class UsageError extends Error {}

/** One training run of the sample; `trainUsers` all, generic or individual. */
async function childTraining(work, trainUsers) {
  const { data } = paths(work);
  const models = join(work, `training-${trainUsers}`);
  const { runTraining } = require(join(DIST, 'pipeline/train.js'));
  await rm(models, { recursive: true, force: true });
  const { config, ctx, backend } = await pipelineFor([
    `--train_users=${trainUsers}`,
    `--input_file=${join(data, 'duo-training-data')}`,
    `--tracking_uri=file:${models}`,
    `--cache_dir=${join(work, 'cache')}`,
    ...(args.epochs ? [`--epochs=${args.epochs}`] : []),
  ]);
  const started = performance.now();
  const report = await runTraining(config, ctx);
  const wallS = (performance.now() - started) / 1000;
  await ctx.pool?.close();
  const trained = report.entities.filter((e) => e.status === 'trained').length;
  emit({
    figure: `training_${trainUsers}`,
    value: Math.round(report.trainingRows / wallS),
    unit: 'training rows/s (rows x epochs / wall s)',
    wall_s: Number(wallS.toFixed(1)),
    rows: report.rows,
    models_trained: trained,
    rows_x_epochs: report.trainingRows,
    workers: config.workers,
    backend,
    model: trainingSettings(config),
    peak_rss_mb: peakRssMb(),
  });
}

/** The day counts to score, in order (`--scoring_days 120,480`). */
function scoringDays() {
  return args.scoring_days.split(',').map((d) => d.trim());
}

/** End-to-end scoring of `days` days of Duo logs with the sample's models. */
async function childScoring(work, days) {
  const { models } = paths(work);
  const data = join(work, `data-u${args.users}-d${days}`);
  const { runInference } = require(join(DIST, 'pipeline/infer.js'));
  const { sessionPlacement } = require(join(DIST, 'model/index.js'));
  const out = join(work, 'scoring-out');
  await rm(out, { recursive: true, force: true });
  const { config, ctx, backend, engine } = await pipelineFor([
    '--train_users=none',
    `--input_file=${join(data, 'duo-inference-data')}`,
    `--tracking_uri=file:${models}`,
    `--output=${join(out, 'detections.jsonl')}`,
    '--no_cache',
  ]);
  const trained = await trainedWith(models);
  const started = performance.now();
  const report = await runInference(config, ctx);
  const wallS = (performance.now() - started) / 1000;
  emit({
    figure: 'scoring_end_to_end',
    value: Math.round(report.scored / wallS),
    days: Number(days),
    unit: 'events/s (files in, detections out)',
    wall_s: Number(wallS.toFixed(2)),
    events: report.records,
    scored: report.scored,
    detections: report.detections,
    dead_lettered: report.deadLettered,
    files: report.files,
    entities: Number(args.users),
    scoring_engine: engine,
    ...(engine === 'onnx' ? { onnx_sessions: sessionPlacement() } : {}),
    backend,
    note:
      'includes reading, decoding, model loading (one per entity) and writing; ' +
      'more days spread those fixed costs and the JIT warm-up over more events',
    z_cap: config.zCap,
    models_trained_with: trained,
    peak_rss_mb: peakRssMb(),
  });
}

/** The hyper-parameters the sample's generic model was trained with (from its metadata). */
async function trainedWith(models) {
  const { openModelStore } = require(join(DIST, 'store/open.js'));
  const { modelName } = require(join(DIST, 'entities/names.js'));
  const store = openModelStore(`file:${models}`);
  const name = modelName('duo', null);
  const latest = await store.latest(name);
  const { metadata } = await store.load(name, latest.version);
  return metadata.options;
}

/** Model-only scoring: the generic model over one preprocessed table, with one engine. */
async function childModel(work, engine) {
  const { models } = paths(work);
  const data = join(work, `data-u${args.users}-d${scoringDays()[0]}`);
  const { config, backend } = await pipelineFor([
    '--train_users=none',
    `--input_file=${join(data, 'duo-inference-data')}`,
    `--tracking_uri=file:${models}`,
  ]);
  const { loadBatch } = require(join(DIST, 'pipeline/load.js'));
  const { preprocess } = require(join(DIST, 'pipeline/stages.js'));
  const { openModelStore } = require(join(DIST, 'store/open.js'));
  const { modelName } = require(join(DIST, 'entities/names.js'));
  const { deserializeModel, sessionPlacement, setScoringEngine } = require(
    join(DIST, 'model/index.js'),
  );
  const dir = join(data, 'duo-inference-data');
  const files = readdirSync(dir).map((f) => join(dir, f));
  const { table } = await loadBatch(files, config.source, null);
  const features = preprocess(table, config.source);
  const store = openModelStore(config.trackingUri);
  const name = modelName('duo', null);
  const latest = await store.latest(name);
  const model = deserializeModel(await store.load(name, latest.version));
  setScoringEngine(engine);
  await model.scoreAsync(features); // warm-up: session creation, kernels
  const started = performance.now();
  await model.scoreAsync(features);
  const seconds = (performance.now() - started) / 1000;
  emit({
    figure: 'scoring_model_only',
    value: Math.round(features.numRows / seconds),
    unit: 'rows/s',
    rows: features.numRows,
    scoring_engine: engine,
    ...(engine === 'onnx' ? { onnx_sessions: sessionPlacement() } : {}),
    backend,
    model: model.metadata.options,
    peak_rss_mb: peakRssMb(),
  });
  model.dispose();
}

/** Peak memory of training a generic model on many rows (one epoch). */
async function childMemory(work) {
  const { data } = paths(work);
  const { config, backend } = await pipelineFor([
    '--train_users=generic',
    `--input_file=${join(data, 'duo-training-data')}`,
  ]);
  const { loadBatch } = require(join(DIST, 'pipeline/load.js'));
  const { preprocess } = require(join(DIST, 'pipeline/stages.js'));
  const { takeRows } = require(join(DIST, 'table/index.js'));
  const { trainAutoencoder } = require(join(DIST, 'model/index.js'));
  const dir = join(data, 'duo-training-data');
  const files = readdirSync(dir).map((f) => join(dir, f));
  const { table } = await loadBatch(files, config.source, null);
  const sample = preprocess(table, config.source);
  const n = Number(args.memory_rows);
  const indices = Array.from({ length: n }, (_, i) => i % sample.numRows);
  const big = takeRows(sample, indices);
  const started = performance.now();
  const model = await trainAutoencoder(big, config.source.features, {
    epochs: 1,
    maxTrainingRows: n,
  });
  const seconds = (performance.now() - started) / 1000;
  model.dispose();
  emit({
    figure: 'training_memory_generic',
    value: peakRssMb(),
    unit: 'MB peak resident',
    rows: n,
    epochs: 1,
    training_rows_per_s: Math.round((n * 0.9) / seconds),
    wall_s: Number(seconds.toFixed(1)),
    backend,
    note: 'one trainer on the calling thread; the sample repeated to the row count',
    model: { ...trainingSettings(config), epochs: 1, maxTrainingRows: n },
  });
}

function paths(work) {
  return {
    data: join(work, `data-u${args.users}`),
    models: join(work, `models-u${args.users}-e${args.epochs ?? 'default'}`),
  };
}

function generate(out, extra) {
  execFileSync(process.execPath, [
    join(ROOT, 'scripts/generate-sample-data.mjs'),
    '--out',
    out,
    '--sources',
    'duo',
    '--users',
    args.users,
    ...extra,
  ]);
}

/** Runs one figure in a child process; its JSON lines go to stdout. */
function inChild(figure) {
  return new Promise((done, fail) => {
    const argv = Object.entries(args)
      .filter(([k, v]) => k !== 'only' && k !== 'child' && v !== undefined)
      .map(([k, v]) => `--${k}=${v}`);
    const child = execFile(
      process.execPath,
      [import.meta.filename, ...argv, `--child=${figure}`],
      { maxBuffer: 1 << 24 },
      (err, stdout) => {
        process.stdout.write(stdout);
        if (err) fail(new Error(`figure ${figure} failed: ${err.message}`));
        else done();
      },
    );
    child.stderr.pipe(process.stderr);
  });
}

async function main() {
  const work = resolve(args.work);
  await mkdir(work, { recursive: true });
  if (args.child?.startsWith('training:')) return childTraining(work, args.child.slice(9));
  if (args.child?.startsWith('scoring:')) return childScoring(work, args.child.slice(8));
  if (args.child?.startsWith('model:')) return childModel(work, args.child.slice(6));
  if (args.child === 'memory') return childMemory(work);

  const only = new Set(args.only.split(',').map((f) => f.trim()));
  const unknown = [...only].filter((f) => !FIGURES.includes(f));
  if (unknown.length > 0) {
    throw new UsageError(`unknown figure ${unknown.join(', ')}; use ${FIGURES.join(', ')}`);
  }
  for (const name of ['users', 'events', 'partitions', 'memory_rows']) {
    if (!/^[1-9]\d*$/.test(args[name])) {
      throw new UsageError(`--${name} must be a whole number ≥ 1, got ${args[name]}`);
    }
  }
  if (!scoringDays().every((d) => /^[1-9]\d*$/.test(d))) {
    throw new UsageError(
      `--scoring_days must be whole numbers ≥ 1 separated by commas, got ${args.scoring_days}`,
    );
  }
  if (args.epochs !== undefined && !/^[1-9]\d*$/.test(args.epochs)) {
    throw new UsageError(`--epochs must be a whole number ≥ 1, got ${args.epochs}`);
  }
  const { data } = paths(work);
  if (!existsSync(join(data, 'duo-inference-data'))) {
    log(`generating the Duo sample for ${args.users} users in ${data}`);
    generate(data, []);
  }
  if (only.has('scoring') || only.has('model')) {
    for (const n of only.has('scoring') ? scoringDays() : scoringDays().slice(0, 1)) {
      const days = join(work, `data-u${args.users}-d${n}`);
      if (!existsSync(join(days, 'duo-inference-data'))) {
        log(`generating ${n} days of Duo logs to score in ${days}`);
        generate(days, ['--inference-days', n]);
      }
    }
  }
  if (only.has('training')) {
    log('training the sample: all, then generic only, then per-entity only');
    for (const mode of ['all', 'generic', 'individual']) await inChild(`training:${mode}`);
  }
  const brokerless = only.has('kafka') && !args.bootstrap_servers;
  if (['scoring', 'model'].some((f) => only.has(f)) || (only.has('kafka') && !brokerless)) {
    prepare(work);
  }
  if (only.has('scoring')) for (const n of scoringDays()) await inChild(`scoring:${n}`);
  if (only.has('model')) for (const engine of ['onnx', 'tfjs']) await inChild(`model:${engine}`);
  if (only.has('kafka')) await benchKafka(work);
  if (only.has('memory')) await inChild('memory');
}

main().then(
  async () => {
    // ONNX Runtime's thread ended in order: killed by the exit, it can abort the process.
    await require(join(DIST, 'model/onnx-sessions.js')).stopSessionWorker();
    process.exit(0);
  },
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench: ${err.stack ?? err}\n`);
    // Open client connections must not keep a failed run alive.
    process.exit(1);
  },
);
