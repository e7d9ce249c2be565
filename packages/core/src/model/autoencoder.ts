/**
 * A trained autoencoder: fitted features, network weights and the per-feature
 * loss calibration, able to score tables. Scores follow Morpheus's result
 * columns (`<f>_pred`, `<f>_loss`, `<f>_z_loss`, `max_abs_z`, `mean_abs_z`),
 * except that binary predictions are not inverted and a non-finite loss or
 * z-score is an error, never a silent NaN.
 */
import * as tf from '@tensorflow/tfjs';
import { DfpError, ErrorCodes } from '../errors';
import type { ColumnData, Table } from '../table';
import {
  type EncodedRows,
  type FeatureSpec,
  MISSING_CATEGORY,
  encodeRows,
  sliceEncoded,
} from './features';
import {
  type NetworkShape,
  batchTensors,
  featureCount,
  forward,
  outputDim,
  rowLosses,
} from './network';
import { OnnxRunner, scoringEngine } from './onnx';
import { isLostSession } from './onnx-sessions';
import type { AutoencoderOptions } from './options';

export const FORMAT_VERSION = 1;

/** μ_f and σ_f of a feature's per-row training losses; σ_f is never 0. */
export interface LossCalibration {
  mean: number;
  std: number;
}

export type ModelFeature = FeatureSpec & { calibration: LossCalibration };

export interface TrainingSummary {
  entity?: string;
  /** Backend the model was trained on. */
  backend: string;
  /** Rows given to training, before any sampling. */
  rowsGiven: number;
  /** Rows used to fit (training split). */
  rowsTrained: number;
  rowsValidation: number;
  epochsRun: number;
  stoppedEarly: boolean;
  /** Per epoch: row-weighted mean of the batch objectives. */
  trainLosses: number[];
  /** Per epoch, when validating: mean over validation rows and features of the loss. */
  validationLosses: number[];
  learningRates: number[];
  durationMs: number;
}

/** Everything needed to rebuild a model, apart from the weights. Plain JSON. */
export interface ModelMetadata {
  formatVersion: typeof FORMAT_VERSION;
  /** Model order: numeric, then binary, then categorical. */
  features: ModelFeature[];
  network: NetworkShape;
  options: AutoencoderOptions;
  training: TrainingSummary;
}

export interface ScoreOptions {
  /** Named in error messages; defaults to the entity the model was trained for. */
  entity?: string;
  /**
   * Each feature's |z| counts at most this much in `mean_abs_z` (default: no
   * cap, as Morpheus). `<f>_z_loss` and `max_abs_z` stay uncapped.
   */
  zCap?: number;
}

export interface Autoencoder {
  readonly features: readonly ModelFeature[];
  readonly metadata: ModelMetadata;
  /**
   * Per feature in model order `<f>_pred`, `<f>_loss`, `<f>_z_loss`, then
   * `max_abs_z` and `mean_abs_z`; one value per input row.
   */
  score(table: Table, options?: ScoreOptions): ColumnData[];
  /**
   * The same columns from the process's scoring engine (`scoringEngine()`):
   * ONNX Runtime when it is available, else the tfjs forward of `score`.
   */
  scoreAsync(table: Table, options?: ScoreOptions): Promise<ColumnData[]>;
  /** Per-row losses, one array per feature in model order. */
  perRowLosses(table: Table, options?: ScoreOptions): Float32Array[];
  /** Frees the weights; the model cannot be used afterwards. */
  dispose(): void;
  readonly disposed: boolean;
}

/** Per-row losses (rows × features, row-major) and optionally head outputs (rows × outputDim). */
export interface Evaluation {
  losses: Float32Array;
  outputs?: Float32Array;
}

/** Runs the plain forward over `data` in chunks of `batchSize` rows. */
export function evaluate(
  net: NetworkShape,
  params: tf.Tensor[],
  data: EncodedRows,
  batchSize: number,
  withOutputs: boolean,
): Evaluation {
  const features = featureCount(net);
  const width = outputDim(net);
  const losses = new Float32Array(data.rows * features);
  const outputs = withOutputs ? new Float32Array(data.rows * width) : undefined;
  for (let start = 0; start < data.rows; start += batchSize) {
    const end = Math.min(data.rows, start + batchSize);
    const chunk = sliceEncoded(data, start, end);
    // Tensors come out of tidy and are read outside it (reading inside is slow).
    const [loss, out] = tf.tidy(() => {
      const batch = batchTensors(net, chunk);
      const head = forward(net, params, batch, false);
      return [rowLosses(net, head, batch), head];
    });
    losses.set(loss.dataSync() as Float32Array, start * features);
    if (outputs) outputs.set(out.dataSync() as Float32Array, start * width);
    loss.dispose();
    out.dispose();
  }
  return { losses, outputs };
}

