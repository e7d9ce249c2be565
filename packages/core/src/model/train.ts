/**
 * Autoencoder training (shared/reference/morpheus-dfp.md §4): typed features
 * fitted on the chronological training split, swap-noise denoising, the
 * equal-weight mean of per-feature batch losses, per-epoch learning-rate decay,
 * optional early stopping on validation loss, then the per-feature loss
 * calibration over the training split.
 */
import * as tf from '@tensorflow/tfjs';
import { DfpError, ErrorCodes, errorMessage } from '../errors';
import { type Table, columnNames, hasColumn, selectColumns, sliceRows, takeRows } from '../table';
import {
  type Autoencoder,
  FORMAT_VERSION,
  type LossCalibration,
  type ModelMetadata,
  createAutoencoder,
  evaluate,
} from './autoencoder';
import { activeBackend, initBackend } from './backend';
import {
  type EncodedRows,
  type FeatureSpec,
  encodeRows,
  fitFeatures,
  takeEncoded,
} from './features';
import {
  type NetworkShape,
  batchTensors,
  featureCount,
  forward,
  initialValues,
  networkShape,
  paramSpecs,
  rowLosses,
} from './network';
import { createOptimizer } from './optimizer';
import { type AutoencoderOptions, resolveOptions } from './options';
import { type Rng, createRng } from './rng';
import { flooredStd, populationStats } from './scalers';
import { applySwapNoise } from './swap-noise';

export interface EpochInfo {
  /** 1-based. */
  epoch: number;
  trainLoss: number;
  validationLoss?: number;
  /** The learning rate used during this epoch. */
  learningRate: number;
}

export interface TrainingHooks {
  /** Named in errors and kept in the model's metadata. */
  entity?: string;
  onEpoch?(info: EpochInfo): void;
  /** Non-fatal events, e.g. "sampled 1000000 of 1500000 rows". */
  onWarning?(message: string, details: Record<string, unknown>): void;
}

// Independent random streams derived from the one seed.
const STREAM_SAMPLE = 1;
const STREAM_INIT = 2;
const STREAM_TRAIN = 3;

function entityLabel(entity: string | undefined): string {
  return entity === undefined ? '' : ` for entity ${JSON.stringify(entity)}`;
}

function trainingFailed(message: string, entity: string | undefined, cause?: unknown): DfpError {
  return new DfpError(ErrorCodes.MODEL_TRAINING_FAILED, message, { cause, details: { entity } });
}

function checkFeatureList(table: Table, features: string[], entity: string | undefined): void {
  if (!Array.isArray(features) || features.length === 0) {
    throw trainingFailed(`no features given to train on${entityLabel(entity)}`, entity);
  }
  const seen = new Set<string>();
  for (const name of features) {
    if (seen.has(name)) {
      throw trainingFailed(`feature ${name} is listed twice${entityLabel(entity)}`, entity);
    }
    seen.add(name);
    if (!hasColumn(table, name)) {
      throw trainingFailed(
        `training table${entityLabel(entity)} has no column ${name} ` +
          `(has ${columnNames(table).join(', ')})`,
        entity,
      );
    }
  }
}

/** A seeded sample of `size` row indices, in ascending (chronological) order. */
function sampleRows(total: number, size: number, rng: Rng): Int32Array {
  const all = new Int32Array(total);
  for (let i = 0; i < total; i++) all[i] = i;
  for (let i = 0; i < size; i++) {
    const j = i + rng.int(total - i);
    const tmp = all[i];
    all[i] = all[j];
    all[j] = tmp;
  }
  return all.slice(0, size).sort();
}

/**
 * One epoch's batches: contiguous slices of `batchSize` rows (the last may be
 * short), visited in random order, with the rows shuffled inside each slice.
 */
export function epochBatches(rows: number, batchSize: number, rng: Rng): Int32Array[] {
  const starts: number[] = [];
  for (let s = 0; s < rows; s += batchSize) starts.push(s);
  return rng.shuffle(starts).map((start) => {
    const order = new Int32Array(Math.min(rows, start + batchSize) - start);
    for (let i = 0; i < order.length; i++) order[i] = start + i;
    return rng.shuffle(order);
  });
}

/** Throws MODEL_NON_FINITE naming the features whose loss is not finite. */
function checkFeatureLosses(
  perFeature: ArrayLike<number>,
  features: FeatureSpec[],
  entity: string | undefined,
  where: string,
): void {
  const bad: string[] = [];
  for (let f = 0; f < perFeature.length; f++) {
    if (!Number.isFinite(perFeature[f])) bad.push(`${features[f].name}=${perFeature[f]}`);
  }
  if (bad.length > 0) {
    throw new DfpError(
      ErrorCodes.MODEL_NON_FINITE,
      `${where} loss is not finite${entityLabel(entity)}: ${bad.join(', ')}; ` +
        'lower learningRate or check those features for extreme values',
      { details: { entity, features: bad.map((b) => b.split('=')[0]) } },
    );
  }
}

