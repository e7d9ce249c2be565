/**
 * Command-line and environment options, validated once into a PipelineConfig.
 * Every option `--x_y` can also be set with `DFP_X_Y`; a command-line value wins.
 */
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { DfpError, ErrorCodes } from '../errors';
import type { TrainUsers } from '../entities/split';
import { pinoLevel } from '../logging';
import type { AutoencoderOptions } from '../model';
import type { PipelineConfig } from '../pipeline/config';
import type { KafkaInferenceOptions } from '../pipeline/kafka-inference';
import { parseTimestamp } from '../schema/timestamps';
import type { SourceDefinition } from '../schema/types';
import { DEFAULT_TRAINING_WINDOW } from '../window/rolling-window';
import { formatOf } from '../sinks/file-sink';
import { isS3Uri, parseS3Uri } from '../sources/s3';
import { parseDuration } from './durations';

/** Raw option values as commander hands them over (strings, lists, flags). */
export interface RawOptions {
  source: string;
  trainUsers?: string;
  skipUser?: string[];
  onlyUser?: string[];
  startTime?: string;
  duration?: string;
  cacheDir: string;
  noCache?: boolean;
  logLevel: string;
  sampleRateS: string;
  inputFile?: string[];
  inferenceFile?: string[];
  trackingUri: string;
  filterThreshold: string;
  zCap?: string;
  output?: string;
  rejectsFile?: string;
  deadLetterFile?: string;
  period?: string;
  minHistory: string;
  minIncrement: string;
  maxHistory: string;
  modelCacheSize: string;
  numWorkers?: string;
  modelRefreshS: string;
  progress: boolean;
  watchInputs?: boolean;
  watchInterval: string;
  epochs?: string;
  validationSize?: string;
  batchSize?: string;
  learningRate?: string;
  learningRateDecay?: string;
  swapProbability?: string;
  patience?: string;
  encoderLayers?: string;
  decoderLayers?: string;
  activation?: string;
  optimizer?: string;
  seed?: string;
  lossStdFloor?: string;
  calibration?: string;
  bootstrapServers?: string;
  inputTopic?: string[];
  outputTopic?: string;
  deadLetterTopic?: string;
  groupId?: string;
  kafkaOffsetReset: string;
  kafkaBatchRecords: string;
  kafkaBatchWaitMs: string;
  kafkaSessionTimeoutMs: string;
  kafkaSsl?: boolean;
  kafkaSaslMechanism?: string;
  kafkaSaslUsername?: string;
  kafkaSaslPassword?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3PathStyle?: string;
}

export const TRAIN_USERS: readonly TrainUsers[] = ['all', 'generic', 'individual', 'none'];

function invalid(option: string, value: unknown, why: string): DfpError {
  return new DfpError(ErrorCodes.CONFIG_INVALID, `--${option} ${JSON.stringify(value)}: ${why}`, {
    details: { option, value },
  });
}

function number(
  option: string,
  value: string,
  check: (n: number) => boolean,
  rule: string,
): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw invalid(option, value, `is not a number; it must be ${rule}`);
  }
  if (!check(n)) throw invalid(option, value, `must be ${rule}`);
  return n;
}

function layers(option: string, value: string): number[] {
  const parts = value
    .split(/[,\s]+/)
    .filter(Boolean)
    .map(Number);
  if (parts.length === 0 || parts.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw invalid(option, value, 'must be positive integers separated by commas, e.g. 512,500');
  }
  return parts;
}

/** Parses `--start_time`: a date or date-time, with or without an offset (none = UTC). */
export function parseStartTime(value: string): number {
  const ms = parseTimestamp(value);
  if (ms === null) {
    throw invalid(
      'start_time',
      value,
      'must look like 2022-08-01, 2022-08-01T06:00:00 or 2022-08-01 06:00:00+02:00',
    );
  }
  return ms;
}

