import { DfpError, ErrorCodes } from '../../src/errors';
import { createTrainerPool, deserializeModel, initBackend } from '../../src/model';
import { toIPC } from '../../src/table';
import { AUTH_FEATURES, authTable, numbers } from './helpers';

const SMALL = { encoderLayers: [16, 8], decoderLayers: [16], batchSize: 64, epochs: 2 };

beforeAll(async () => {
  await initBackend('wasm');
});

describe('model > trainer pool', () => {
  // Under jest the worker script is TypeScript, so the pool trains in-process;
  // the worker_threads path needs the compiled package.
  it('trains serialised jobs in-process when no compiled worker exists', async () => {
    const pool = createTrainerPool({ size: 2 });
    expect(pool.inProcess).toBe(true);
    const epochs: string[] = [];
    const warnings: string[] = [];
    const jobs = ['ann', 'ben'].map((entity, i) =>
      pool.train({
        table: toIPC(authTable(200, i + 1)),
        features: AUTH_FEATURES,
        options: { ...SMALL, maxTrainingRows: 150 },
        entity,
        onEpoch: (info) => epochs.push(`${entity}:${info.epoch}`),
        onWarning: (message) => warnings.push(`${entity}:${message}`),
      }),
    );
    const failed = pool
      .train({ table: toIPC(authTable(20)), features: ['missing'], entity: 'cat' })
      .catch((err: unknown) => err);
    const [ann, ben] = await Promise.all(jobs);
    expect(epochs).toEqual(['ann:1', 'ann:2', 'ben:1', 'ben:2']);
    expect(warnings).toEqual(['ann:sampled 150 of 200 rows', 'ben:sampled 150 of 200 rows']);
    const err = await failed;
    expect(err).toBeInstanceOf(DfpError);
    expect((err as DfpError).code).toBe(ErrorCodes.MODEL_TRAINING_FAILED);
    expect((err as DfpError).message).toMatch(/cat.*missing/);

    const model = deserializeModel(ann);
    expect(model.metadata.training.entity).toBe('ann');
    expect(numbers(model.score(authTable(10)), 'mean_abs_z')).toHaveLength(10);
    model.dispose();
    expect(ben.metadata.training.entity).toBe('ben');
    await pool.close();
    await expect(
      pool.train({ table: toIPC(authTable(5)), features: AUTH_FEATURES }),
    ).rejects.toThrow(/closed/);
  });
});
