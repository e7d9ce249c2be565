import { DfpError, ErrorCodes } from '../../src/errors';
import {
  DEFAULT_AUTOENCODER_OPTIONS,
  type EpochInfo,
  initBackend,
  trainAutoencoder,
} from '../../src/model';
import { type Cell, getNumbers, makeTable, sliceRows } from '../../src/table';
import { AUTH_FEATURES, authTable, column, numbers } from './helpers';

const SMALL = { encoderLayers: [16, 8], decoderLayers: [16], batchSize: 64, epochs: 3 };

async function caught(promise: Promise<unknown>): Promise<DfpError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(DfpError);
    return err as DfpError;
  }
  throw new Error('expected a DfpError');
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('model > autoencoder > training', () => {
  it('exports the DFP defaults with a real patience and Adam', () => {
    expect(DEFAULT_AUTOENCODER_OPTIONS).toMatchObject({
      encoderLayers: [512, 500],
      decoderLayers: [512],
      activation: 'relu',
      swapProbability: 0.2,
      learningRate: 0.001,
      learningRateDecay: 0.99,
      optimizer: 'adam',
      calibration: 'held_out',
      batchSize: 512,
      evalBatchSize: 1024,
      epochs: 30,
      validationSize: 0.1,
      patience: 5,
      minCats: 1,
      seed: 42,
      maxTrainingRows: 1_000_000,
    });
  });

  it('holds out the last ceil(v·n) rows and decays the learning rate once per epoch', async () => {
    const epochs: EpochInfo[] = [];
    const model = await trainAutoencoder(
      authTable(205),
      AUTH_FEATURES,
      { ...SMALL, validationSize: 0.1, learningRate: 0.01, learningRateDecay: 0.5, patience: 0 },
      { onEpoch: (info) => epochs.push(info), entity: 'alice' },
    );
    const t = model.metadata.training;
    expect([t.rowsGiven, t.rowsTrained, t.rowsValidation]).toEqual([205, 184, 21]);
    expect(t.entity).toBe('alice');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(epochs.map((e) => e.learningRate)).toEqual([0.01, 0.005, 0.0025]);
    expect(epochs.every((e) => Number.isFinite(e.validationLoss))).toBe(true);
    expect(t.trainLosses).toEqual(epochs.map((e) => e.trainLoss));
    model.dispose();
  });

  it.each([
    // `training` (Morpheus): the rows the model was fitted on.
    ['training' as const, 300, 0, 240],
    // `held_out`: the validation rows, when there are at least 32 of them…
    ['held_out' as const, 300, 240, 300],
    // …else every row (here 20 validation rows of 200).
    ['held_out' as const, 200, 0, 200],
  ])(
    'calibrates z-scores on the %s rows (mean, population std of row losses; %i rows)',
    async (calibration, rows, from, to) => {
      const table = authTable(rows);
      const options = { ...SMALL, validationSize: 0.2, calibration };
      if (rows === 200) options.validationSize = 0.1;
      const model = await trainAutoencoder(table, AUTH_FEATURES, { ...options, lossStdFloor: 0 });
      const floored = await trainAutoencoder(table, AUTH_FEATURES, options);
      const losses = model.perRowLosses(sliceRows(table, from, to));
      model.features.forEach((feature, f) => {
        const values = Array.from(losses[f]);
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
        expect(feature.calibration.mean).toBeCloseTo(mean, 9);
        expect(feature.calibration.std).toBeCloseTo(std, 9);
        // The default floor (0.05) only ever raises a spread that is smaller.
        expect(floored.features[f].calibration.std).toBeCloseTo(Math.max(std, 0.05), 9);
      });
      model.dispose();
      floored.dispose();
    },
  );

  it('stops after `patience` epochs without a better validation loss', async () => {
    // Validation rows use a browser never seen in training (→ _other); the more the
    // model learns "always Chrome", the worse validation gets.
    const n = 300;
    const table = makeTable([
      { name: 'count', type: 'int', values: Array.from({ length: n }, (_, i) => i % 10) },
      {
        name: 'browser',
        type: 'string',
        values: Array.from({ length: n }, (_, i) => (i < 270 ? 'Chrome' : 'Opera')),
      },
    ]);
    const options = { ...SMALL, epochs: 30, optimizer: 'adam' as const, learningRate: 0.01 };
    const model = await trainAutoencoder(table, ['count', 'browser'], { ...options, patience: 3 });
    const t = model.metadata.training;
    const best = t.validationLosses.indexOf(Math.min(...t.validationLosses));
    expect(t.stoppedEarly).toBe(true);
    expect(t.epochsRun).toBe(best + 1 + 3);
    expect(t.epochsRun).toBeLessThan(30);
    model.dispose();

    const unlimited = await trainAutoencoder(table, ['count', 'browser'], {
      ...options,
      epochs: 8,
      patience: 0,
    });
    expect(unlimited.metadata.training.epochsRun).toBe(8);
    expect(unlimited.metadata.training.stoppedEarly).toBe(false);
    unlimited.dispose();
  });

  it('rejects validationSize outside [0, 1) and unknown options', async () => {
    for (const validationSize of [1, -0.1, 1.5, NaN]) {
      const err = await caught(trainAutoencoder(authTable(50), AUTH_FEATURES, { validationSize }));
      expect(err.code).toBe(ErrorCodes.CONFIG_INVALID);
      expect(err.message).toMatch(/validationSize/);
    }
    const typo = await caught(
      trainAutoencoder(authTable(50), AUTH_FEATURES, { epoch: 3 } as unknown as { epochs: number }),
    );
    expect(typo.message).toMatch(/option epoch/);
  });

  it('fails clearly on no rows, a missing feature column and no training rows left', async () => {
    const empty = await caught(trainAutoencoder(sliceRows(authTable(50), 0, 0), AUTH_FEATURES));
    expect(empty.code).toBe(ErrorCodes.MODEL_TRAINING_FAILED);
    const missing = await caught(trainAutoencoder(authTable(50), ['logcount', 'nope']));
    expect(missing.message).toMatch(/no column nope/);
    const tiny = await caught(
      trainAutoencoder(authTable(1), AUTH_FEATURES, { validationSize: 0.5 }),
    );
    expect(tiny.message).toMatch(/no training rows/);
  });

  it('samples above maxTrainingRows with the seed and reports it', async () => {
    const warnings: string[] = [];
    const model = await trainAutoencoder(
      authTable(300),
      AUTH_FEATURES,
      { ...SMALL, epochs: 1, maxTrainingRows: 100 },
      { onWarning: (message) => warnings.push(message) },
    );
    expect(warnings).toEqual(['sampled 100 of 300 rows']);
    expect(model.metadata.training.rowsTrained).toBe(90);
    model.dispose();
  });

  it('is reproducible for a seed', async () => {
    const table = authTable(200);
    const [a, b, c] = await Promise.all([
      trainAutoencoder(table, AUTH_FEATURES, { ...SMALL, seed: 7 }),
      trainAutoencoder(table, AUTH_FEATURES, { ...SMALL, seed: 7 }),
      trainAutoencoder(table, AUTH_FEATURES, { ...SMALL, seed: 8 }),
    ]);
    expect(a.metadata.training.trainLosses).toEqual(b.metadata.training.trainLosses);
    expect(numbers(a.score(table), 'mean_abs_z')).toEqual(numbers(b.score(table), 'mean_abs_z'));
    expect(a.metadata.training.trainLosses).not.toEqual(c.metadata.training.trainLosses);
    [a, b, c].forEach((m) => m.dispose());
  });

  it.each(['relu', 'leaky_relu', 'tanh', 'sigmoid', 'selu', 'elu'] as const)(
    'trains with %s activations and adam to a lower loss',
    async (activation) => {
      const model = await trainAutoencoder(authTable(256), AUTH_FEATURES, {
        ...SMALL,
        epochs: 5,
        activation,
        optimizer: 'adam',
        learningRate: 0.01,
        validationSize: 0,
      });
      const losses = model.metadata.training.trainLosses;
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
      model.dispose();
    },
  );
});

