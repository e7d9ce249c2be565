/**
 * One contract for every model store: the embedded local store and MLflow
 * (a real server, started by scripts/services.sh when not already given).
 */
import { join } from 'node:path';
import { initBackend, serializeModel, trainAutoencoder } from '../../src/model';
import { LocalModelStore } from '../../src/store/local-store';
import { MlflowClient } from '../../src/store/mlflow-client';
import { MlflowModelStore } from '../../src/store/mlflow-store';
import type { ModelArtifact, ModelStore } from '../../src/store/types';
import { getNumbers } from '../../src/table';
import { AUTH_FEATURES, authTable } from '../model/helpers';
import { tempDir } from '../pipeline/helpers';
import { mlflowUri, uniqueSuffix } from '../support/services';

const tags = (count: number) => ({
  start: '2022-08-01T00:00:00.000Z',
  end: '2022-08-29T23:59:59.000Z',
  count: String(count),
});

const stores: [string, () => Promise<ModelStore>][] = [
  ['local', async () => new LocalModelStore(join(await tempDir('dfp-contract-'), 'models'))],
  ['mlflow', async () => new MlflowModelStore(new MlflowClient({ uri: await mlflowUri() }))],
];

describe.each(stores)('store > contract > %s', (_kind, open) => {
  let store: ModelStore;
  let artifact: ModelArtifact;
  const table = authTable(200, 3);

  beforeAll(
    async () => {
      await initBackend();
      store = await open();
      const model = await trainAutoencoder(table, AUTH_FEATURES, {
        encoderLayers: [16],
        decoderLayers: [16],
        epochs: 2,
        validationSize: 0,
      });
      artifact = serializeModel(model);
      model.dispose();
    },
    15 * 60 * 1000,
  );

  it('has no version of a model never registered', async () => {
    const name = `DFP-duo-nobody${uniqueSuffix()}`;
    expect(await store.latest(name)).toBeNull();
    expect(await store.versions(name)).toEqual([]);
    expect(await store.list()).not.toContain(name);
  });

  it('registers numbered READY versions with tags; latest is the newest', async () => {
    const name = `DFP-duo-alice${uniqueSuffix()}`;
    const v1 = await store.register(name, artifact, tags(200), { source: 'duo', entity: 'alice' });
    const v2 = await store.register(name, artifact, tags(300), { source: 'duo', entity: 'alice' });
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(v2.status).toBe('READY');
    const latest = await store.latest(name);
    expect(latest).toMatchObject({ name, version: 2, status: 'READY' });
    expect(latest?.tags).toMatchObject(tags(300));
    expect((await store.versions(name)).map((v) => v.version)).toEqual([1, 2]);
    expect(await store.list()).toContain(name);
  });

  it('gives back the exact model, which scores exactly as before saving', async () => {
    const name = `DFP-duo-bob${uniqueSuffix()}`;
    const { version } = await store.register(name, artifact, tags(200));
    const loaded = await store.load(name, version);
    expect(Buffer.from(loaded.weights).equals(Buffer.from(artifact.weights))).toBe(true);
    expect(loaded.metadata).toEqual(JSON.parse(JSON.stringify(artifact.metadata)));

    const { deserializeModel } = await import('../../src/model');
    const before = deserializeModel(artifact);
    const after = deserializeModel(loaded);
    const a = before.score(table).find((c) => c.name === 'mean_abs_z');
    const b = after.score(table).find((c) => c.name === 'mean_abs_z');
    expect(Array.from(b?.values ?? [])).toEqual(Array.from(a?.values ?? []));
    expect(getNumbers(table, 'logcount').length).toBe(200);
    before.dispose();
    after.dispose();
  });

  it('B18: concurrent registrations of one model all succeed with distinct versions', async () => {
    // Also the race on the champion alias: every registrant writes it, the newest must win.
    for (let round = 0; round < 3; round++) {
      const name = `DFP-duo-rita${uniqueSuffix()}`;
      const made = await Promise.all(
        [1, 2, 3].map((n) =>
          store.register(name, artifact, tags(n), { source: 'duo', entity: 'rita' }),
        ),
      );
      expect(made.map((v) => v.version).sort()).toEqual([1, 2, 3]);
      expect((await store.latest(name))?.version).toBe(3);
    }
  });

  it('refuses to load a version that does not exist, naming it', async () => {
    const name = `DFP-duo-carl${uniqueSuffix()}`;
    await store.register(name, artifact, tags(1));
    await expect(store.load(name, 7)).rejects.toThrow(new RegExp(`${name}.*7|7.*${name}`));
  });
});
