#!/usr/bin/env node
/**
 * `pnpm bench`: speed figures, one JSON line per figure, each with the backend
 * and hyper-parameters used.
 *
 *   kafka  sustained scoring throughput through a real broker: generated Duo
 *          events are produced to a topic, scored by the streaming pipeline
 *          (decode, per-entity history, model, detections published, offsets
 *          committed) and timed until every offset is committed. Needs a broker:
 *          KAFKA_BOOTSTRAP_SERVERS, or --bootstrap_servers (scripts/services.sh up kafka).
 *
 *   node scripts/bench.mjs [--only kafka] [--events 50000] [--partitions 4]
 *     [--batch_records 1000] [--users 25] [--epochs N] [--work .cache/bench]
 */
import { execFileSync } from 'node:child_process';
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
    only: { type: 'string', default: 'kafka' },
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

/** Generated data and trained models, made once per settings and reused. */
function prepare(work) {
  const data = join(work, `data-u${args.users}`);
  if (!existsSync(join(data, 'duo-inference-data'))) {
    log(`generating Duo logs for ${args.users} users in ${data}`);
    execFileSync(process.execPath, [
      join(ROOT, 'scripts/generate-sample-data.mjs'),
      '--out',
      data,
      '--sources',
      'duo',
      '--users',
      args.users,
    ]);
  }
  const models = join(work, `models-u${args.users}-e${args.epochs ?? 'default'}`);
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

  const committed = async () => {
    const [offsets] = await admin.fetchOffsets({ groupId: options.groupId, topics: [topic] });
    return offsets.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
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
    model: {
      trained_with: { ...config.model, epochs: args.epochs ?? 'source default (duo 30)' },
      layers: 'encoder 512,500 / decoder 512 (defaults)',
    },
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  });
}

async function main() {
  const work = resolve(args.work);
  await mkdir(work, { recursive: true });
  const only = new Set(args.only.split(','));
  if (only.has('kafka')) await benchKafka(work);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench: ${err.stack ?? err}\n`);
    // Open client connections must not keep a failed run alive.
    process.exit(1);
  },
);
