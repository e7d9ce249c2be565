/** Field cases B02–B04 from shared/reference/field-cases.md. */
import { initBackend, trainAutoencoder, deserializeModel, serializeModel } from '../../src/model';
import { type Cell, makeTable, sliceRows } from '../../src/table';
import { column, numbers } from './helpers';

const SMALL = { encoderLayers: [16, 8], decoderLayers: [16], batchSize: 64, epochs: 5 };

beforeAll(async () => {
  await initBackend('wasm');
});

function allFinite(values: number[]): boolean {
  return values.every((v) => Number.isFinite(v));
}

describe('model > field cases', () => {
  it('B02: numeric-only features train with finite, falling loss and loss stats', async () => {
    const rows = 350;
    const table = makeTable([
      { name: 'logcount', type: 'int', values: Array.from({ length: rows }, (_, i) => i % 25) },
      {
        name: 'locincrement',
        type: 'int',
        values: Array.from({ length: rows }, (_, i) => 1 + ((i * 7) % 4)),
      },
    ]);
    const model = await trainAutoencoder(
      table,
      ['logcount', 'locincrement'],
      {
        ...SMALL,
        epochs: 10,
        optimizer: 'adam',
        learningRate: 0.01,
      },
      { entity: 'carol@example.com' },
    );
    const { trainLosses, validationLosses } = model.metadata.training;
    expect(allFinite(trainLosses) && allFinite(validationLosses)).toBe(true);
    expect(trainLosses[trainLosses.length - 1]).toBeLessThan(trainLosses[0] * 0.8);
    expect(model.features.map((f) => f.kind)).toEqual(['numeric', 'numeric']);
    for (const f of model.features) {
      expect(Number.isFinite(f.calibration.mean) && f.calibration.std > 0).toBe(true);
    }
    expect(allFinite(numbers(model.score(table), 'mean_abs_z'))).toBe(true);
    model.dispose();
  });

  it('B03a: a constant feature gets std 1, finite z, and a changed value stands out', async () => {
    const rows = 320;
    const table = makeTable([
      { name: 'logcount', type: 'int', values: Array.from({ length: rows }, (_, i) => i % 30) },
      { name: 'locincrement', type: 'int', values: new Array(rows).fill(1) },
      {
        name: 'browser',
        type: 'string',
        values: Array.from({ length: rows }, (_, i) => (i % 3 ? 'Chrome' : 'Edge')),
      },
    ]);
    const model = await trainAutoencoder(table, ['logcount', 'locincrement', 'browser'], SMALL, {
      entity: 'erin@example.com',
    });
    const loc = model.features.find((f) => f.name === 'locincrement');
    expect(loc).toMatchObject({ kind: 'numeric', mean: 1, std: 1 });

    const inference = makeTable([
      { name: 'logcount', type: 'int', values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
      { name: 'locincrement', type: 'int', values: [1, 1, 1, 1, 1, 1, 2, 1, 1, 1] },
      {
        name: 'browser',
        type: 'string',
        values: [
          'Chrome',
          'Edge',
          'Chrome',
          'Chrome',
          'Edge',
          'Chrome',
          'Chrome',
          'Edge',
          'Chrome',
          'Chrome',
        ],
      },
    ]);
    const scores = model.score(inference);
    expect(allFinite(numbers(scores, 'mean_abs_z'))).toBe(true);
    expect(allFinite(numbers(scores, 'max_abs_z'))).toBe(true);
    const z = numbers(scores, 'locincrement_z_loss');
    const others = z.filter((_, r) => r !== 6);
    expect(z[6]).toBeGreaterThan(Math.max(...others));
    model.dispose();
  });

  it('B03b: 300 byte-identical rows give finite z for every row (loss std floored)', async () => {
    const rows = 300;
    const table = makeTable([
      { name: 'logcount', type: 'int', values: new Array(rows).fill(3) },
      { name: 'locincrement', type: 'int', values: new Array(rows).fill(1) },
      { name: 'success', type: 'bool', values: new Array(rows).fill(true) },
      { name: 'browser', type: 'string', values: new Array(rows).fill('Chrome') },
    ]);
    const features = ['logcount', 'locincrement', 'success', 'browser'];
    const model = await trainAutoencoder(table, features, SMALL, { entity: 'fred@example.com' });
    // Identical rows → identical per-row losses → σ_f = 0, floored to lossStdFloor (0.05)...
    expect(model.features.map((f) => f.calibration.std)).toEqual([0.05, 0.05, 0.05, 0.05]);
    // ...or, with no floor, to 1 as Morpheus does.
    const unfloored = await trainAutoencoder(table, features, { ...SMALL, lossStdFloor: 0 });
    expect(unfloored.features.map((f) => f.calibration.std)).toEqual([1, 1, 1, 1]);
    unfloored.dispose();
    const scores = model.score(sliceRows(table, 0, 20));
    expect(allFinite(numbers(scores, 'mean_abs_z'))).toBe(true);
    expect(new Set(numbers(scores, 'mean_abs_z')).size).toBe(1);
    model.dispose();
  });

  it('B04: unseen and missing categories are scored, unseen with a higher loss', async () => {
    const rows = 300;
    const table = makeTable([
      { name: 'logcount', type: 'int', values: Array.from({ length: rows }, (_, i) => i % 20) },
      {
        name: 'accessdevicebrowser',
        type: 'string',
        values: Array.from({ length: rows }, (_, i) => (i % 4 ? 'Chrome' : 'Edge')),
      },
    ]);
    const model = await trainAutoencoder(
      table,
      ['logcount', 'accessdevicebrowser'],
      {
        ...SMALL,
        optimizer: 'adam',
        learningRate: 0.01,
      },
      { entity: 'frank@example.com' },
    );
    const inference = makeTable([
      { name: 'logcount', type: 'int', values: [1, 2, 3, 4, 3] },
      {
        name: 'accessdevicebrowser',
        type: 'string',
        values: ['Chrome', 'Chrome', 'Opera', 'Chrome', null],
      },
    ]);
    const scores = model.score(inference);
    expect(scores.every((c) => c.values.length === 5)).toBe(true);
    const loss = numbers(scores, 'accessdevicebrowser_loss');
    expect(loss[2]).toBeGreaterThan(Math.max(loss[0], loss[1], loss[3]));
    // Missing was never seen in training, so that row falls in the catch-all too:
    // same input as the Opera row, same loss.
    expect(loss[4]).toBe(loss[2]);
    const predicted = column(scores, 'accessdevicebrowser_pred').values as Cell[];
    expect(predicted.every((p) => p === 'Chrome' || p === 'Edge')).toBe(true);

    const reloaded = deserializeModel(serializeModel(model));
    expect(numbers(reloaded.score(inference), 'accessdevicebrowser_loss')).toEqual(loss);
    reloaded.dispose();
    model.dispose();
  });

  it('B04: a missing browser seen in training is its own category, predicted as null', async () => {
    const rows = 200;
    const browsers = Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? 'Chrome' : null));
    const table = makeTable([
      { name: 'logcount', type: 'int', values: Array.from({ length: rows }, (_, i) => i % 9) },
      { name: 'browser', type: 'string', values: browsers },
    ]);
    const model = await trainAutoencoder(table, ['logcount', 'browser'], {
      ...SMALL,
      optimizer: 'adam',
      learningRate: 0.01,
    });
    const spec = model.features.find((f) => f.name === 'browser');
    expect(spec).toMatchObject({ categories: ['(missing)', 'Chrome'] });
    const scores = model.score(
      makeTable([
        { name: 'logcount', type: 'int', values: [1, 2] },
        { name: 'browser', type: 'string', values: [null, 'Opera'] },
      ]),
    );
    expect((column(scores, 'browser_pred').values as Cell[])[0]).toBeNull();
    const loss = numbers(scores, 'browser_loss');
    expect(loss[0]).toBeLessThan(loss[1]);
    model.dispose();
  });
});