function entityLabel(entity: string | undefined): string {
  return entity === undefined ? '' : ` for entity ${JSON.stringify(entity)}`;
}

function nonFinite(
  what: string,
  entity: string | undefined,
  feature: string,
  row: number,
  value: number,
): DfpError {
  return new DfpError(
    ErrorCodes.MODEL_NON_FINITE,
    `${what} of feature ${feature}${entityLabel(entity)} is ${value} at row ${row}; ` +
      'the model or the input is unusable for this row (check the input values, retrain the model)',
    { details: { entity, feature, row, value } },
  );
}

/** Weights not yet made into tensors: models that only score with ONNX Runtime never are. */
export interface WeightArrays {
  values: Float32Array[];
  shapes: number[][];
}

class AutoencoderModel implements Autoencoder {
  readonly features: readonly ModelFeature[];
  private params: tf.Tensor[] | undefined;
  private arrays: WeightArrays | undefined;
  private released = false;
  private runner: Promise<OnnxRunner> | undefined;

  constructor(
    readonly metadata: ModelMetadata,
    weights: tf.Tensor[] | WeightArrays,
  ) {
    this.features = metadata.features;
    if (Array.isArray(weights)) this.params = weights;
    else this.arrays = weights;
  }

  get disposed(): boolean {
    return this.released;
  }

  /** The weight tensors, in `paramSpecs` order (for serialisation). */
  weights(): tf.Tensor[] {
    return this.live();
  }

  private usable(): void {
    if (this.released) {
      throw new DfpError(ErrorCodes.MODEL_INVALID, 'the model was disposed and cannot be used');
    }
  }

  /** The weight tensors, made on first use. */
  private live(): tf.Tensor[] {
    this.usable();
    if (!this.params) {
      const { values, shapes } = this.arrays as WeightArrays;
      this.params = values.map((v, i) => tf.tensor(v, shapes[i], 'float32'));
      this.arrays = undefined;
    }
    return this.params;
  }

