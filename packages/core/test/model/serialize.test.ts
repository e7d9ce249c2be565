import * as tf from '@tensorflow/tfjs';
import { DfpError, ErrorCodes } from '../../src/errors';
import {
  type Autoencoder,
  deserializeModel,
  initBackend,
  serializeModel,
  setScoringEngine,
  trainAutoencoder,
} from '../../src/model';
import { AUTH_FEATURES, authTable } from './helpers';

const SMALL = { encoderLayers: [16, 8], decoderLayers: [16], batchSize: 64, epochs: 2 };

let model: Autoencoder;

beforeAll(async () => {
  await initBackend('wasm');
  model = await trainAutoencoder(authTable(200), AUTH_FEATURES, SMALL, { entity: 'jack' });
});

afterAll(() => model.dispose());

function modelInvalid(fn: () => unknown): DfpError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DfpError);
    expect((err as DfpError).code).toBe(ErrorCodes.MODEL_INVALID);
    return err as DfpError;
  }
  throw new Error('expected MODEL_INVALID');
}

describe('model > serialize', () => {
  it('round-trips through JSON text and bytes with bitwise-identical scores', () => {
    const saved = serializeModel(model);
    const text = JSON.stringify(saved.metadata);
    const bytes = Uint8Array.from(saved.weights);
    const loaded = deserializeModel({ metadata: JSON.parse(text), weights: bytes });
    const table = authTable(120, 11);
    const before = model.score(table);
    const after = loaded.score(table);
    expect(after.map((c) => c.name)).toEqual(before.map((c) => c.name));
    after.forEach((c, i) => expect(Array.from(c.values)).toEqual(Array.from(before[i].values)));
    expect(loaded.metadata).toEqual(model.metadata);
    // Metadata as a JSON string is accepted too.
    const fromText = deserializeModel({ metadata: text, weights: bytes });
    expect(fromText.perRowLosses(table)).toEqual(model.perRowLosses(table));
    loaded.dispose();
    fromText.dispose();
  });

  it('makes weight tensors only when a tfjs path needs them (never for ONNX scoring)', async () => {
    const saved = serializeModel(model);
    const table = authTable(60, 13);
    const expected = model.score(table);
    const before = tf.memory().numTensors;
    const loaded = deserializeModel({ metadata: saved.metadata, weights: saved.weights });
    expect(tf.memory().numTensors).toBe(before);
    setScoringEngine('onnx');
    try {
      const viaOnnx = await loaded.scoreAsync(table);
      expect(tf.memory().numTensors).toBe(before);
      const mean = viaOnnx.find((c) => c.name === 'mean_abs_z')?.values as Float64Array;
      const want = expected.find((c) => c.name === 'mean_abs_z')?.values as Float64Array;
      mean.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-3));
    } finally {
      setScoringEngine(undefined);
    }
    // The tfjs forward makes them on first use, once, and dispose frees them.
    const viaTfjs = loaded.score(table);
    const made = tf.memory().numTensors - before;
    expect(made).toBe(saved.metadata.weights.length);
    loaded.score(table);
    expect(tf.memory().numTensors - before).toBe(made);
    expect(Array.from(viaTfjs[viaTfjs.length - 1].values)).toEqual(
      Array.from(expected[expected.length - 1].values),
    );
    loaded.dispose();
    expect(loaded.disposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => loaded.score(table)).toThrow('disposed');
    // A model disposed before any tensor was made is disposed all the same.
    const unused = deserializeModel({ metadata: saved.metadata, weights: saved.weights });
    unused.dispose();
    expect(unused.disposed).toBe(true);
    await expect(unused.scoreAsync(table)).rejects.toThrow('disposed');
  });

  it('writes a manifest of float32 tensors with byte offsets covering the buffer', () => {
    const { metadata, weights } = serializeModel(model);
    expect(metadata.formatVersion).toBe(1);
    let offset = 0;
    for (const entry of metadata.weights) {
      expect(entry.dtype).toBe('float32');
      expect(entry.byteOffset).toBe(offset);
      expect(entry.byteLength).toBe(entry.shape.reduce((a, b) => a * b, 1) * 4);
      offset += entry.byteLength;
    }
    expect(offset).toBe(weights.byteLength);
    expect(metadata.weights.map((w) => w.name)).toContain('embedding/browser');
  });

  it('rejects an unknown format version', () => {
    const { metadata, weights } = serializeModel(model);
    const err = modelInvalid(() =>
      deserializeModel({ metadata: { ...metadata, formatVersion: 99 }, weights }),
    );
    expect(err.message).toMatch(/formatVersion 99.*version 1/);
  });

  it('rejects truncated weights, bad JSON and broken structure', () => {
    const { metadata, weights } = serializeModel(model);
    expect(
      modelInvalid(() =>
        deserializeModel({ metadata, weights: weights.slice(0, weights.length - 4) }),
      ).message,
    ).toMatch(/truncated/);
    expect(
      modelInvalid(() =>
        deserializeModel({ metadata, weights: Uint8Array.from([...weights, 0, 0, 0, 0]) }),
      ).message,
    ).toMatch(/bytes/);
    expect(
      modelInvalid(() => deserializeModel({ metadata: '{"formatVersion": 1,', weights })).message,
    ).toMatch(/not valid JSON/);
    expect(modelInvalid(() => deserializeModel({ metadata: null, weights })).message).toMatch(
      /JSON object/,
    );
    const noCalibration = JSON.parse(JSON.stringify(metadata));
    delete noCalibration.features[0].calibration;
    expect(
      modelInvalid(() => deserializeModel({ metadata: noCalibration, weights })).message,
    ).toMatch(/features\[0\]\.calibration/);
    const wrongShape = JSON.parse(JSON.stringify(metadata));
    wrongShape.weights[3].shape = [1, 1];
    expect(modelInvalid(() => deserializeModel({ metadata: wrongShape, weights })).message).toMatch(
      /manifest entry 3/,
    );
    const fewerCategories = JSON.parse(JSON.stringify(metadata));
    fewerCategories.features[fewerCategories.features.length - 1].categories.pop();
    modelInvalid(() => deserializeModel({ metadata: fewerCategories, weights }));
    const nanWeights = Uint8Array.from(weights);
    new DataView(nanWeights.buffer).setFloat32(0, NaN, true);
    expect(modelInvalid(() => deserializeModel({ metadata, weights: nanWeights })).message).toMatch(
      /non-finite/,
    );
  });
});
