/**
 * The autoencoder network as plain tensors: an embedding table per categorical
 * feature, dense encoder and decoder layers, and one output head whose columns
 * are the numeric outputs, the binary logits and each categorical's logits.
 * (One head matrix is the same model as a head per feature type — every column
 * has its own weights — but costs a single matMul.)
 *
 * Training uses dense layers with a hand-written gradient that transposes
 * explicitly, and `oneHot(code) @ E` embeddings: both are much faster on the
 * wasm backend than tfjs's built-in gradients (ml-runtime.md §3). Inference
 * uses the plain fused forward.
 */
import * as tf from '@tensorflow/tfjs';
import { type EncodedRows, type FeatureSpec, layoutOf } from './features';
import type { Activation, AutoencoderOptions } from './options';
import type { Rng } from './rng';

/** BCE terms are capped like PyTorch's log clamp at −100. */
const MAX_BCE = 100;
const LEAKY_RELU_SLOPE = 0.01;
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

export interface NetworkShape {
  numeric: number;
  binary: number;
  /** Per categorical feature: codes (categories + `_other`) and embedding width. */
  embeddings: { vocab: number; dim: number }[];
  encoderLayers: number[];
  decoderLayers: number[];
  activation: Activation;
}

/** The network for fitted features and options. */
export function networkShape(features: FeatureSpec[], options: AutoencoderOptions): NetworkShape {
  const layout = layoutOf(features);
  return {
    numeric: layout.numeric.length,
    binary: layout.binary.length,
    embeddings: layout.categorical.map((f) => ({
      vocab: f.categories.length + 1,
      dim: f.embeddingDim,
    })),
    encoderLayers: [...options.encoderLayers],
    decoderLayers: [...options.decoderLayers],
    activation: options.activation,
  };
}

export interface ParamSpec {
  name: string;
  shape: number[];
}

export function inputDim(net: NetworkShape): number {
  return net.numeric + net.binary + net.embeddings.reduce((sum, e) => sum + e.dim, 0);
}

export function outputDim(net: NetworkShape): number {
  return net.numeric + net.binary + net.embeddings.reduce((sum, e) => sum + e.vocab, 0);
}

export function featureCount(net: NetworkShape): number {
  return net.numeric + net.binary + net.embeddings.length;
}

/** Names and shapes of every parameter tensor, in the order the model keeps them. */
export function paramSpecs(net: NetworkShape, categoricalNames: string[]): ParamSpec[] {
  const specs: ParamSpec[] = net.embeddings.map((e, i) => ({
    name: `embedding/${categoricalNames[i]}`,
    shape: [e.vocab, e.dim],
  }));
  let width = inputDim(net);
  const dense = (prefix: string, layers: number[]): void => {
    layers.forEach((units, i) => {
      specs.push({ name: `${prefix}/${i}/kernel`, shape: [width, units] });
      specs.push({ name: `${prefix}/${i}/bias`, shape: [units] });
      width = units;
    });
  };
  dense('encoder', net.encoderLayers);
  dense('decoder', net.decoderLayers);
  specs.push({ name: 'head/kernel', shape: [width, outputDim(net)] });
  specs.push({ name: 'head/bias', shape: [outputDim(net)] });
  return specs;
}

/**
 * Initial values like PyTorch's defaults: Linear weights and biases uniform in
 * ±1/√fan_in (Kaiming-uniform with a = √5), embeddings standard normal.
 */
export function initialValues(specs: ParamSpec[], rng: Rng): Float32Array[] {
  return specs.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (name.startsWith('embedding/')) {
      for (let i = 0; i < size; i++) values[i] = rng.normal();
      return values;
    }
    // A bias follows its kernel, whose first dimension is the fan-in.
    const kernelShape = name.endsWith('/bias')
      ? specs.find((s) => s.name === name.replace(/bias$/, 'kernel'))?.shape
      : shape;
    const bound = 1 / Math.sqrt(kernelShape?.[0] ?? 1);
    for (let i = 0; i < size; i++) values[i] = rng.uniform(-bound, bound);
    return values;
  });
}

