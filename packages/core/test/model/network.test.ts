/**
 * The hand-written dense and embedding gradients used for training must equal
 * the gradients tfjs derives for the plain forward.
 */
import * as tf from '@tensorflow/tfjs';
import {
  ACTIVATIONS,
  createRng,
  encodeRows,
  fitFeatures,
  initBackend,
  resolveOptions,
} from '../../src/model';
import {
  batchTensors,
  forward,
  initialValues,
  networkShape,
  paramSpecs,
  rowLosses,
} from '../../src/model/network';
import { applySwapNoise } from '../../src/model/swap-noise';
import { AUTH_FEATURES, authTable } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('model > network', () => {
  it.each(ACTIVATIONS)('custom gradients equal autodiff gradients (%s)', (activation) => {
    const table = authTable(48);
    const features = fitFeatures(table, AUTH_FEATURES, 1);
    const options = resolveOptions({ encoderLayers: [12, 6], decoderLayers: [10], activation });
    const net = networkShape(features, options);
    const specs = paramSpecs(
      net,
      features.filter((f) => f.kind === 'categorical').map((f) => f.name),
    );
    const params = initialValues(specs, createRng(3)).map((v, i) => tf.tensor(v, specs[i].shape));
    const clean = encodeRows(table, features);
    const noisy = applySwapNoise(clean, 0.3, createRng(4));

    const gradients = (train: boolean): { value: number[]; grads: number[][] } =>
      tf.tidy(() => {
        const batch = batchTensors(net, noisy, clean);
        const f = (...ps: tf.Tensor[]): tf.Tensor =>
          tf.mean(rowLosses(net, forward(net, ps, batch, train), batch), 0);
        const out = tf.valueAndGrads(f)(params, tf.fill([features.length], 1 / features.length));
        return {
          value: Array.from(out.value.dataSync()),
          grads: out.grads.map((g) => Array.from(g.dataSync())),
        };
      });
    const custom = gradients(true);
    const reference = gradients(false);
    expect(custom.value).toEqual(reference.value);
    custom.grads.forEach((g, i) => {
      const scale = Math.max(1e-6, ...reference.grads[i].map(Math.abs));
      const worst = Math.max(...g.map((v, k) => Math.abs(v - reference.grads[i][k])));
      expect(worst / scale).toBeLessThan(1e-4);
    });
    // Every parameter receives a gradient.
    custom.grads.forEach((g) => expect(g.some((v) => v !== 0)).toBe(true));
    tf.dispose(params);
  });

  it('initialises like PyTorch: uniform ±1/√fan_in for dense layers, N(0,1) embeddings', () => {
    const features = fitFeatures(authTable(500), AUTH_FEATURES, 1);
    const net = networkShape(
      features,
      resolveOptions({ encoderLayers: [256, 64], decoderLayers: [] }),
    );
    const specs = paramSpecs(net, ['browser', 'os', 'location']);
    expect(specs.map((s) => `${s.name}[${s.shape.join(',')}]`)).toEqual([
      'embedding/browser[6,4]',
      'embedding/os[6,4]',
      'embedding/location[13,7]',
      // 3 numeric + 1 binary + 4 + 4 + 7 embedding columns
      'encoder/0/kernel[19,256]',
      'encoder/0/bias[256]',
      'encoder/1/kernel[256,64]',
      'encoder/1/bias[64]',
      // 3 numeric + 1 binary + 6 + 6 + 13 logits
      'head/kernel[64,29]',
      'head/bias[29]',
    ]);
    const values = initialValues(specs, createRng(1));
    const bound = 1 / Math.sqrt(19);
    const kernel = Array.from(values[3]);
    expect(Math.max(...kernel.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...kernel.map(Math.abs))).toBeGreaterThan(bound * 0.99);
    expect(Math.max(...Array.from(values[4]).map(Math.abs))).toBeLessThanOrEqual(bound);
    const head = Array.from(values[7]);
    expect(Math.max(...head.map(Math.abs))).toBeLessThanOrEqual(1 / 8);
    const embedding = Array.from(values[2]);
    const mean = embedding.reduce((a, b) => a + b, 0) / embedding.length;
    expect(Math.abs(mean)).toBeLessThan(0.6);
    expect(Math.max(...embedding.map(Math.abs))).toBeGreaterThan(1);
  });
});
