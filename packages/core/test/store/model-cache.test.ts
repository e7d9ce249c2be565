import { join } from 'node:path';
import { modelName } from '../../src/entities/names';
import {
  type Autoencoder,
  initBackend,
  liveTensorCount,
  serializeModel,
  trainAutoencoder,
} from '../../src/model';
import { LocalModelStore } from '../../src/store/local-store';
import { ModelResolver } from '../../src/store/model-cache';
import type { ModelStore } from '../../src/store/types';
import { AUTH_FEATURES, authTable } from '../model/helpers';
import { tempDir } from '../pipeline/helpers';

const tags = { start: '2022-08-01T00:00:00.000Z', end: '2022-08-29T00:00:00.000Z', count: '60' };
const small = { encoderLayers: [8], decoderLayers: [8], epochs: 1, validationSize: 0 };

describe('store > model cache', () => {
  let store: LocalModelStore;
  const entities = Array.from({ length: 12 }, (_, i) => `user${i}@example.com`);

  beforeAll(async () => {
    await initBackend();
    store = new LocalModelStore(join(await tempDir('dfp-cache-'), 'models'));
    const table = authTable(60);
    for (const name of [null, ...entities.slice(0, 11)]) {
      const model = await trainAutoencoder(table, AUTH_FEATURES, small);
      await store.register(modelName('duo', name), serializeModel(model), tags);
      model.dispose();
    }
  });

  it('B14: keeps at most maxModels loaded and frees the evicted ones', async () => {
    const baseline = liveTensorCount();
    const resolver = new ModelResolver(store, 'duo', { maxModels: 4 });
    const rows = authTable(5);
    const seen: Autoencoder[] = [];
    // Each model is used on the tfjs path, so that it holds weight tensors to count.
    const use = async (entity: string) => {
      const r = await resolver.resolve(entity);
      if (!r.ok) throw new Error(r.reason);
      r.resolved.model.perRowLosses(rows);
      seen.push(r.resolved.model);
    };
    let perModel = 0;
    for (const [i, entity] of entities.slice(0, 8).entries()) {
      await use(entity);
      if (i === 0) perModel = liveTensorCount() - baseline;
    }
    expect(perModel).toBeGreaterThan(0);
    expect(liveTensorCount() - baseline).toBe(4 * perModel);
    // Two full cycles over more entities than fit stay bounded.
    for (const entity of [...entities.slice(0, 8), ...entities.slice(0, 8)]) await use(entity);
    expect(liveTensorCount() - baseline).toBe(4 * perModel);
    // Evicted models are disposed (weights and any ONNX session freed), not just forgotten.
    expect(new Set(seen.filter((m) => !m.disposed)).size).toBe(4);
    resolver.close();
    expect(liveTensorCount()).toBe(baseline);
    expect(seen.every((m) => m.disposed)).toBe(true);
  });

  it('falls back to the generic model and says why', async () => {
    const resolver = new ModelResolver(store, 'duo');
    const r = await resolver.resolve('user11@example.com');
    if (!r.ok) throw new Error(r.reason);
    expect(r.resolved.version).toBe('DFP-duo-generic_user:1');
    expect(r.resolved.fallbackReason).toBe('no model DFP-duo-user11_40example_2ecom');
    const own = await resolver.resolve('user3@example.com');
    expect(own.ok && own.resolved.version).toBe('DFP-duo-user3_40example_2ecom:1');
    resolver.close();
  });

  it('B09: an unreadable model falls back to generic with load_failed', async () => {
    const broken = new LocalModelStore(join(await tempDir('dfp-cache-'), 'models'));
    const table = authTable(60);
    const model = await trainAutoencoder(table, AUTH_FEATURES, small);
    const artifact = serializeModel(model);
    model.dispose();
    await broken.register(modelName('duo', null), artifact, tags);
    await broken.register(
      modelName('duo', 'ivy@example.com'),
      {
        metadata: { ...(artifact.metadata as object), formatVersion: 99 },
        weights: artifact.weights,
      },
      tags,
    );
    const resolver = new ModelResolver(broken, 'duo');
    const r = await resolver.resolve('ivy@example.com');
    if (!r.ok) throw new Error(r.reason);
    expect(r.resolved.version).toBe('DFP-duo-generic_user:1');
    expect(r.resolved.fallbackReason).toMatch(
      /^load_failed:DFP-duo-ivy_40example_2ecom: .*version/,
    );
    resolver.close();
  });

  it('picks up a newer version after the refresh interval', async () => {
    let now = 1_000;
    const resolver = new ModelResolver(store, 'duo', { refreshMs: 500, now: () => now });
    const first = await resolver.resolve('user0@example.com');
    expect(first.ok && first.resolved.version).toBe('DFP-duo-user0_40example_2ecom:1');
    const model = await trainAutoencoder(authTable(60), AUTH_FEATURES, small);
    await store.register(modelName('duo', 'user0@example.com'), serializeModel(model), tags);
    model.dispose();
    const cached = await resolver.resolve('user0@example.com');
    expect(cached.ok && cached.resolved.version).toBe('DFP-duo-user0_40example_2ecom:1');
    now += 600;
    const fresh = await resolver.resolve('user0@example.com');
    expect(fresh.ok && fresh.resolved.version).toBe('DFP-duo-user0_40example_2ecom:2');
    resolver.close();
  });

  it('B09: keeps scoring with cached models while the store is down', async () => {
    let down = false;
    const flaky: ModelStore = {
      uri: store.uri,
      register: (...args) => store.register(...args),
      versions: (name) => store.versions(name),
      list: async () => {
        if (down) throw new Error('503 Service Unavailable');
        return store.list();
      },
      latest: async (name) => {
        if (down) throw new Error('503 Service Unavailable');
        return store.latest(name);
      },
      load: (name, version) => store.load(name, version),
    };
    let now = 0;
    const resolver = new ModelResolver(flaky, 'duo', {
      refreshMs: 100,
      retryMs: 50,
      now: () => now,
    });
    const before = await resolver.resolve('user1@example.com');
    expect(before.ok && before.resolved.version).toBe('DFP-duo-user1_40example_2ecom:1');

    down = true;
    now += 1000;
    const during = await resolver.resolve('user1@example.com');
    expect(during.ok && during.resolved.version).toBe('DFP-duo-user1_40example_2ecom:1');
    // An entity never loaded has nothing to fall back on while the store is down.
    const unknown = await resolver.resolve('user2@example.com');
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.reason).toMatch(/unavailable; next try in \d+ s/);
    resolver.close();
  });

  it('looks up no model that the registry listing does not have', async () => {
    const calls: string[] = [];
    const counting: ModelStore = {
      uri: store.uri,
      register: (...args) => store.register(...args),
      versions: (name) => store.versions(name),
      load: (name, version) => store.load(name, version),
      list: async () => {
        calls.push('list');
        return store.list();
      },
      latest: async (name) => {
        calls.push(`latest ${name}`);
        return store.latest(name);
      },
    };
    const resolver = new ModelResolver(counting, 'duo');
    const r = await resolver.resolve('nobody@example.com');
    expect(r.ok && r.resolved.version).toBe('DFP-duo-generic_user:1');
    expect(calls).toEqual(['list', 'latest DFP-duo-generic_user']);
    resolver.close();
  });
});