/** Tensors for one batch: inputs and reconstruction targets. */
export interface BatchTensors {
  /** Numeric and binary inputs side by side, or null when there are none. */
  dense: tf.Tensor2D | null;
  /** One-hot input codes per categorical feature. */
  inputCodes: tf.Tensor2D[];
  numericTarget: tf.Tensor2D | null;
  binaryTarget: tf.Tensor2D | null;
  targetCodes: tf.Tensor2D[];
}

function oneHotRows(
  codes: Int32Array,
  rows: number,
  stride: number,
  col: number,
  vocab: number,
): tf.Tensor2D {
  const values = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) values[r * vocab + codes[r * stride + col]] = 1;
  return tf.tensor2d(values, [rows, vocab]);
}

/** Builds batch tensors. `target` defaults to `input` (no corruption). */
export function batchTensors(net: NetworkShape, input: EncodedRows, target = input): BatchTensors {
  const rows = input.rows;
  const nNum = net.numeric;
  const nBin = net.binary;
  const nCat = net.embeddings.length;
  let dense: tf.Tensor2D | null = null;
  if (nNum + nBin > 0) {
    const width = nNum + nBin;
    const values = new Float32Array(rows * width);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < nNum; c++) values[r * width + c] = input.numeric[r * nNum + c];
      for (let c = 0; c < nBin; c++) values[r * width + nNum + c] = input.binary[r * nBin + c];
    }
    dense = tf.tensor2d(values, [rows, width]);
  }
  const inputCodes = net.embeddings.map((e, i) =>
    oneHotRows(input.categorical, rows, nCat, i, e.vocab),
  );
  const same = target === input;
  return {
    dense,
    inputCodes,
    numericTarget: nNum > 0 ? tf.tensor2d(target.numeric, [rows, nNum]) : null,
    binaryTarget: nBin > 0 ? tf.tensor2d(target.binary, [rows, nBin]) : null,
    targetCodes: same
      ? inputCodes
      : net.embeddings.map((e, i) => oneHotRows(target.categorical, rows, nCat, i, e.vocab)),
  };
}

export function disposeBatch(batch: BatchTensors): void {
  const all = new Set<tf.Tensor>([...batch.inputCodes, ...batch.targetCodes]);
  for (const t of [batch.dense, batch.numericTarget, batch.binaryTarget]) if (t) all.add(t);
  for (const t of all) t.dispose();
}

type FusedName = 'relu' | 'leakyrelu' | 'sigmoid' | 'elu' | 'linear';
const FUSED: Partial<Record<Activation | 'linear', FusedName>> = {
  relu: 'relu',
  leaky_relu: 'leakyrelu',
  sigmoid: 'sigmoid',
  elu: 'elu',
  linear: 'linear',
};

function activate(z: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  switch (activation) {
    case 'relu':
      return tf.relu(z);
    case 'leaky_relu':
      return tf.leakyRelu(z, LEAKY_RELU_SLOPE);
    case 'tanh':
      return tf.tanh(z);
    case 'sigmoid':
      return tf.sigmoid(z);
    case 'selu':
      return tf.selu(z);
    case 'elu':
      return tf.elu(z);
  }
}

/** act(x·W + b), fused where the backend can. */
function denseForward(
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  activation: Activation | 'linear',
): tf.Tensor2D {
  const fused = FUSED[activation];
  if (fused !== undefined) {
    return tf.fused.matMul({
      a: x,
      b: kernel,
      bias,
      activation: fused,
      leakyreluAlpha: LEAKY_RELU_SLOPE,
    }) as tf.Tensor2D;
  }
  return activate(tf.add(tf.matMul(x, kernel), bias), activation as Activation);
}

/** d act / d z, written in terms of the activation's output y. */
function activationSlope(y: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  switch (activation) {
    case 'relu':
      return tf.step(y);
    case 'leaky_relu':
      return tf.step(y, LEAKY_RELU_SLOPE);
    case 'tanh':
      return tf.sub(1, tf.square(y));
    case 'sigmoid':
      return tf.mul(y, tf.sub(1, y));
    case 'elu':
      // y > 0: 1; otherwise y = e^z − 1, so the slope is y + 1 (≤ 1).
      return tf.minimum(tf.add(y, 1), 1);
    case 'selu':
      return tf.where(
        tf.greater(y, 0),
        tf.fill(y.shape, SELU_SCALE),
        tf.add(y, SELU_SCALE * SELU_ALPHA),
      ) as tf.Tensor2D;
  }
}