  /** The weights as arrays, in `paramSpecs` order. */
  private weightValues(): Float32Array[] {
    this.usable();
    if (this.arrays) return this.arrays.values;
    return (this.params as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
  }

  private run(table: Table, options: ScoreOptions | undefined, withOutputs: boolean) {
    const params = this.live();
    const entity = options?.entity ?? this.metadata.training.entity;
    const data = encodeRows(table, this.metadata.features, entity);
    const result = evaluate(
      this.metadata.network,
      params,
      data,
      this.metadata.options.evalBatchSize,
      withOutputs,
    );
    this.checkLosses(result.losses, entity);
    return { ...result, rows: data.rows, entity };
  }

  private checkLosses(losses: Float32Array, entity: string | undefined): void {
    const nFeatures = this.features.length;
    for (let i = 0; i < losses.length; i++) {
      if (!Number.isFinite(losses[i])) {
        const feature = this.features[i % nFeatures].name;
        throw nonFinite('loss', entity, feature, Math.floor(i / nFeatures), losses[i]);
      }
    }
  }

  private onnx(): Promise<OnnxRunner> {
    if (!this.runner) {
      const weights = this.weightValues();
      const names = this.features.filter((f) => f.kind === 'categorical').map((f) => f.name);
      const runner = OnnxRunner.create(this.metadata.network, names, weights);
      this.runner = runner;
      // A failed session is not kept: the next call tries again.
      runner.catch(() => {
        if (this.runner === runner) this.runner = undefined;
      });
    }
    return this.runner;
  }

  /**
   * The rows are encoded and handed to the session before this returns, so a
   * caller can prepare its next table while the network runs (on the session
   * worker) and the model may be disposed meanwhile. A session lost with its
   * worker is made again on a new one, once.
   */
  scoreAsync(table: Table, options?: ScoreOptions): Promise<ColumnData[]> {
    let data: EncodedRows;
    const entity = options?.entity ?? this.metadata.training.entity;
    try {
      if (scoringEngine() === 'tfjs') return Promise.resolve(this.score(table, options));
      this.usable();
      data = encodeRows(table, this.metadata.features, entity);
    } catch (err) {
      return Promise.reject(err);
    }
    const attempt = (): Promise<{ losses: Float32Array; outputs: Float32Array }> => {
      let runner: Promise<OnnxRunner>;
      try {
        runner = this.onnx();
      } catch (err) {
        return Promise.reject(err);
      }
      return runner
        .then((r) => r.evaluate(data))
        .catch((err: unknown) => {
          // The session is made again on the next call.
          if (this.runner === runner) {
            this.runner = undefined;
            runner.then((r) => r.release()).catch(() => undefined);
          }
          throw err;
        });
    };
    return attempt()
      .catch((err: unknown) => {
        if (isLostSession(err)) return attempt();
        throw err;
      })
      .then(({ losses, outputs }) => {
        this.checkLosses(losses, entity);
        return this.columns(losses, outputs, data.rows, entity, options?.zCap);
      });
  }

  perRowLosses(table: Table, options?: ScoreOptions): Float32Array[] {
    const { losses, rows } = this.run(table, options, false);
    const n = this.features.length;
    return this.features.map((_, f) => {
      const out = new Float32Array(rows);
      for (let r = 0; r < rows; r++) out[r] = losses[r * n + f];
      return out;
    });
  }

  score(table: Table, options?: ScoreOptions): ColumnData[] {
    const { losses, outputs, rows, entity } = this.run(table, options, true);
    return this.columns(losses, outputs as Float32Array, rows, entity, options?.zCap);
  }

  /** Result columns from per-row losses and head outputs. */
  private columns(
    losses: Float32Array,
    out: Float32Array,
    rows: number,
    entity: string | undefined,
    zCap = Infinity,
  ): ColumnData[] {
    const width = outputDim(this.metadata.network);
    const n = this.features.length;
    const columns: ColumnData[] = [];
    const maxAbsZ = new Float64Array(rows);
    const sumAbsZ = new Float64Array(rows);

    let offset = 0;
    this.features.forEach((feature, f) => {
      const lossValues = new Float64Array(rows);
      const zValues = new Float64Array(rows);
      const { mean, std } = feature.calibration;
      for (let r = 0; r < rows; r++) {
        const loss = losses[r * n + f];
        const z = Math.abs((loss - mean) / std);
        if (!Number.isFinite(z)) throw nonFinite('z-score', entity, feature.name, r, z);
        lossValues[r] = loss;
        zValues[r] = z;
        if (z > maxAbsZ[r]) maxAbsZ[r] = z;
        sumAbsZ[r] += Math.min(z, zCap);
      }

      let pred: ColumnData;
      if (feature.kind === 'numeric') {
        const values = new Float64Array(rows);
        for (let r = 0; r < rows; r++)
          values[r] = out[r * width + offset] * feature.std + feature.mean;
        pred = { name: `${feature.name}_pred`, type: 'float', values };
        offset += 1;
      } else if (feature.kind === 'binary') {
        // logit > 0 ⇔ p > 0.5.
        const values = Array.from({ length: rows }, (_, r) => out[r * width + offset] > 0);
        pred = { name: `${feature.name}_pred`, type: 'bool', values };
        offset += 1;
      } else {
        const real = feature.categories.length;
        const values = new Array<string | null>(rows);
        for (let r = 0; r < rows; r++) {
          let best = -1;
          let bestLogit = -Infinity;
          // The catch-all (index `real`) is never a prediction.
          for (let c = 0; c < real; c++) {
            const logit = out[r * width + offset + c];
            if (logit > bestLogit || best < 0) {
              best = c;
              bestLogit = logit;
            }
          }
          const label = best < 0 ? null : feature.categories[best];
          values[r] = label === MISSING_CATEGORY ? null : label;
        }
        pred = { name: `${feature.name}_pred`, type: 'string', values };
        offset += real + 1;
      }
      columns.push(
        pred,
        { name: `${feature.name}_loss`, type: 'float', values: lossValues },
        { name: `${feature.name}_z_loss`, type: 'float', values: zValues },
      );
    });

    const meanAbsZ = sumAbsZ.map((s) => s / n);
    columns.push(
      { name: 'max_abs_z', type: 'float', values: maxAbsZ },
      { name: 'mean_abs_z', type: 'float', values: meanAbsZ },
    );
    return columns;
  }

  dispose(): void {
    if (this.params) tf.dispose(this.params);
    this.params = undefined;
    this.arrays = undefined;
    this.released = true;
    const runner = this.runner;
    this.runner = undefined;
    // Releasing frees the session's native memory; a failure there changes nothing for callers.
    runner?.then((r) => r.release()).catch(() => undefined);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Wraps metadata and weights (tensors, or arrays with their shapes, in
 * `paramSpecs` order); the model owns them. The metadata is copied and frozen,
 * so callers cannot change a live model.
 */
export function createAutoencoder(
  metadata: ModelMetadata,
  weights: tf.Tensor[] | WeightArrays,
): Autoencoder {
  return new AutoencoderModel(deepFreeze(structuredClone(metadata)), weights);
}

/** The weight tensors of a live model, in `paramSpecs` order. */
export function modelWeights(model: Autoencoder): tf.Tensor[] {
  if (!(model instanceof AutoencoderModel)) {
    throw new DfpError(ErrorCodes.MODEL_INVALID, 'not a model created by this package');
  }
  return model.weights();
}