describe('model > autoencoder > scoring', () => {
  it('returns pred, loss, z per feature in model order, then max and mean |z|', async () => {
    const features = ['browser', 'logcount', 'success', 'os'];
    const model = await trainAutoencoder(authTable(200), features, SMALL);
    expect(model.features.map((f) => f.name)).toEqual(['logcount', 'success', 'browser', 'os']);
    const scores = model.score(authTable(30, 5));
    expect(scores.map((c) => `${c.name}:${c.type}`)).toEqual([
      'logcount_pred:float',
      'logcount_loss:float',
      'logcount_z_loss:float',
      'success_pred:bool',
      'success_loss:float',
      'success_z_loss:float',
      'browser_pred:string',
      'browser_loss:float',
      'browser_z_loss:float',
      'os_pred:string',
      'os_loss:float',
      'os_z_loss:float',
      'max_abs_z:float',
      'mean_abs_z:float',
    ]);
    expect(scores.every((c) => c.values.length === 30)).toBe(true);
    const none = model.score(sliceRows(authTable(30, 5), 0, 0));
    expect(none.map((c) => c.name)).toEqual(scores.map((c) => c.name));
    expect(none.every((c) => c.values.length === 0)).toBe(true);
    const browsers = model.features.find((f) => f.name === 'browser');
    const predicted = column(scores, 'browser_pred').values as Cell[];
    expect(
      predicted.every(
        (p) => browsers?.kind === 'categorical' && browsers.categories.includes(p as string),
      ),
    ).toBe(true);
    model.dispose();
  });

  it('z = |loss − μ_f| / σ_f from calibration; numeric loss from the prediction', async () => {
    const model = await trainAutoencoder(authTable(200), AUTH_FEATURES, SMALL);
    const table = authTable(40, 9);
    const scores = model.score(table);
    const logcount = getNumbers(table, 'logcount');
    const zs = model.features.map((feature) => {
      const losses = numbers(scores, `${feature.name}_loss`);
      const z = numbers(scores, `${feature.name}_z_loss`);
      const { mean, std } = feature.calibration;
      losses.forEach((loss, r) => expect(z[r]).toBeCloseTo(Math.abs((loss - mean) / std), 10));
      return z;
    });
    const maxZ = numbers(scores, 'max_abs_z');
    const meanZ = numbers(scores, 'mean_abs_z');
    for (let r = 0; r < 40; r++) {
      const row = zs.map((z) => z[r]);
      expect(maxZ[r]).toBeCloseTo(Math.max(...row), 12);
      expect(meanZ[r]).toBeCloseTo(row.reduce((a, b) => a + b, 0) / row.length, 12);
    }
    // With a cap, each feature counts at most the cap in mean_abs_z; the rest is unchanged.
    const capped = model.score(table, { zCap: 0.5 });
    const cappedMean = numbers(capped, 'mean_abs_z');
    expect(numbers(capped, 'max_abs_z')).toEqual(maxZ);
    expect(numbers(capped, 'logcount_z_loss')).toEqual(zs[0]);
    let differs = 0;
    for (let r = 0; r < 40; r++) {
      const row = zs.map((z) => Math.min(z[r], 0.5));
      expect(cappedMean[r]).toBeCloseTo(row.reduce((a, b) => a + b, 0) / row.length, 12);
      expect(cappedMean[r]).toBeLessThanOrEqual(0.5);
      if (cappedMean[r] < meanZ[r]) differs++;
    }
    expect(differs).toBeGreaterThan(0);
    // Numeric loss is the squared error in scaled space: ((pred − x) / std)².
    const spec = model.features[0];
    expect(spec.kind).toBe('numeric');
    if (spec.kind === 'numeric') {
      const pred = numbers(scores, 'logcount_pred');
      const loss = numbers(scores, 'logcount_loss');
      pred.forEach((p, r) => {
        expect(loss[r]).toBeCloseTo(((p - logcount[r]) / spec.std) ** 2, 4);
      });
    }
    model.dispose();
  });

  it('scores in small eval batches the same as in one batch', async () => {
    const table = authTable(150);
    const a = await trainAutoencoder(table, AUTH_FEATURES, { ...SMALL, evalBatchSize: 7 });
    const b = await trainAutoencoder(table, AUTH_FEATURES, { ...SMALL, evalBatchSize: 4096 });
    const la = a.perRowLosses(table);
    const lb = b.perRowLosses(table);
    la.forEach((losses, f) => {
      Array.from(losses).forEach((v, r) => expect(v).toBeCloseTo(lb[f][r], 5));
    });
    [a, b].forEach((m) => m.dispose());
  });

  it('learns: rows that break a deterministic app → region mapping score higher', async () => {
    const apps = ['mail', 'crm', 'wiki', 'git', 'hr', 'vpn'];
    const regionOf = (a: string): string => `region-${apps.indexOf(a)}`;
    const table = (app: string[], region: string[]) =>
      makeTable([
        { name: 'logcount', type: 'int', values: app.map((_, i) => i % 17) },
        { name: 'app', type: 'string', values: app },
        { name: 'region', type: 'string', values: region },
      ]);
    const trainApps = Array.from({ length: 600 }, (_, i) => apps[(i * 7 + (i >> 3)) % apps.length]);
    const model = await trainAutoencoder(
      table(trainApps, trainApps.map(regionOf)),
      ['logcount', 'app', 'region'],
      {
        ...SMALL,
        encoderLayers: [32, 16],
        decoderLayers: [32],
        epochs: 20,
        optimizer: 'adam',
        learningRate: 0.01,
        validationSize: 0,
      },
    );
    const probeApps = Array.from({ length: 30 }, (_, i) => apps[i % apps.length]);
    const keep = numbers(model.score(table(probeApps, probeApps.map(regionOf))), 'mean_abs_z');
    const broken = numbers(
      model.score(
        table(
          probeApps,
          probeApps.map((a) => regionOf(apps[(apps.indexOf(a) + 1) % 6])),
        ),
      ),
      'mean_abs_z',
    );
    expect(Math.min(...broken)).toBeGreaterThan(Math.max(...keep));
    model.dispose();
  });
});