function modelOptions(raw: RawOptions): Partial<AutoencoderOptions> {
  const out: Partial<AutoencoderOptions> = {};
  const int = (o: string, v: string, min: number) =>
    number(o, v, (n) => Number.isInteger(n) && n >= min, `an integer ≥ ${min}`);
  if (raw.epochs !== undefined) out.epochs = int('epochs', raw.epochs, 1);
  if (raw.validationSize !== undefined) {
    out.validationSize = number(
      'validation_size',
      raw.validationSize,
      (n) => n >= 0 && n < 1,
      'in [0, 1)',
    );
  }
  if (raw.batchSize !== undefined) out.batchSize = int('batch_size', raw.batchSize, 1);
  if (raw.learningRate !== undefined) {
    out.learningRate = number('learning_rate', raw.learningRate, (n) => n > 0, 'a positive number');
  }
  if (raw.learningRateDecay !== undefined) {
    out.learningRateDecay = number(
      'learning_rate_decay',
      raw.learningRateDecay,
      (n) => n > 0 && n <= 1,
      'in (0, 1]',
    );
  }
  if (raw.swapProbability !== undefined) {
    out.swapProbability = number(
      'swap_probability',
      raw.swapProbability,
      (n) => n >= 0 && n < 1,
      'in [0, 1)',
    );
  }
  if (raw.patience !== undefined) out.patience = int('patience', raw.patience, 0);
  if (raw.encoderLayers !== undefined)
    out.encoderLayers = layers('encoder_layers', raw.encoderLayers);
  if (raw.decoderLayers !== undefined)
    out.decoderLayers = layers('decoder_layers', raw.decoderLayers);
  if (raw.activation !== undefined)
    out.activation = raw.activation as AutoencoderOptions['activation'];
  if (raw.optimizer !== undefined) {
    if (raw.optimizer !== 'sgd' && raw.optimizer !== 'adam')
      throw invalid('optimizer', raw.optimizer, 'must be sgd or adam');
    out.optimizer = raw.optimizer;
  }
  if (raw.seed !== undefined) out.seed = int('seed', raw.seed, 0);
  if (raw.lossStdFloor !== undefined) {
    out.lossStdFloor = number('loss_std_floor', raw.lossStdFloor, (n) => n >= 0, 'a number ≥ 0');
  }
  if (raw.calibration !== undefined) {
    if (raw.calibration !== 'training' && raw.calibration !== 'held_out')
      throw invalid('calibration', raw.calibration, 'must be training or held_out');
    out.calibration = raw.calibration;
  }
  return out;
}