/** One optimisation step's loss and gradients (still to be applied). */
function gradientStep(
  net: NetworkShape,
  params: tf.Tensor[],
  input: EncodedRows,
  target: EncodedRows,
): { perFeature: tf.Tensor; grads: tf.Tensor[] } {
  const features = featureCount(net);
  return tf.tidy(() => {
    const batch = batchTensors(net, input, target);
    const objective = (...ps: tf.Tensor[]): tf.Tensor =>
      tf.mean(rowLosses(net, forward(net, ps, batch, true), batch), 0);
    // d(mean of the per-feature means) = 1/F for each feature's mean.
    const dy = tf.fill([features], 1 / features);
    const { value, grads } = tf.valueAndGrads(objective)(params, dy);
    return { perFeature: value, grads };
  });
}

/** Mean over rows of each feature's loss. */
function featureMeans(losses: Float32Array, features: number): Float64Array {
  const rows = losses.length / features;
  const sums = new Float64Array(features);
  for (let i = 0; i < losses.length; i++) sums[i % features] += losses[i];
  return sums.map((s) => s / rows);
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

function calibrate(losses: Float32Array, features: number, stdFloor: number): LossCalibration[] {
  const rows = losses.length / features;
  return Array.from({ length: features }, (_, f) => {
    const column = new Float64Array(rows);
    for (let r = 0; r < rows; r++) column[r] = losses[r * features + f];
    const stats = populationStats(column);
    return { mean: stats.mean, std: flooredStd(Math.max(stats.std, stdFloor)) };
  });
}

/** Fewest validation rows that calibrate on their own under `held_out`. */
const MIN_HELD_OUT_ROWS = 32;

/** The rows whose losses calibrate the z-scores (see `AutoencoderOptions.calibration`). */
function calibrationRows(data: PreparedTraining, opts: AutoencoderOptions): EncodedRows {
  const { train, validation } = data;
  if (opts.calibration === 'training' || !validation) return train;
  if (validation.rows >= MIN_HELD_OUT_ROWS) return validation;
  return concatEncoded(train, validation);
}

function concatEncoded(a: EncodedRows, b: EncodedRows): EncodedRows {
  const join = <T extends Float32Array | Int32Array>(x: T, y: T, make: (n: number) => T): T => {
    const out = make(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  return {
    rows: a.rows + b.rows,
    width: a.width,
    numeric: join(a.numeric, b.numeric, (n) => new Float32Array(n)),
    binary: join(a.binary, b.binary, (n) => new Float32Array(n)),
    categorical: join(a.categorical, b.categorical, (n) => new Int32Array(n)),
  };
}

interface PreparedTraining {
  rowsGiven: number;
  features: FeatureSpec[];
  train: EncodedRows;
  validation?: EncodedRows;
}

/** Sampling, the chronological split, feature fitting and encoding. */
function prepare(
  table: Table,
  names: string[],
  opts: AutoencoderOptions,
  hooks: TrainingHooks,
): PreparedTraining {
  const { entity } = hooks;
  checkFeatureList(table, names, entity);
  let rows = selectColumns(table, names);
  const rowsGiven = rows.numRows;
  if (rowsGiven > opts.maxTrainingRows) {
    const picked = sampleRows(rowsGiven, opts.maxTrainingRows, createRng(opts.seed, STREAM_SAMPLE));
    rows = takeRows(rows, picked);
    hooks.onWarning?.(`sampled ${opts.maxTrainingRows} of ${rowsGiven} rows`, {
      entity,
      rows: opts.maxTrainingRows,
      rowsGiven,
    });
  }

  const validationRows =
    opts.validationSize > 0 ? Math.ceil(opts.validationSize * rows.numRows) : 0;
  const trainRows = rows.numRows - validationRows;
  if (trainRows < 1) {
    throw trainingFailed(
      `no training rows${entityLabel(entity)}: ${rows.numRows} rows given, ` +
        `${validationRows} held out for validation (validationSize ${opts.validationSize})`,
      entity,
    );
  }
  const trainTable = sliceRows(rows, 0, trainRows);
  const features = fitFeatures(trainTable, names, opts.minCats, entity);
  return {
    rowsGiven,
    features,
    train: encodeRows(trainTable, features, entity),
    validation:
      validationRows > 0 ? encodeRows(sliceRows(rows, trainRows), features, entity) : undefined,
  };
}

interface FitResult {
  trainLosses: number[];
  validationLosses: number[];
  learningRates: number[];
  stoppedEarly: boolean;
}

/** The epoch loop. Replaces `state.params` as it goes; the caller disposes them. */
async function fit(
  net: NetworkShape,
  state: { params: tf.Tensor[] },
  data: PreparedTraining,
  opts: AutoencoderOptions,
  hooks: TrainingHooks,
): Promise<FitResult> {
  const { entity } = hooks;
  const { features, train, validation } = data;
  const result: FitResult = {
    trainLosses: [],
    validationLosses: [],
    learningRates: [],
    stoppedEarly: false,
  };
  const optimizer = createOptimizer(opts.optimizer);
  const rng = createRng(opts.seed, STREAM_TRAIN);
  let best = Infinity;
  let sinceBest = 0;
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const learningRate = opts.learningRate * opts.learningRateDecay ** epoch;
      let lossSum = 0;
      for (const order of epochBatches(train.rows, opts.batchSize, rng)) {
        const batch = takeEncoded(train, order);
        const noisy = applySwapNoise(batch, opts.swapProbability, rng);

        const { perFeature, grads } = gradientStep(net, state.params, noisy, batch);
        const losses = perFeature.dataSync();
        perFeature.dispose();
        try {
          checkFeatureLosses(losses, features, entity, `training (epoch ${epoch + 1})`);
        } catch (err) {
          tf.dispose(grads);
          throw err;
        }
        state.params = optimizer.step(state.params, grads, learningRate);
        lossSum += mean(losses) * batch.rows;
      }

      const trainLoss = lossSum / train.rows;
      let validationLoss: number | undefined;
      if (validation) {
        const { losses } = evaluate(net, state.params, validation, opts.evalBatchSize, false);
        const perFeature = featureMeans(losses, features.length);
        checkFeatureLosses(perFeature, features, entity, `validation (epoch ${epoch + 1})`);
        validationLoss = mean(perFeature);
        result.validationLosses.push(validationLoss);
      }
      result.trainLosses.push(trainLoss);
      result.learningRates.push(learningRate);
      hooks.onEpoch?.({ epoch: epoch + 1, trainLoss, validationLoss, learningRate });

      if (validationLoss !== undefined && opts.patience > 0) {
        if (validationLoss < best) {
          best = validationLoss;
          sinceBest = 0;
        } else if (++sinceBest >= opts.patience) {
          result.stoppedEarly = true;
          break;
        }
      }
      // Let timers and I/O run between epochs; a big user trains for minutes.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return result;
  } finally {
    optimizer.dispose();
  }
}

/**
 * Trains an autoencoder on `features` of `table` (rows in time order: the
 * validation split is the last rows). Throws MODEL_TRAINING_FAILED for
 * unusable input, CONFIG_INVALID for bad options and MODEL_NON_FINITE when a
 * value or a loss is not finite. The caller owns the model and must
 * `dispose()` it.
 */
export async function trainAutoencoder(
  table: Table,
  features: string[],
  options: Partial<AutoencoderOptions> = {},
  hooks: TrainingHooks = {},
): Promise<Autoencoder> {
  const started = Date.now();
  const opts = resolveOptions(options);
  const { entity } = hooks;
  const data = prepare(table, features, opts, hooks);
  const backend = activeBackend() ?? (await initBackend());

  const net = networkShape(data.features, opts);
  const categoricals = data.features.filter((s) => s.kind === 'categorical').map((s) => s.name);
  const specs = paramSpecs(net, categoricals);
  const state = {
    params: initialValues(specs, createRng(opts.seed, STREAM_INIT)).map((v, i) =>
      tf.tensor(v, specs[i].shape, 'float32'),
    ),
  };
  try {
    const history = await fit(net, state, data, opts, hooks);

    const nFeatures = data.features.length;
    const { losses } = evaluate(
      net,
      state.params,
      calibrationRows(data, opts),
      opts.evalBatchSize,
      false,
    );
    checkFeatureLosses(featureMeans(losses, nFeatures), data.features, entity, 'calibration');
    const calibration = calibrate(losses, nFeatures, opts.lossStdFloor);

    const metadata: ModelMetadata = {
      formatVersion: FORMAT_VERSION,
      features: data.features.map((spec, f) => ({ ...spec, calibration: calibration[f] })),
      network: net,
      options: opts,
      training: {
        ...(entity === undefined ? {} : { entity }),
        backend,
        rowsGiven: data.rowsGiven,
        rowsTrained: data.train.rows,
        rowsValidation: data.validation?.rows ?? 0,
        epochsRun: history.trainLosses.length,
        ...history,
        durationMs: Date.now() - started,
      },
    };
    return createAutoencoder(metadata, state.params);
  } catch (err) {
    tf.dispose(state.params);
    if (err instanceof DfpError) throw err;
    throw trainingFailed(
      `training failed${entityLabel(entity)}: ${errorMessage(err)}`,
      entity,
      err,
    );
  }
}
