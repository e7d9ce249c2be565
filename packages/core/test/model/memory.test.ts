import {
  deserializeModel,
  initBackend,
  liveTensorCount,
  serializeModel,
  trainAutoencoder,
} from '../../src/model';
import { AUTH_FEATURES, authTable } from './helpers';

const SMALL = { encoderLayers: [16, 8], decoderLayers: [16], batchSize: 32, epochs: 4 };

beforeAll(async () => {
  await initBackend('wasm');
});

describe('model > memory', () => {
  it.each(['sgd', 'adam'] as const)(
    'keeps the tensor count flat between epochs and back at baseline after dispose (%s)',
    async (optimizer) => {
      const baseline = liveTensorCount();
      const perEpoch: number[] = [];
      const model = await trainAutoencoder(
        authTable(300),
        AUTH_FEATURES,
        { ...SMALL, optimizer },
        { onEpoch: () => perEpoch.push(liveTensorCount()) },
      );
      expect(perEpoch).toHaveLength(4);
      expect(new Set(perEpoch).size).toBe(1);
      // Weights only: 3 embeddings + 4 dense layers × 2.
      expect(liveTensorCount()).toBe(baseline + 3 + 8);

      model.score(authTable(50, 3));
      model.perRowLosses(authTable(50, 3));
      const copy = deserializeModel(serializeModel(model));
      copy.score(authTable(10, 4));
      expect(liveTensorCount()).toBe(baseline + 2 * 11);
      model.dispose();
      copy.dispose();
      expect(liveTensorCount()).toBe(baseline);
      expect(() => model.score(authTable(5))).toThrow(/disposed/);
    },
  );

  it('releases every tensor when training fails', async () => {
    const baseline = liveTensorCount();
    await expect(
      trainAutoencoder(authTable(64), ['logcount', 'browser'], {
        ...SMALL,
        learningRate: 1e30,
        validationSize: 0,
      }),
    ).rejects.toThrow(/not finite/);
    expect(liveTensorCount()).toBe(baseline);
  });
});
