#!/usr/bin/env node
/**
 * `dfp`: train per-entity autoencoders and score logs, with Morpheus DFP's
 * options. `--train_users none` scores; any other value trains; adding
 * `--inference_file` trains and then scores in one run (starter mode).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DfpError, errorMessage } from '../errors';
import { createLogger } from '../logging';
import {
  type BackendRequest,
  createTrainerPool,
  initBackend,
  scoringEngine,
  sessionPlacement,
  setScoringEngine,
  stopSessionWorker,
} from '../model';
import type { PipelineConfig } from '../pipeline/config';
import { Scorer, runInference } from '../pipeline/infer';
import { runWatch } from '../pipeline/watch';
import { formatReport, hasFailures, type RunReport } from '../pipeline/report';
import { type PipelineContext, Trainer, runTraining } from '../pipeline/train';
import { loadSourceDefinition } from '../schema/loader';
import { LocalModelStore } from '../store/local-store';
import { openModelStore } from '../store/open';
import { join } from 'node:path';
import {
  DEFAULTS,
  LIST_SEPARATOR,
  type RawOptions,
  TRAIN_USERS,
  buildConfig,
  buildKafkaOptions,
} from '../config/options';
import { type KafkaInferenceOptions, runKafkaInference } from '../pipeline/kafka-inference';
import { runKafkaTraining } from '../pipeline/kafka-training';

function collect(value: string, previous: string[] | undefined): string[] {
  // An environment variable gives every value at once, separated by LIST_SEPARATOR.
  const values = value.includes(LIST_SEPARATOR)
    ? value.split(LIST_SEPARATOR).filter(Boolean)
    : [value];
  return [...(previous ?? []), ...values];
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

function option(flags: string, description: string, envName?: string): Option {
  const long = /--([a-z0-9_]+)/.exec(flags)?.[1];
  const env = long ? (envName ?? `DFP_${long.toUpperCase()}`) : undefined;
  // Commander sets a plain flag to true whenever its variable exists, whatever it holds, so
  // DFP_KAFKA_SSL=false would turn TLS on: a flag takes an optional true/false value instead.
  const flag = long !== undefined && !/[<[]/.test(flags);
  const opt = new Option(flag ? `${flags} [bool]` : flags, description);
  if (flag) {
    opt.preset(true).argParser((raw: string | boolean) => {
      if (typeof raw === 'boolean') return raw;
      const word = raw.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      throw new InvalidArgumentError('expected true or false (or 1/0, yes/no, on/off)');
    });
  }
  return env ? opt.env(env) : opt;
}

export function buildProgram(): Command {
  const program = new Command('dfp');
  program
    .description(
      "Digital Fingerprinting: learn each entity's behaviour from Duo, Azure AD or\n" +
        'CloudTrail logs (or any source a schema file describes) and flag the events that\n' +
        'deviate from it.',
    )
    .addOption(
      option(
        '--source <name|file>',
        'duo, azure, cloudtrail, or a schema file (.json/.yaml)',
      ).default(DEFAULTS.source),
    )
    .addOption(
      option(
        '--train_users <mode>',
        'all: generic + per-entity models; generic: one model over all entities; individual: ' +
          'per-entity models only; none: score the input with trained models (inference)',
      )
        .choices(TRAIN_USERS as string[])
        .default('all'),
    )
    .addOption(
      option(
        '-f, --input_file <path|glob>',
        'input files, directories or globs, or S3: s3://bucket/prefix/*.json, and ' +
          'filecache::s3://… to keep a local copy of each object (repeatable)',
      ).argParser(collect),
    )
    .addOption(
      option(
        '--inference_file <path|glob>',
        'starter mode: after training, score these files in the same run (repeatable)',
      ).argParser(collect),
    )
    .addOption(
      option(
        '--skip_user <id>',
        'leave this entity out, also from the generic model (repeatable)',
      ).argParser(collect),
    )
    .addOption(option('--only_user <id>', 'use only this entity (repeatable)').argParser(collect))
    .addOption(
      option(
        '--start_time <time>',
        'first file time to use: 2022-08-01, 2022-08-01T06:00:00 or with an offset; ' +
          'no offset means UTC',
      ),
    )
    .addOption(
      option(
        '--duration <span>',
        'length of the time window after --start_time (60d, 1d, 12h…); ' +
          'without --start_time the ' +
          'window ends now. With neither, every file is used whatever its date ' +
          '[default with --start_time: 60d]',
      ),
    )
    .addOption(
      option(
        '--watch_inputs',
        'keep polling the inputs and process new or changed files until stopped',
      ).default(false),
    )
    .addOption(
      option('--watch_interval <seconds>', 'seconds between polls with --watch_inputs').default(
        DEFAULTS.watchInterval,
      ),
    )
    .addOption(
      option(
        '--sample_rate_s <seconds>',
        'keep only the first file of each such interval (0 = all)',
      ).default(DEFAULTS.sampleRateS),
    )
    .addOption(
      option(
        '--period <D|none>',
        'batch files per UTC day (D) or all at once (none) ' +
          '[default: per source: duo none, azure D, cloudtrail D]',
      ),
    )
    .addOption(
      option('--cache_dir <dir>', 'batch cache of parsed files (Arrow IPC)').default(
        DEFAULTS.cacheDir,
      ),
    )
    .addOption(option('--no_cache', 'do not read or write the batch cache').default(false))
    .addOption(
      option(
        '--tracking_uri <uri>',
        'model store: file:<dir> (embedded local store) or http(s)://host:port ' +
          '(MLflow with --serve-artifacts)',
      ).default(DEFAULTS.trackingUri),
    )
    .addOption(
      option(
        '--filter_threshold <z>',
        'a row is a detection when its mean_abs_z is at least this',
      ).default(DEFAULTS.filterThreshold),
    )
    .addOption(
      option(
        '--z_cap <z>',
        'each feature counts at most this much in mean_abs_z, so that no single feature ' +
          'decides a detection alone; none = no cap (Morpheus)',
      ).default(DEFAULTS.zCap),
    )
    .addOption(
      option(
        '--output <file|s3://bucket/prefix/>',
        'detections file, .csv or .jsonl, appended to and never truncated; or an S3 prefix, ' +
          'where each batch adds JSON Lines objects under dt=YYYY-MM-DD/ ' +
          '[default: dfp_detections_<source>.csv]',
      ),
    )
    .addOption(
      option(
        '--rejects_file <file>',
        'records that could not be used, with file, index, field and reason ' +
          '[default: dfp_rejects_<source>.jsonl beside --output]',
      ),
    )
    .addOption(
      option(
        '--dead_letter_file <file>',
        'rows no model could score, with the reason ' +
          '[default: dfp_dead_letters_<source>.jsonl beside --output]',
      ),
    )
    .addOption(
      option(
        '--s3_endpoint <url>',
        'S3-compatible endpoint (MinIO…) for s3:// inputs and outputs ' +
          '[default: AWS_ENDPOINT_URL, else AWS]',
      ),
    )
    .addOption(option('--s3_region <name>', 'S3 region [default: AWS_REGION, else us-east-1]'))
    .addOption(
      option(
        '--s3_path_style <true|false|auto>',
        'path-style S3 addressing (http://host/bucket/key); auto: on with --s3_endpoint',
      ),
    )
    .addOption(
      option(
        '--bootstrap_servers <hosts>',
        'Kafka brokers, host:port[,host:port]; with --input_topic the run reads a stream',
      ),
    )
    .addOption(
      option(
        '--input_topic <topic>',
        'Kafka topic of raw log records (repeatable): scored with --train_users none, ' +
          'else trained on continuously',
      ).argParser(collect),
    )
    .addOption(
      option(
        '--output_topic <topic>',
        'Kafka topic for detections, keyed by entity [default: dfp-detections-<source>]',
      ),
    )
    .addOption(
      option(
        '--dead_letter_topic <topic>',
        'Kafka topic for records that could not be used [default: <output_topic>-dead-letters]',
      ),
    )
    .addOption(
      option(
        '--group_id <id>',
        `Kafka consumer group [default: ${DEFAULTS.groupId} when scoring, ` +
          `${DEFAULTS.trainingGroupId} when training]`,
      ),
    )
    .addOption(
      option(
        '--kafka_offset_reset <earliest|latest>',
        'where a group without offsets starts, and where an out-of-range offset is reset to',
      ).default(DEFAULTS.kafkaOffsetReset),
    )
    .addOption(
      option('--kafka_batch_records <n>', 'most messages handled (then committed) at once').default(
        DEFAULTS.kafkaBatchRecords,
      ),
    )
    .addOption(
      option(
        '--kafka_batch_wait_ms <ms>',
        'longest wait for more messages before a smaller batch is handled',
      ).default(DEFAULTS.kafkaBatchWaitMs),
    )
    .addOption(
      option(
        '--kafka_session_timeout_ms <ms>',
        'how long the group waits for a silent consumer before its partitions move on',
      ).default(DEFAULTS.kafkaSessionTimeoutMs),
    )
    .addOption(option('--kafka_ssl', 'connect to the brokers over TLS').default(false))
    .addOption(
      option('--kafka_sasl_mechanism <name>', 'SASL: plain, scram-sha-256 or scram-sha-512'),
    )
    .addOption(option('--kafka_sasl_username <name>', 'SASL user name'))
    .addOption(option('--kafka_sasl_password <secret>', 'SASL password (prefer the variable)'))
    .addOption(
      option(
        '--min_history <rows>',
        'training: rows an entity needs before its first model',
      ).default(DEFAULTS.minHistory),
    )
    .addOption(
      option('--min_increment <rows>', 'training: new rows needed before a retrain').default(
        DEFAULTS.minIncrement,
      ),
    )
    .addOption(
      option('--max_history <span>', 'training: history kept per entity (60d, or none)').default(
        DEFAULTS.maxHistory,
      ),
    )
    .addOption(
      option(
        '--epochs <n>',
        'training epochs [default: per source: duo 30, azure 100, cloudtrail 30]',
      ),
    )
    .addOption(
      option(
        '--validation_size <fraction>',
        'last fraction of each window used for early stopping ' +
          '[default: duo 0.1, azure 0.15, cloudtrail 0.1]',
      ),
    )
    .addOption(
      option(
        '--patience <epochs>',
        'stop after this many epochs without a better validation loss [default: 5]',
      ),
    )
    .addOption(option('--batch_size <rows>', 'training batch size [default: 512]'))
    .addOption(option('--learning_rate <lr>', 'initial learning rate [default: 0.001]'))
    .addOption(
      option(
        '--learning_rate_decay <factor>',
        'learning rate multiplier per epoch [default: 0.99]',
      ),
    )
    .addOption(option('--swap_probability <p>', 'swap-noise probability [default: 0.2]'))
    .addOption(option('--encoder_layers <sizes>', 'encoder layer sizes [default: 512,500]'))
    .addOption(option('--decoder_layers <sizes>', 'decoder layer sizes [default: 512]'))
    .addOption(option('--activation <name>', 'activation [default: relu]'))
    .addOption(option('--optimizer <sgd|adam>', 'optimizer [default: adam]'))
    .addOption(
      option(
        '--loss_std_floor <x>',
        'smallest loss spread used for a feature z-score [default: 0.05]',
      ),
    )
    .addOption(
      option(
        '--calibration <rows>',
        'rows that calibrate z-scores: held_out (validation rows) or training [default: held_out]',
      ),
    )
    .addOption(
      option(
        '--seed <n>',
        'random seed for initialisation, shuffling and swap noise [default: 42]',
      ),
    )
    .addOption(
      option('--num_workers <n>', 'parallel trainers (worker threads) [default: one per core]'),
    )
    .addOption(
      option(
        '--model_refresh_s <seconds>',
        'scoring: re-read the registry and model versions after this long',
      ).default(DEFAULTS.modelRefreshS),
    )
    .addOption(
      option('--model_cache_size <n>', 'most models held in memory while scoring').default(
        DEFAULTS.modelCacheSize,
      ),
    )
    .addOption(
      option(
        '--ml_backend <name>',
        'auto, tensorflow (tfjs-node-gpu), wasm or cpu; an unavailable explicit choice fails',
        'DFP_ML_BACKEND',
      ).default('auto'),
    )
    .addOption(
      option(
        '--scoring_engine <name>',
        'auto (ONNX Runtime when installed, else tfjs), onnx or tfjs: what scores rows; ONNX ' +
          'Runtime runs on a worker thread (DFP_ONNX_WORKER=0: on the main thread)',
        'DFP_SCORING_ENGINE',
      ).default('auto'),
    )
    .addOption(
      option('--log_level <level>', 'CRITICAL, ERROR, WARNING, INFO or DEBUG').default(
        DEFAULTS.logLevel,
      ),
    )
    .addOption(option('--no_progress', 'no progress bar').default(false))
    .addHelpText(
      'after',
      '\nExit status: 0 all went well; 1 part of the run failed (a file, an entity, rows\n' +
        'dead-lettered), the summary says what; 2 the run could not start\n' +
        '(bad option, no input).\n' +
        '\nEvery option can also be set with an environment variable: --cache_dir is\n' +
        'DFP_CACHE_DIR, ' +
        '--ml_backend DFP_ML_BACKEND. Repeatable options take several values there, ' +
        `separated by "${LIST_SEPARATOR}".\n\n` +
        'Examples:\n' +
        '  dfp --source duo --train_users all --start_time 2022-08-01 \\\n' +
        '      -f "data/duo-training-data/*.json"\n' +
        '  dfp --source duo --train_users none -f "data/duo-inference-data/*.json" \\\n' +
        '      --output out/detections.csv\n' +
        '  dfp --source azure -f "data/azure-training-data/*.json" \\\n' +
        '      --inference_file "data/azure-inference-data/*.json"',
    );
  return program;
}

/**
 * Scores (or trains on) records from Kafka until SIGINT or SIGTERM, then
 * drains the batch in flight, publishes, commits and exits. A second signal
 * while training waits for models in flight exits at once: windows are stored,
 * and a cut-short training is done again on the next start.
 */