type DenseOp = (x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D;
const denseOps = new Map<Activation | 'linear', DenseOp>();

/** A dense layer whose gradient uses explicit transposes (fast on wasm). */
function trainableDense(activation: Activation | 'linear'): DenseOp {
  let op = denseOps.get(activation);
  if (op) return op;
  op = tf.customGrad((...args: unknown[]) => {
    const [x, kernel, bias, save] = args as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor1D,
      tf.GradSaveFunc,
    ];
    const y = denseForward(x, kernel, bias, activation);
    save([x, kernel, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ks, ys] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const dz = activation === 'linear' ? dy : tf.mul(dy, activationSlope(ys, activation));
        return [tf.matMul(dz, tf.transpose(ks)), tf.matMul(tf.transpose(xs), dz), tf.sum(dz, 0)];
      },
    };
  }) as unknown as DenseOp;
  denseOps.set(activation, op);
  return op;
}

/** oneHot @ E with a gradient only for E (the codes are data). */
function trainableEmbedding(oneHot: tf.Tensor2D, table: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: unknown[]) => {
    const [embeddings] = args as [tf.Tensor2D];
    return {
      value: tf.matMul(oneHot, embeddings) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D) => [tf.matMul(tf.transpose(oneHot), dy)],
    };
  }) as unknown as (t: tf.Tensor2D) => tf.Tensor2D;
  return op(table);
}

/**
 * Head outputs [rows, outputDim] for a batch. `train` selects the layers with
 * the hand-written gradient; otherwise the plain forward runs.
 */
export function forward(
  net: NetworkShape,
  params: tf.Tensor[],
  batch: BatchTensors,
  train: boolean,
): tf.Tensor2D {
  const nCat = net.embeddings.length;
  const parts: tf.Tensor2D[] = batch.dense ? [batch.dense] : [];
  for (let i = 0; i < nCat; i++) {
    const table = params[i] as tf.Tensor2D;
    const codes = batch.inputCodes[i];
    parts.push(train ? trainableEmbedding(codes, table) : tf.matMul(codes, table));
  }
  let h = parts.length === 1 ? parts[0] : tf.concat(parts, 1);

  const layers = net.encoderLayers.length + net.decoderLayers.length;
  for (let l = 0; l <= layers; l++) {
    const kernel = params[nCat + 2 * l] as tf.Tensor2D;
    const bias = params[nCat + 2 * l + 1] as tf.Tensor1D;
    const activation = l === layers ? 'linear' : net.activation;
    h = train
      ? trainableDense(activation)(h, kernel, bias)
      : denseForward(h, kernel, bias, activation);
  }
  return h;
}

/**
 * Per-row, per-feature losses [rows, features], features in model order:
 * squared error (numeric, scaled space), binary cross-entropy from the logit
 * (numerically stable form, capped at 100), softmax cross-entropy (categorical).
 */
export function rowLosses(net: NetworkShape, out: tf.Tensor2D, batch: BatchTensors): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  let offset = 0;
  if (net.numeric > 0 && batch.numericTarget) {
    const pred = tf.slice(out, [0, 0], [-1, net.numeric]);
    parts.push(tf.squaredDifference(pred, batch.numericTarget));
    offset += net.numeric;
  }
  if (net.binary > 0 && batch.binaryTarget) {
    const z = tf.slice(out, [0, offset], [-1, net.binary]);
    // max(z, 0) − z·t + log(1 + e^−|z|)  ==  −[t·log σ(z) + (1 − t)·log(1 − σ(z))]
    const bce = tf.add(
      tf.sub(tf.relu(z), tf.mul(z, batch.binaryTarget)),
      tf.log1p(tf.exp(tf.neg(tf.abs(z)))),
    );
    parts.push(tf.minimum(bce, MAX_BCE));
    offset += net.binary;
  }
  net.embeddings.forEach((e, i) => {
    const logits = tf.slice(out, [0, offset], [-1, e.vocab]);
    const target = tf.sum(tf.mul(logits, batch.targetCodes[i]), 1, true);
    parts.push(tf.sub(tf.logSumExp(logits, 1, true), target));
    offset += e.vocab;
  });
  return parts.length === 1 ? parts[0] : tf.concat(parts, 1);
}
