/**
 * Scoring through ONNX Runtime must give what the tfjs forward gives: the same
 * predictions, losses and z-scores for every feature kind and activation, and
 * the same errors for unusable rows.
 */
import { DfpError, ErrorCodes } from '../../src/errors';
import {
  type Activation,
  initBackend,
  scoringEngine,
  setScoringEngine,
  trainAutoencoder,
} from '../../src/model';
import { makeTable } from '../../src/table';
import { AUTH_FEATURES, authTable } from './helpers';

const SMALL = { encoderLayers: [16, 8], decoderLayers: [16], batchSize: 64, epochs: 2 };

beforeAll(async () => {
  await initBackend('wasm');
});

afterEach(() => setScoringEngine(undefined));

function expectSameColumns(
  a: { name: string; values: ArrayLike<unknown> }[],
  b: { name: string; values: ArrayLike<unknown> }[],
): void {
  expect(b.map((c) => c.name)).toEqual(a.map((c) => c.name));
  a.forEach((col, i) => {
    const other = b[i].values;
    for (let r = 0; r < col.values.length; r++) {
      const x = col.values[r];
      const y = other[r];
      if (typeof x === 'number') expect(Math.abs(x - (y as number))).toBeLessThan(1e-3);
      else expect(y).toEqual(x);
    }
  });
}

describe('model > onnx scoring', () => {
  it('is the engine by default where onnxruntime-node is installed', () => {
    expect(scoringEngine()).toBe('onnx');
    setScoringEngine('tfjs');
    expect(scoringEngine()).toBe('tfjs');
  });

  it.each<Activation>(['relu', 'leaky_relu', 'tanh', 'sigmoid', 'selu', 'elu'])(
    'matches the tfjs scores column for column (%s)',
    async (activation) => {
      const model = await trainAutoencoder(authTable(300), AUTH_FEATURES, {
        ...SMALL,
        activation,
      });
      // Unseen categories and missing values go through the same codes.
      const table = authTable(120, 7);
      const reference = model.score(table);
      setScoringEngine('onnx');
      const fast = await model.scoreAsync(table);
      expectSameColumns(reference, fast);
      const mean = fast.find((c) => c.name === 'mean_abs_z');
      expect(Array.from(mean?.values as Float64Array).some((v) => v > 0)).toBe(true);
      model.dispose();
    },
  );

  it('refuses a disposed model, and an unknown engine name', async () => {
    const model = await trainAutoencoder(authTable(100), AUTH_FEATURES, SMALL);
    setScoringEngine('onnx');
    await model.scoreAsync(authTable(10));
    model.dispose();
    await expect(model.scoreAsync(authTable(10))).rejects.toMatchObject({
      code: ErrorCodes.MODEL_INVALID,
    });
    expect(() => setScoringEngine('gpu')).toThrow(DfpError);
  });

  it('reports a non-finite input as an error naming the entity, feature and row', async () => {
    const model = await trainAutoencoder(authTable(100), ['logcount', 'browser'], SMALL, {
      entity: 'erin',
    });
    setScoringEngine('onnx');
    const table = makeTable([
      { name: 'logcount', type: 'float', values: [1, 2, -Infinity] },
      { name: 'browser', type: 'string', values: ['Chrome', 'Edge', 'Chrome'] },
    ]);
    const err = await model.scoreAsync(table).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DfpError);
    expect((err as DfpError).code).toBe(ErrorCodes.MODEL_NON_FINITE);
    expect((err as DfpError).details).toMatchObject({
      entity: 'erin',
      feature: 'logcount',
      row: 2,
    });
    model.dispose();
  });
});
