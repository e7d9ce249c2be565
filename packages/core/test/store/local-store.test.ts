import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalModelStore } from '../../src/store/local-store';
import { MlflowModelStore } from '../../src/store/mlflow-store';
import { openModelStore } from '../../src/store/open';

const tags = { start: '2022-08-01T00:00:00.000Z', end: '2022-08-29T00:00:00.000Z', count: '400' };
const artifact = (n: number) => ({ metadata: { n }, weights: new Uint8Array([n, 1, 2, 3]) });

describe('store > local', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfp-store-'));
  });

  it('registers numbered versions with tags and finds the latest', async () => {
    const store = new LocalModelStore(dir);
    expect(await store.latest('DFP-duo-alice')).toBeNull();
    const v1 = await store.register('DFP-duo-alice', artifact(1), tags);
    const v2 = await store.register('DFP-duo-alice', artifact(2), { ...tags, count: '700' });
    expect([v1.version, v2.version]).toEqual([1, 2]);
    const latest = await store.latest('DFP-duo-alice');
    expect(latest).toMatchObject({
      name: 'DFP-duo-alice',
      version: 2,
      status: 'READY',
      tags: { count: '700' },
    });
    const loaded = await store.load('DFP-duo-alice', 1);
    expect(loaded.metadata).toEqual({ n: 1 });
    expect(Array.from(loaded.weights)).toEqual([1, 1, 2, 3]);
    expect(await store.list()).toEqual(['DFP-duo-alice']);
    expect((await store.versions('DFP-duo-alice')).map((v) => v.version)).toEqual([1, 2]);
  });

  it('gives concurrent registrations distinct versions', async () => {
    const a = new LocalModelStore(dir);
    const b = new LocalModelStore(dir);
    const made = await Promise.all(
      [1, 2, 3, 4].map((n) => (n % 2 ? a : b).register('DFP-duo-rita', artifact(n), tags)),
    );
    expect(made.map((v) => v.version).sort()).toEqual([1, 2, 3, 4]);
  });

  it('never returns a version that is not READY', async () => {
    const store = new LocalModelStore(dir);
    await store.register('DFP-duo-ivy', artifact(1), tags);
    const v2 = await store.register('DFP-duo-ivy', artifact(2), tags);
    const info = join(dir, 'models', 'DFP-duo-ivy', 'versions', String(v2.version), 'version.json');
    await writeFile(info, JSON.stringify({ ...v2, status: 'PENDING_REGISTRATION' }));
    expect((await store.latest('DFP-duo-ivy'))?.version).toBe(1);
  });

  it('opens file: URIs and plain paths as local stores, http URIs as MLflow', () => {
    expect(openModelStore(`file:${dir}`).uri).toBe(`file:${dir}`);
    expect(openModelStore(dir).uri).toBe(`file:${dir}`);
    const mlflow = openModelStore('http://127.0.0.1:5000/');
    expect(mlflow).toBeInstanceOf(MlflowModelStore);
    expect(mlflow.uri).toBe('http://127.0.0.1:5000');
  });

  it('reports a missing version clearly', async () => {
    const store = new LocalModelStore(dir);
    await expect(store.load('DFP-duo-nobody', 3)).rejects.toThrow(
      'model DFP-duo-nobody version 3 not found',
    );
  });
});