describe('model > autoencoder > non-finite values', () => {
  it('names entity and feature when a training value is infinite', async () => {
    const table = makeTable([
      { name: 'logcount', type: 'float', values: [1, 2, Infinity, 4, 5, 6] },
      { name: 'browser', type: 'string', values: ['a', 'b', 'a', 'b', 'a', 'b'] },
    ]);
    const err = await caught(
      trainAutoencoder(table, ['logcount', 'browser'], SMALL, { entity: 'erin@example.com' }),
    );
    expect(err.code).toBe(ErrorCodes.MODEL_NON_FINITE);
    expect(err.message).toMatch(/logcount.*erin@example\.com/);
    expect(err.details).toMatchObject({ entity: 'erin@example.com', feature: 'logcount', row: 2 });
  });

  it('names entity and the features whose training loss diverges', async () => {
    const table = makeTable([
      {
        name: 'a',
        type: 'float',
        values: Array.from({ length: 64 }, (_, i) => (i % 2 ? 1e6 : -1e6) * (i % 7)),
      },
      { name: 'b', type: 'float', values: Array.from({ length: 64 }, (_, i) => i) },
    ]);
    const err = await caught(
      trainAutoencoder(
        table,
        ['a', 'b'],
        { ...SMALL, epochs: 20, learningRate: 1e6, validationSize: 0 },
        { entity: 'fred' },
      ),
    );
    expect(err.code).toBe(ErrorCodes.MODEL_NON_FINITE);
    expect(err.message).toMatch(/fred/);
    expect(err.message).toMatch(/\ba=(NaN|-?Infinity)/);
    expect((err.details.features as string[]).length).toBeGreaterThan(0);
  });

  it('names entity, feature and row when a scored value is infinite', async () => {
    const model = await trainAutoencoder(authTable(100), ['logcount', 'browser'], SMALL, {
      entity: 'erin',
    });
    const table = makeTable([
      { name: 'logcount', type: 'float', values: [1, 2, -Infinity] },
      { name: 'browser', type: 'string', values: ['Chrome', 'Edge', 'Chrome'] },
    ]);
    let err: unknown;
    try {
      model.score(table);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DfpError);
    expect((err as DfpError).code).toBe(ErrorCodes.MODEL_NON_FINITE);
    expect((err as DfpError).details).toMatchObject({
      entity: 'erin',
      feature: 'logcount',
      row: 2,
    });
    // A value beyond float32 range is finite in JS but not once scaled.
    expect(() =>
      model.score(
        makeTable([
          { name: 'logcount', type: 'float', values: [1e300] },
          { name: 'browser', type: 'string', values: ['Chrome'] },
        ]),
        { entity: 'erin-2' },
      ),
    ).toThrow(/logcount.*erin-2.*row 0/);
    model.dispose();
  });
});