async function streamKafka(
  config: PipelineConfig,
  ctx: PipelineContext,
  kafka: KafkaInferenceOptions,
): Promise<number> {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      ctx.logger.info({ signal }, 'stopping: finishing the batch in flight');
      stop.abort();
      return;
    }
    ctx.logger.warn({ signal }, 'second signal: exiting now');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  ctx.logger.info(
    { topics: kafka.inputTopics, groupId: kafka.groupId, mode: config.trainUsers },
    'consuming',
  );
  try {
    const report =
      config.trainUsers === 'none'
        ? await runKafkaInference(config, ctx, kafka, stop.signal)
        : await runKafkaTraining(config, ctx, kafka, stop.signal);
    process.stdout.write(formatReport(report) + '\n');
    return hasFailures(report) ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `--watch_inputs`: process new files as they appear until SIGINT or SIGTERM. */
async function watch(config: PipelineConfig, ctx: PipelineContext): Promise<RunReport> {
  const scoring = config.trainUsers === 'none';
  const worker = scoring ? new Scorer(config, ctx) : new Trainer(config, ctx);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  ctx.logger.info({ inputs: config.inputs, intervalMs: config.watchIntervalMs }, 'watching inputs');
  try {
    return await runWatch(
      config,
      worker,
      scoring ? 'inference' : 'training',
      stop.signal,
      ctx.logger,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (worker instanceof Scorer) worker.close();
  }
}

export interface CliOptions extends Omit<RawOptions, 'progress'> {
  mlBackend: string;
  scoringEngine: string;
  noProgress: boolean;
}

/** Parsed options under camelCase names (the command line keeps Morpheus's snake_case). */
export function cliOptions(program: Command): CliOptions {
  return Object.fromEntries(
    Object.entries(program.opts()).map(([k, v]) => [
      k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()),
      v,
    ]),
  ) as unknown as CliOptions;
}

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Usage errors (unknown option, missing value, bad choice) exit 2 like every other bad option.
  program.exitOverride();
  try {
    program.parse(argv);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    return 2;
  }
  const opts = cliOptions(program);
  const logger = createLogger({ level: opts.logLevel });
  try {
    const source = await loadSourceDefinition(opts.source);
    const config = buildConfig(
      { ...opts, progress: !opts.noProgress && Boolean(process.stderr.isTTY) },
      source,
    );
    const kafka = buildKafkaOptions(opts as unknown as RawOptions, source);
    const backend = await initBackend(opts.mlBackend as 'auto');
    setScoringEngine(opts.scoringEngine);
    const engine = scoringEngine();
    const onnxSessions = engine === 'onnx' ? sessionPlacement() : undefined;
    logger.info(
      {
        backend,
        scoringEngine: engine,
        onnxSessions,
        source: source.name,
        trainUsers: config.trainUsers,
      },
      'starting',
    );
    const store = openModelStore(config.trackingUri);
    const pool =
      config.trainUsers === 'none'
        ? undefined
        : createTrainerPool({ size: config.workers, backend: opts.mlBackend as BackendRequest });
    const spool =
      store instanceof LocalModelStore
        ? undefined
        : new LocalModelStore(join(config.cacheDir ?? DEFAULTS.cacheDir, 'unregistered-models'));
    const ctx: PipelineContext = { logger, store, pool, spool };
    try {
      if (kafka) return await streamKafka(config, ctx, kafka);
      return await runAll(config, ctx);
    } finally {
      await pool?.close();
      // ONNX Runtime's thread is ended in order before the process exits (see the function).
      await stopSessionWorker();
    }
  } catch (err) {
    // Our own errors already say what is wrong and what to do: no stack trace for them.
    if (err instanceof DfpError) logger.error({ code: err.code, ...err.details }, err.message);
    else logger.error({ err }, 'run failed');
    const code = err instanceof DfpError ? `${err.code}: ` : '';
    process.stderr.write(`dfp: ${code}${errorMessage(err)}\n`);
    return 2;
  }
}

async function runAll(config: PipelineConfig, ctx: PipelineContext): Promise<number> {
  const reports: RunReport[] = [];
  if (config.watchInputs) {
    reports.push(await watch(config, ctx));
  } else if (config.trainUsers === 'none') {
    reports.push(await runInference(config, ctx));
  } else {
    reports.push(await runTraining(config, ctx));
    if (config.inferenceInputs.length > 0) {
      reports.push(await runInference(config, ctx, config.inferenceInputs));
    }
  }
  for (const report of reports) process.stdout.write(formatReport(report) + '\n');
  return reports.some(hasFailures) ? 1 : 0;
}

if (require.main === module) {
  // `dfp --help | head`: a reader that stops early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  // Exit when done: a client left half-open by a failure (a broker that never answered)
  // must not keep the process alive.
  main(process.argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`dfp: ${errorMessage(err)}\n`);
      process.exit(2);
    },
  );
}
