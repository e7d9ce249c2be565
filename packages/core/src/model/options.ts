/**
 * Autoencoder hyper-parameters: defaults in one place, validated once before
 * training starts. Defaults follow the DFP training stage (see
 * shared/reference/morpheus-dfp.md §4.9), except `patience`, which here is a
 * real patience (see `AutoencoderOptions.patience`), the optimizer (Adam) and
 * the calibration (held-out rows), both chosen by measurement: docs/hyperparameters.md.
 */
import { DfpError, ErrorCodes } from '../errors';

export const ACTIVATIONS = ['relu', 'leaky_relu', 'tanh', 'sigmoid', 'selu', 'elu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const OPTIMIZERS = ['sgd', 'adam'] as const;
export const CALIBRATIONS = ['training', 'held_out'] as const;
export type Calibration = (typeof CALIBRATIONS)[number];
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface AutoencoderOptions {
  /** Hidden layer widths of the encoder, input side first. */
  encoderLayers: number[];
  /** Hidden layer widths of the decoder; the output heads sit on the last one. */
  decoderLayers: number[];
  activation: Activation;
  /** Share of each column's cells overwritten by swap noise in a training batch, in [0, 1). */
  swapProbability: number;
  learningRate: number;
  /** Multiplies the learning rate once after every epoch, in (0, 1]. */
  learningRateDecay: number;
  optimizer: OptimizerName;
  batchSize: number;
  /** Rows per forward pass for validation, calibration and scoring. */
  evalBatchSize: number;
  epochs: number;
  /**
   * Share of rows held out for validation: the last ceil(v·n) rows, so the
   * split is chronological for time-sorted input. In [0, 1); 0 = no validation.
   */
  validationSize: number;
  /**
   * Early stopping: stop after this many consecutive epochs whose validation
   * loss did not improve on the best seen so far. The weights of the last
   * epoch are kept (nothing is restored). 0 disables it; so does
   * validationSize 0. Morpheus's stage passes -1, which stops at the first rise.
   */
  patience: number;
  /** A categorical value seen fewer times than this in training maps to `_other`. */
  minCats: number;
  seed: number;
  /** Above this many rows, training uses a seeded sample of this many rows. */
  maxTrainingRows: number;
  /**
   * Smallest standard deviation of a feature's training losses used for its
   * z-scores. A feature the model reconstructs almost perfectly in training
   * (a user who always signs in from one place) has a loss spread near zero,
   * and any novelty in it then scores z in the thousands and drowns every
   * other feature in `mean_abs_z`. Morpheus floors only an exact 0 (to 1).
   * Measured on the generated data: 0.05 halves false positives, same recall.
   */
  lossStdFloor: number;
  /**
   * Which rows set each feature's loss mean and spread for z-scores.
   * `training` (Morpheus): the rows the model was fitted on, whose losses are
   * lower than any new row's, so normal new rows score high. `held_out`: the
   * validation rows when there are at least 32 of them (else every row), so
   * z measures surprise against rows the model did not see.
   */
  calibration: Calibration;
}

export const DEFAULT_AUTOENCODER_OPTIONS: Readonly<AutoencoderOptions> = Object.freeze({
  encoderLayers: [512, 500],
  decoderLayers: [512],
  activation: 'relu',
  swapProbability: 0.2,
  learningRate: 0.001,
  learningRateDecay: 0.99,
  // Morpheus's DFP stage uses SGD; at its batch size a per-user model of a few hundred rows
  // takes one step per epoch and barely trains. Adam (dfencoder's own default) learns each
  // user's habits in the same epochs: docs/hyperparameters.md has the measurements.
  optimizer: 'adam',
  batchSize: 512,
  evalBatchSize: 1024,
  epochs: 30,
  validationSize: 0.1,
  patience: 5,
  minCats: 1,
  seed: 42,
  maxTrainingRows: 1_000_000,
  lossStdFloor: 0.05,
  calibration: 'held_out',
});

function invalid(option: string, value: unknown, expected: string): DfpError {
  return new DfpError(
    ErrorCodes.CONFIG_INVALID,
    `autoencoder option ${option} is ${JSON.stringify(value)}; expected ${expected}`,
    { details: { option, value } },
  );
}

function checkInt(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalid(name, value, `an integer ≥ ${min}`);
  }
  return value;
}

function checkLayers(name: string, value: unknown, allowEmpty: boolean): number[] {
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0)) {
    throw invalid(
      name,
      value,
      `an array of positive integers${allowEmpty ? '' : ' (at least one)'}`,
    );
  }
  for (const width of value) {
    if (typeof width !== 'number' || !Number.isInteger(width) || width < 1) {
      throw invalid(name, value, 'an array of positive integers');
    }
  }
  return [...(value as number[])];
}

function checkRange(
  name: string,
  value: unknown,
  test: (v: number) => boolean,
  expected: string,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !test(value)) {
    throw invalid(name, value, expected);
  }
  return value;
}

/** Merges `partial` over the defaults and validates every field. Throws CONFIG_INVALID. */
export function resolveOptions(partial: Partial<AutoencoderOptions> = {}): AutoencoderOptions {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_AUTOENCODER_OPTIONS)) {
      throw invalid(key, (partial as Record<string, unknown>)[key], 'no such option (a typo?)');
    }
  }
  // An explicit `undefined` means "use the default", as with an absent key.
  const merged: AutoencoderOptions = { ...DEFAULT_AUTOENCODER_OPTIONS };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }

  if (!ACTIVATIONS.includes(merged.activation)) {
    throw invalid('activation', merged.activation, `one of ${ACTIVATIONS.join(', ')}`);
  }
  if (!CALIBRATIONS.includes(merged.calibration)) {
    throw invalid('calibration', merged.calibration, `one of ${CALIBRATIONS.join(', ')}`);
  }
  if (!OPTIMIZERS.includes(merged.optimizer)) {
    throw invalid('optimizer', merged.optimizer, `one of ${OPTIMIZERS.join(', ')}`);
  }
  return {
    encoderLayers: checkLayers('encoderLayers', merged.encoderLayers, false),
    decoderLayers: checkLayers('decoderLayers', merged.decoderLayers, true),
    activation: merged.activation,
    swapProbability: checkRange(
      'swapProbability',
      merged.swapProbability,
      (v) => v >= 0 && v < 1,
      'a number in [0, 1)',
    ),
    learningRate: checkRange('learningRate', merged.learningRate, (v) => v > 0, 'a number > 0'),
    learningRateDecay: checkRange(
      'learningRateDecay',
      merged.learningRateDecay,
      (v) => v > 0 && v <= 1,
      'a number in (0, 1]',
    ),
    optimizer: merged.optimizer,
    batchSize: checkInt('batchSize', merged.batchSize, 1),
    evalBatchSize: checkInt('evalBatchSize', merged.evalBatchSize, 1),
    epochs: checkInt('epochs', merged.epochs, 1),
    validationSize: checkRange(
      'validationSize',
      merged.validationSize,
      (v) => v >= 0 && v < 1,
      'a number in [0, 1)',
    ),
    patience: checkInt('patience', merged.patience, 0),
    minCats: checkInt('minCats', merged.minCats, 1),
    seed: checkInt('seed', merged.seed, 0),
    maxTrainingRows: checkInt('maxTrainingRows', merged.maxTrainingRows, 1),
    lossStdFloor: checkRange('lossStdFloor', merged.lossStdFloor, (v) => v >= 0, 'a number ≥ 0'),
    calibration: merged.calibration,
  };
}