/** Validates raw options against a loaded source and builds the pipeline configuration. */
export function buildConfig(
  raw: RawOptions,
  source: SourceDefinition,
  now = Date.now(),
): PipelineConfig {
  const trainUsers = (raw.trainUsers ?? 'all').toLowerCase() as TrainUsers;
  if (!TRAIN_USERS.includes(trainUsers)) {
    throw invalid('train_users', raw.trainUsers, `must be one of ${TRAIN_USERS.join(', ')}`);
  }
  const skipUsers = raw.skipUser ?? [];
  const onlyUsers = raw.onlyUser ?? [];
  if (skipUsers.length > 0 && onlyUsers.length > 0) {
    throw invalid('skip_user', skipUsers, 'cannot be combined with --only_user; use one of them');
  }
  const inputs = raw.inputFile ?? [];
  const topics = raw.inputTopic ?? [];
  if (inputs.length === 0 && topics.length === 0) {
    throw new DfpError(
      ErrorCodes.CONFIG_INVALID,
      'no input: give -f/--input_file (files, directories or globs) or --input_topic',
    );
  }
  if (inputs.length > 0 && topics.length > 0) {
    throw invalid('input_topic', topics, 'cannot be combined with -f/--input_file; use one');
  }
  if (topics.length > 0 && (raw.inferenceFile ?? []).length > 0) {
    throw invalid('inference_file', raw.inferenceFile, 'cannot be combined with --input_topic');
  }
  const inferenceInputs = raw.inferenceFile ?? [];
  if (inferenceInputs.length > 0 && trainUsers === 'none') {
    throw invalid(
      'inference_file',
      inferenceInputs,
      'starter mode trains first; it needs --train_users other than none',
    );
  }
  if (raw.watchInputs && inferenceInputs.length > 0) {
    throw invalid(
      'watch_inputs',
      true,
      'cannot be combined with --inference_file (starter mode runs once)',
    );
  }
  if (!pinoLevel(raw.logLevel)) {
    throw invalid(
      'log_level',
      raw.logLevel,
      'must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG',
    );
  }

  // Time window: start + duration. No start and no duration: every file, whatever its date.
  let startTime: number | null = null;
  let endTime: number | null = null;
  const durationMs =
    raw.duration !== undefined ? parseDurationOption('duration', raw.duration) : null;
  if (raw.startTime !== undefined) {
    startTime = parseStartTime(raw.startTime);
    endTime = startTime + (durationMs ?? parseDuration('60d'));
  } else if (durationMs !== null) {
    endTime = now;
    startTime = now - durationMs;
  }

  let period: 'D' | null = source.period ?? null;
  if (raw.period !== undefined) {
    const p = raw.period.toLowerCase();
    if (p !== 'd' && p !== 'none')
      throw invalid('period', raw.period, 'must be D (one batch per UTC day) or none');
    period = p === 'd' ? 'D' : null;
  }

  const output = raw.output ?? `dfp_detections_${source.name}.csv`;
  const s3Output = isS3Uri(output);
  if (s3Output) {
    if (!output.endsWith('/')) {
      throw invalid('output', output, 'an S3 output is a prefix: end it with /');
    }
    parseS3Uri(output);
  } else {
    formatOf(output); // refuses an unknown extension before any work is done
  }
  // Rejects and dead letters go beside the detections: files in the same folder, or
  // prefixes of their own under an S3 output.
  const beside = (name: string, file: string) =>
    s3Output ? `${output}${name}/` : join(dirname(output), file);
  for (const [option, value] of [
    ['rejects_file', raw.rejectsFile],
    ['dead_letter_file', raw.deadLetterFile],
  ] as const) {
    if (value !== undefined && isS3Uri(value) && !value.endsWith('/')) {
      throw invalid(option, value, 'an S3 location is a prefix: end it with /');
    }
  }
  const pathStyle = raw.s3PathStyle?.toLowerCase();
  if (pathStyle !== undefined && !['true', 'false', 'auto'].includes(pathStyle)) {
    throw invalid('s3_path_style', raw.s3PathStyle, 'must be true, false or auto');
  }
  const endpoint =
    raw.s3Endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined && endpoint !== '' && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw invalid('s3_endpoint', endpoint, 'must be an http(s)://host[:port] URL');
  }
  return {
    source,
    inputs,
    inferenceInputs,
    trainUsers,
    skipUsers,
    onlyUsers,
    startTime,
    endTime,
    sampleRateS: number('sample_rate_s', raw.sampleRateS, (n) => n >= 0, 'seconds ≥ 0'),
    period,
    cacheDir: raw.noCache ? null : raw.cacheDir,
    trackingUri: raw.trackingUri,
    filterThreshold: number('filter_threshold', raw.filterThreshold, (n) => n >= 0, '≥ 0'),
    zCap:
      (raw.zCap ?? DEFAULTS.zCap).trim().toLowerCase() === 'none'
        ? Infinity
        : number('z_cap', raw.zCap ?? DEFAULTS.zCap, (n) => n > 0, 'a number > 0, or none'),
    output,
    rejectsFile: raw.rejectsFile ?? beside('_rejects', `dfp_rejects_${source.name}.jsonl`),
    deadLetterFile:
      raw.deadLetterFile ?? beside('_dead_letters', `dfp_dead_letters_${source.name}.jsonl`),
    s3: {
      ...(endpoint ? { endpoint } : {}),
      ...(raw.s3Region ? { region: raw.s3Region } : {}),
      ...(pathStyle === 'true' || pathStyle === 'false'
        ? { forcePathStyle: pathStyle === 'true' }
        : {}),
    },
    window: {
      minHistory: number(
        'min_history',
        raw.minHistory,
        (n) => Number.isInteger(n) && n >= 1,
        'an integer ≥ 1',
      ),
      minIncrement: number(
        'min_increment',
        raw.minIncrement,
        (n) => Number.isInteger(n) && n >= 0,
        'an integer ≥ 0',
      ),
      maxHistoryMs:
        raw.maxHistory.toLowerCase() === 'none'
          ? null
          : parseDurationOption('max_history', raw.maxHistory),
    },
    model: modelOptions(raw),
    modelCacheSize: number(
      'model_cache_size',
      raw.modelCacheSize,
      (n) => Number.isInteger(n) && n >= 1,
      'an integer ≥ 1',
    ),
    modelRefreshMs:
      number('model_refresh_s', raw.modelRefreshS, (n) => n > 0, 'a number of seconds > 0') * 1000,
    workers:
      raw.numWorkers === undefined
        ? availableParallelism()
        : number(
            'num_workers',
            raw.numWorkers,
            (n) => Number.isInteger(n) && n >= 1,
            'an integer ≥ 1',
          ),
    watchInputs: Boolean(raw.watchInputs),
    watchIntervalMs:
      number('watch_interval', raw.watchInterval, (n) => n > 0, 'a number of seconds > 0') * 1000,
    progress: raw.progress,
  };
}

function parseDurationOption(option: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw invalid(option, value, (err as Error).message);
  }
}

export const DEFAULTS = {
  source: 'duo',
  cacheDir: './.cache/dfp',
  logLevel: 'INFO',
  sampleRateS: '0',
  trackingUri: 'file:./dfp-models',
  filterThreshold: '2.0',
  zCap: '5',
  duration: '60d',
  minHistory: String(DEFAULT_TRAINING_WINDOW.minHistory),
  minIncrement: String(DEFAULT_TRAINING_WINDOW.minIncrement),
  maxHistory: '60d',
  modelCacheSize: '100',
  modelRefreshS: '600',
  groupId: 'dfp-inference',
  trainingGroupId: 'dfp-training',
  kafkaOffsetReset: 'earliest',
  kafkaBatchRecords: '1000',
  kafkaBatchWaitMs: '500',
  kafkaSessionTimeoutMs: '30000',
  watchInterval: '1.0',
} as const;

/** Separates several values of a repeatable option given in one environment variable. */
export const LIST_SEPARATOR = ';';

/** Kafka settings when `--input_topic` is given, else null. */
export function buildKafkaOptions(
  raw: RawOptions,
  source: SourceDefinition,
): KafkaInferenceOptions | null {
  const topics = raw.inputTopic ?? [];
  if (topics.length === 0) return null;
  if (!raw.bootstrapServers)
    throw invalid('input_topic', topics, 'needs --bootstrap_servers host:port[,host:port]');
  const reset = raw.kafkaOffsetReset.toLowerCase();
  if (reset !== 'earliest' && reset !== 'latest') {
    throw invalid('kafka_offset_reset', raw.kafkaOffsetReset, 'must be earliest or latest');
  }
  const mechanisms = ['plain', 'scram-sha-256', 'scram-sha-512'];
  const mechanism = raw.kafkaSaslMechanism?.toLowerCase();
  if (mechanism !== undefined && !mechanisms.includes(mechanism)) {
    throw invalid(
      'kafka_sasl_mechanism',
      raw.kafkaSaslMechanism,
      `must be one of ${mechanisms.join(', ')}`,
    );
  }
  const brokers = raw.bootstrapServers
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const b of brokers) {
    const port = Number(/:(\d+)$/.exec(b)?.[1]);
    if (!(port > 0 && port < 65536)) {
      throw invalid('bootstrap_servers', raw.bootstrapServers, `${b} needs a port: host:port`);
    }
  }
  if (topics.some((t) => !/^[A-Za-z0-9._-]{1,249}$/.test(t))) {
    throw invalid('input_topic', topics, 'topic names use letters, digits, ".", "_" and "-"');
  }
  if (mechanism !== undefined && !raw.kafkaSaslUsername) {
    throw invalid('kafka_sasl_mechanism', raw.kafkaSaslMechanism, 'needs --kafka_sasl_username');
  }
  const outputTopic = raw.outputTopic ?? `dfp-detections-${source.name}`;
  return {
    brokers,
    clientId: 'dfp',
    // Training and scoring read the same topic in groups of their own, each seeing every record.
    groupId:
      raw.groupId ?? (raw.trainUsers === 'none' ? DEFAULTS.groupId : DEFAULTS.trainingGroupId),
    inputTopics: topics,
    outputTopic,
    deadLetterTopic: raw.deadLetterTopic ?? `${outputTopic}-dead-letters`,
    offsetReset: reset,
    maxBatchRecords: number(
      'kafka_batch_records',
      raw.kafkaBatchRecords,
      (n) => Number.isInteger(n) && n >= 1,
      'an integer ≥ 1',
    ),
    maxBatchWaitMs: number('kafka_batch_wait_ms', raw.kafkaBatchWaitMs, (n) => n >= 0, '≥ 0'),
    sessionTimeoutMs: number(
      'kafka_session_timeout_ms',
      raw.kafkaSessionTimeoutMs,
      (n) => Number.isInteger(n) && n >= 1000,
      'an integer ≥ 1000 (and within the broker group.min/max.session.timeout.ms)',
    ),
    stateDir: join(raw.cacheDir, 'state'),
    ssl: Boolean(raw.kafkaSsl),
    ...(mechanism
      ? {
          sasl: {
            mechanism: mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512',
            username: raw.kafkaSaslUsername ?? '',
            password: raw.kafkaSaslPassword ?? '',
          },
        }
      : {}),
  };
}
