/**
 * Unit tests of the MLflow REST client and model store against a scripted fake
 * server: pagination endings (B06), response shapes across MLflow versions
 * (B08), unavailable servers (B09), registration races and asynchronous
 * readiness (B18), authentication and MLmodel checks.
 */
import { DfpError, ErrorCodes } from '../../src/errors';
import { MlflowClient, type MlflowClientOptions, MlflowError } from '../../src/store/mlflow-client';
import { MlflowModelStore, type MlflowStoreOptions } from '../../src/store/mlflow-store';
import { packModel, unpackModel } from '../../src/store/model-format';
import type { ModelArtifact, VersionStatus, VersionTags } from '../../src/store/types';
import { ARTIFACTS, FakeMlflow, type FakeReply, mlflowError } from './fake-mlflow';

const tags: VersionTags = {
  start: '2022-08-01T00:00:00.000Z',
  end: '2022-08-29T00:00:00.000Z',
  count: '400',
};
/** A small stand-in for the autoencoder's metadata document. */
const metadata = {
  options: { learningRate: 0.01, batchSize: 64, epochs: 30 },
  training: { epochsRun: 12, trainLosses: [0.5, 0.25], validationLosses: [0.375] },
  features: [{ name: 'accessdevicebrowser', calibration: { mean: 0.125 } }],
};
/** Two float32 little-endian values: 1 and 2. */
const weights = new Uint8Array([0, 0, 128, 63, 0, 0, 0, 64]);
const artifact: ModelArtifact = { metadata, weights };

let fake: FakeMlflow;
beforeEach(async () => {
  fake = await FakeMlflow.start();
});
afterEach(async () => {
  await fake.close();
});

function client(options: Partial<MlflowClientOptions> = {}): MlflowClient {
  return new MlflowClient({
    uri: fake.uri,
    timeoutMs: 2000,
    deadlineMs: 4000,
    backoffMs: 20,
    ...options,
  });
}

function store(
  options: MlflowStoreOptions = {},
  clientOptions: Partial<MlflowClientOptions> = {},
): MlflowModelStore {
  return new MlflowModelStore(client(clientOptions), {
    readyPollMs: 50,
    readyTimeoutMs: 1000,
    ...options,
  });
}

/** Puts a packed model behind the fake's artifact proxy under `folder`. */
function putModel(folder: string, files = packModel(artifact, { runId: 'r1' })): void {
  for (const [file, content] of Object.entries(files)) {
    fake.artifacts.set(`${folder}/${file}`, Buffer.from(content as string | Uint8Array));
  }
}

/** The failure of a promise that must fail. */
async function failure(promise: Promise<unknown>): Promise<DfpError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(DfpError);
    return err as DfpError;
  }
  throw new Error('expected a failure');
}

function models(names: string[]): { name: string }[] {
  return names.map((name) => ({ name }));
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

const pageEndings: [string, Record<string, unknown>][] = [
  ['absent', {}],
  ['an empty string', { next_page_token: '' }],
  ['null', { next_page_token: null }],
];

interface RawVersion {
  name: string;
  version: string;
  status: VersionStatus;
  source: string;
  run_id: string;
  creation_timestamp: number;
  tags: { key: string; value: string }[];
}

interface RegistryScript {
  /** `run.info` answered by runs/create for the n-th run (from 1). */
  runInfo?: (n: number) => Record<string, unknown>;
  /** Experiments that already exist, name -> id. */
  experiments?: Record<string, string>;
  /** Registered models that already exist. */
  models?: string[];
  /** Status in the model-versions/create answer. Default READY. */
  createStatus?: VersionStatus;
  /** Status model-versions/get answers, by ms since the version was created. Default READY. */
  getStatus?: (sinceCreateMs: number) => VersionStatus;
}

/**
 * Scripts every endpoint a registration uses, as a small stateful registry:
 * a second create of the same experiment or model answers 400
 * RESOURCE_ALREADY_EXISTS, versions are numbered from 1 per model.
 */
function scriptRegistry(script: RegistryScript = {}) {
  const experiments = new Map(Object.entries(script.experiments ?? {}));
  const registered = new Set(script.models ?? []);
  const versions = new Map<string, { raw: RawVersion; createdAt: number }>();
  const aliases = new Map<string, string>();
  let runs = 0;
  const withStatus = (key: string): { model_version: RawVersion } | undefined => {
    const v = versions.get(key);
    if (!v) return undefined;
    const status = script.getStatus?.(Date.now() - v.createdAt) ?? 'READY';
    v.raw.status = status;
    return { model_version: { ...v.raw } };
  };

  fake.serveArtifacts();
  fake.on('POST', 'experiments/create', (req) => {
    const { name } = req.json as { name: string };
    if (experiments.has(name)) {
      return mlflowError(
        400,
        'RESOURCE_ALREADY_EXISTS',
        `Experiment(name=${name}) already exists. Error: (UNIQUE constraint failed)`,
      );
    }
    const id = String(experiments.size + 1);
    experiments.set(name, id);
    return { json: { experiment_id: id } };
  });
  fake.on('GET', 'experiments/get-by-name', (req) => {
    const id = experiments.get(req.query.experiment_name);
    if (id === undefined) return mlflowError(404, 'RESOURCE_DOES_NOT_EXIST');
    return { json: { experiment: { experiment_id: id, name: req.query.experiment_name } } };
  });
  fake.on('POST', 'runs/create', (req) => {
    const n = ++runs;
    const { experiment_id: experimentId } = req.json as { experiment_id: string };
    const id = `run${n}`;
    const info = script.runInfo?.(n) ?? {
      run_id: id,
      experiment_id: experimentId,
      artifact_uri: `mlflow-artifacts:/${experimentId}/${id}/artifacts`,
      status: 'RUNNING',
    };
    return { json: { run: { info, data: {} } } };
  });
  fake.on('POST', 'runs/log-batch', () => ({ json: {} }));
  fake.on('POST', 'runs/update', (req) => ({ json: { run_info: req.json } }));
  fake.on('POST', 'registered-models/create', (req) => {
    const { name } = req.json as { name: string };
    if (registered.has(name)) {
      return mlflowError(
        400,
        'RESOURCE_ALREADY_EXISTS',
        `Registered Model (name=${name}) already exists.`,
      );
    }
    registered.add(name);
    return { json: { registered_model: { name } } };
  });
  fake.on('POST', 'model-versions/create', (req) => {
    const body = req.json as Pick<RawVersion, 'name' | 'source' | 'run_id' | 'tags'>;
    const number = [...versions.values()].filter((v) => v.raw.name === body.name).length + 1;
    const createdAt = Date.now();
    const raw: RawVersion = {
      ...body,
      version: String(number),
      status: script.createStatus ?? 'READY',
      creation_timestamp: createdAt,
    };
    versions.set(`${body.name}/${number}`, { raw, createdAt });
    return { json: { model_version: { ...raw } } };
  });
  fake.on('GET', 'model-versions/get', (req) => {
    const answer = withStatus(`${req.query.name}/${req.query.version}`);
    return answer ? { json: answer } : mlflowError(404, 'RESOURCE_DOES_NOT_EXIST');
  });
  fake.on('POST', 'registered-models/alias', (req) => {
    const body = req.json as { name: string; alias: string; version: string };
    aliases.set(`${body.name}@${body.alias}`, body.version);
    return { json: {} };
  });
  fake.on('GET', 'model-versions/search', (req) => {
    const name = /^name='(.*)'$/.exec(req.query.filter ?? '')?.[1];
    const found = [...versions.keys()].filter((key) => key.startsWith(`${name}/`));
    return { json: { model_versions: found.map((key) => withStatus(key)?.model_version) } };
  });
  fake.on('GET', 'registered-models/alias', (req) => {
    const version = aliases.get(`${req.query.name}@${req.query.alias}`);
    const answer = version === undefined ? undefined : withStatus(`${req.query.name}/${version}`);
    return answer ? { json: answer } : mlflowError(404, 'RESOURCE_DOES_NOT_EXIST');
  });
  return { versions, aliases };
}

describe('store > mlflow quirks', () => {
  describe('pagination (B06) > registered-models/search', () => {
    it.each(pageEndings)(
      'lists all 1050 models when the last page token is %s',
      async (_ending, last) => {
        const page1 = range(0, 1000).map((i) => `DFP-duo-u${String(i).padStart(4, '0')}`);
        const page2 = [...range(1000, 1049).map((i) => `DFP-duo-u${i}`), 'DFP-duo-hank'];
        fake.on('GET', 'registered-models/search', (req) =>
          req.query.page_token === 't1'
            ? { json: { registered_models: models(page2), ...last } }
            : { json: { registered_models: models(page1), next_page_token: 't1' } },
        );

        const names = await store().list();

        expect(names).toHaveLength(1050);
        expect(new Set(names).size).toBe(1050);
        expect(names[0]).toBe('DFP-duo-hank');
        expect(names).toContain('DFP-duo-u0000');
        expect(names).toContain('DFP-duo-u0999');
        expect(names[names.length - 1]).toBe('DFP-duo-u1048');
        expect(fake.requests.map((r) => r.query)).toEqual([
          { max_results: '1000' },
          { max_results: '1000', page_token: 't1' },
        ]);
      },
    );

    it('lists nothing for an empty registry that answers {}', async () => {
      fake.on('GET', 'registered-models/search', () => ({ json: {} }));
      expect(await store().list()).toEqual([]);
      expect(fake.calls()).toEqual(['GET registered-models/search']);
    });

    it('fails naming the endpoint when the server repeats the same page token', async () => {
      fake.on('GET', 'registered-models/search', () =>
        // A safety valve so that a client without a guard fails instead of looping.
        fake.requests.length > 20
          ? mlflowError(400, 'TEST_LOOP_GUARD')
          : { json: { registered_models: models(['DFP-duo-a']), next_page_token: 't1' } },
      );

      const err = await failure(store().list());

      expect(err.message).toContain('registered-models/search');
      expect(err.message).toContain('next_page_token');
      expect(err.message).not.toContain('TEST_LOOP_GUARD');
      expect(fake.requests).toHaveLength(2);
    });
  });

  describe('pagination (B06) > model-versions/search', () => {
    const version = (n: number) => ({
      name: 'DFP-duo-hank',
      version: String(n),
      status: 'READY',
      creation_timestamp: 1_660_000_000_000 + n,
      tags: [{ key: 'count', value: String(n) }],
    });

    it.each(pageEndings)(
      'returns all 1050 versions oldest first when the last page token is %s',
      async (_ending, last) => {
        // Newest first, as MLflow orders them.
        const page1 = range(51, 1051).reverse().map(version);
        const page2 = range(1, 51).reverse().map(version);
        fake.on('GET', 'model-versions/search', (req) =>
          req.query.page_token === 't1'
            ? { json: { model_versions: page2, ...last } }
            : { json: { model_versions: page1, next_page_token: 't1' } },
        );

        const versions = await store().versions('DFP-duo-hank');

        expect(versions.map((v) => v.version)).toEqual(range(1, 1051));
        expect(versions[0]).toEqual({
          name: 'DFP-duo-hank',
          version: 1,
          status: 'READY',
          tags: { count: '1' },
          createdAt: 1_660_000_000_001,
        });
        expect(fake.requests.map((r) => r.query)).toEqual([
          { filter: "name='DFP-duo-hank'", max_results: '1000' },
          { filter: "name='DFP-duo-hank'", max_results: '1000', page_token: 't1' },
        ]);
      },
    );

    it('returns no versions for a model search that answers {}', async () => {
      fake.on('GET', 'model-versions/search', () => ({ json: {} }));
      expect(await store().versions('DFP-duo-hank')).toEqual([]);
    });

    it('fails naming the endpoint when the server repeats the same page token', async () => {
      fake.on('GET', 'model-versions/search', () =>
        fake.requests.length > 20
          ? mlflowError(400, 'TEST_LOOP_GUARD')
          : { json: { model_versions: [version(1)], next_page_token: 't1' } },
      );

      const err = await failure(store().versions('DFP-duo-hank'));

      expect(err.message).toContain('model-versions/search');
      expect(err.message).toContain('next_page_token');
      expect(err.message).not.toContain('TEST_LOOP_GUARD');
      expect(fake.requests).toHaveLength(2);
    });
  });

  describe('version drift (B08)', () => {
    it('registers against a 2.x server whose run info has run_id and no run_uuid', async () => {
      scriptRegistry({
        experiments: { 'dfp/duo/training/DFP-duo-rita': '1' },
        runInfo: () => ({
          run_id: '5f1e0c',
          experiment_id: '1',
          artifact_uri: 'mlflow-artifacts:/1/5f1e0c/artifacts',
          lifecycle_stage: 'active',
        }),
        createStatus: 'PENDING_REGISTRATION',
      });
      const s = store();

      const info = await s.register('DFP-duo-rita', artifact, tags, {
        source: 'duo',
        entity: 'rita@example.com',
      });

      expect(info).toMatchObject({ name: 'DFP-duo-rita', version: 1, status: 'READY', tags });
      const folder = `${ARTIFACTS}1/5f1e0c/artifacts/model`;
      expect(fake.calls()).toEqual([
        'POST experiments/create',
        'GET experiments/get-by-name',
        'POST runs/create',
        'POST runs/log-batch',
        `PUT ${folder}/MLmodel`,
        `PUT ${folder}/model.json`,
        `PUT ${folder}/weights.bin`,
        'POST runs/update',
        'POST registered-models/create',
        'POST model-versions/create',
        'GET model-versions/get',
        'POST registered-models/alias',
        'GET registered-models/alias',
        'GET model-versions/search',
      ]);
      expect(fake.sent('POST runs/create')[0].json).toMatchObject({
        experiment_id: '1',
        tags: [{ key: 'dfp.model_name', value: 'DFP-duo-rita' }],
      });
      const batch = fake.sent('POST runs/log-batch')[0].json as {
        run_id: string;
        params: { key: string; value: string }[];
        metrics: { key: string; value: number }[];
      };
      expect(batch.run_id).toBe('5f1e0c');
      expect(batch.params).toEqual([
        { key: 'epochs', value: '12' },
        { key: 'max_epochs', value: '30' },
        { key: 'learning_rate', value: '0.01' },
        { key: 'batch_size', value: '64' },
        { key: 'window_start', value: tags.start },
        { key: 'window_end', value: tags.end },
        { key: 'row_count', value: '400' },
      ]);
      expect(batch.metrics.map((m) => [m.key, m.value])).toEqual([
        ['train_loss', 0.25],
        ['validation_loss', 0.375],
        ['loss_accessdevicebrowser', 0.125],
      ]);
      expect(fake.sent('POST runs/update')[0].json).toMatchObject({
        run_id: '5f1e0c',
        status: 'FINISHED',
      });
      expect(fake.sent('POST registered-models/create')[0].json).toEqual({
        name: 'DFP-duo-rita',
        tags: [
          { key: 'dfp.source', value: 'duo' },
          { key: 'dfp.entity', value: 'rita@example.com' },
        ],
      });
      expect(fake.sent('POST model-versions/create')[0].json).toEqual({
        name: 'DFP-duo-rita',
        source: 'mlflow-artifacts:/1/5f1e0c/artifacts/model',
        run_id: '5f1e0c',
        tags: [
          { key: 'start', value: tags.start },
          { key: 'end', value: tags.end },
          { key: 'count', value: '400' },
        ],
      });
      expect(fake.sent('GET model-versions/get')[0].query).toEqual({
        name: 'DFP-duo-rita',
        version: '1',
      });
      expect(fake.sent('POST registered-models/alias')[0].json).toEqual({
        name: 'DFP-duo-rita',
        alias: 'champion',
        version: '1',
      });
      // What was uploaded is a loadable model that names its run.
      const mlmodel = fake.artifacts.get('1/5f1e0c/artifacts/model/MLmodel')!.toString();
      expect(mlmodel).toContain('run_id: 5f1e0c');
      const loaded = await s.load('DFP-duo-rita', 1);
      expect(loaded.metadata).toEqual(metadata);
      expect(Array.from(loaded.weights)).toEqual(Array.from(weights));
    });

    it('registers against an old server whose run info has only run_uuid', async () => {
      scriptRegistry({
        runInfo: () => ({
          run_uuid: 'a1b2c3',
          experiment_id: '1',
          artifact_uri: 'mlflow-artifacts:/1/a1b2c3/artifacts',
        }),
      });
      const s = store();

      const info = await s.register('DFP-duo-rita', artifact, tags);

      expect(info).toMatchObject({ name: 'DFP-duo-rita', version: 1, status: 'READY' });
      expect(fake.calls()).toEqual([
        'POST experiments/create',
        'POST runs/create',
        'POST runs/log-batch',
        `PUT ${ARTIFACTS}1/a1b2c3/artifacts/model/MLmodel`,
        `PUT ${ARTIFACTS}1/a1b2c3/artifacts/model/model.json`,
        `PUT ${ARTIFACTS}1/a1b2c3/artifacts/model/weights.bin`,
        'POST runs/update',
        'POST registered-models/create',
        'POST model-versions/create',
        'POST registered-models/alias',
        'GET registered-models/alias',
        'GET model-versions/search',
      ]);
      expect(fake.sent('POST runs/log-batch')[0].json).toMatchObject({ run_id: 'a1b2c3' });
      expect(fake.sent('POST runs/update')[0].json).toMatchObject({
        run_id: 'a1b2c3',
        run_uuid: 'a1b2c3',
      });
      expect(fake.sent('POST model-versions/create')[0].json).toMatchObject({
        source: 'mlflow-artifacts:/1/a1b2c3/artifacts/model',
        run_id: 'a1b2c3',
      });
      expect((await s.load('DFP-duo-rita', 1)).metadata).toEqual(metadata);
    });

    it('fails naming runs/create and run.info.run_id when the run has neither id', async () => {
      scriptRegistry({
        runInfo: () => ({ experiment_id: '1', artifact_uri: 'mlflow-artifacts:/1/x/artifacts' }),
      });

      const err = await failure(store().register('DFP-duo-rita', artifact, tags));

      expect(err.code).toBe(ErrorCodes.STORE_UNSUPPORTED);
      expect(err.message).toBe('MLflow runs/create: unexpected response, missing run.info.run_id');
      expect(fake.calls()).toEqual(['POST experiments/create', 'POST runs/create']);
    });

    it('loads a version whose source is a 3.x logged model (models:/m-0a1b2c)', async () => {
      fake.serveArtifacts();
      putModel('1/models/m-0a1b2c/artifacts');
      fake.on('GET', 'model-versions/get', () => ({
        json: {
          model_version: {
            name: 'DFP-duo-rita',
            version: '3',
            status: 'READY',
            source: 'models:/m-0a1b2c',
            model_id: 'm-0a1b2c',
          },
        },
      }));
      fake.on('GET', 'logged-models/m-0a1b2c', () => ({
        json: {
          model: {
            info: {
              model_id: 'm-0a1b2c',
              artifact_uri: 'mlflow-artifacts:/1/models/m-0a1b2c/artifacts',
            },
          },
        },
      }));

      const loaded = await store().load('DFP-duo-rita', 3);

      expect(loaded.metadata).toEqual(metadata);
      expect(Array.from(loaded.weights)).toEqual(Array.from(weights));
      const folder = `${ARTIFACTS}1/models/m-0a1b2c/artifacts`;
      expect(fake.calls().slice(0, 2)).toEqual([
        'GET model-versions/get',
        'GET logged-models/m-0a1b2c',
      ]);
      expect(fake.calls().slice(2).sort()).toEqual([
        `GET ${folder}/MLmodel`,
        `GET ${folder}/model.json`,
        `GET ${folder}/weights.bin`,
      ]);
    });
  });

  describe('registration races and readiness (B18)', () => {
    it('treats RESOURCE_ALREADY_EXISTS on experiment and model create as success', async () => {
      scriptRegistry({
        experiments: { 'dfp/duo/training/DFP-duo-rita': '7' },
        models: ['DFP-duo-rita'],
      });

      const info = await store().register('DFP-duo-rita', artifact, tags);

      expect(info).toMatchObject({ name: 'DFP-duo-rita', version: 1, status: 'READY' });
      expect(fake.sent('POST experiments/create')).toHaveLength(1);
      expect(fake.sent('GET experiments/get-by-name')[0].query).toEqual({
        experiment_name: 'dfp/duo/training/DFP-duo-rita',
      });
      expect(fake.sent('POST runs/create')[0].json).toMatchObject({ experiment_id: '7' });
      expect(fake.sent('POST registered-models/create')).toHaveLength(1);
      expect(fake.sent('POST model-versions/create')).toHaveLength(1);
      expect(fake.sent('POST registered-models/alias')).toHaveLength(1);
    });

    it('gives two trainers registering the same model at once two versions', async () => {
      const { versions } = scriptRegistry();

      const made = await Promise.all([
        store().register('DFP-duo-rita', artifact, tags),
        store().register('DFP-duo-rita', artifact, tags),
      ]);

      expect(made.map((v) => v.version).sort()).toEqual([1, 2]);
      expect([...versions.keys()].sort()).toEqual(['DFP-duo-rita/1', 'DFP-duo-rita/2']);
      expect(fake.sent('POST experiments/create')).toHaveLength(2);
      expect(fake.sent('GET experiments/get-by-name')).toHaveLength(1);
      expect(fake.sent('POST registered-models/create')).toHaveLength(2);
    });

    it('repairs the champion when a concurrent write of the alias wins the race', async () => {
      const { aliases } = scriptRegistry();
      await store().register('DFP-duo-rita', artifact, tags);
      let posts = 0;
      fake.on('POST', 'registered-models/alias', (req) => {
        const body = req.json as { name: string; alias: string; version: string };
        posts += 1;
        // The first write of version 2 loses to a slower registrant of version 1.
        if (posts === 1) {
          aliases.set(`${body.name}@${body.alias}`, '1');
          return mlflowError(400, 'BAD_REQUEST', '(sqlite3.IntegrityError) UNIQUE constraint');
        }
        aliases.set(`${body.name}@${body.alias}`, body.version);
        return { json: {} };
      });

      const info = await store().register('DFP-duo-rita', artifact, tags);

      expect(info.version).toBe(2);
      expect(posts).toBe(2);
      expect(aliases.get('DFP-duo-rita@champion')).toBe('2');
      expect((await store().latest('DFP-duo-rita'))?.version).toBe(2);
    });

    it('gives up naming the alias and the newest version when the alias never sticks', async () => {
      scriptRegistry();
      fake.on('POST', 'registered-models/alias', () => ({ json: {} }));

      const err = await failure(store().register('DFP-duo-rita', artifact, tags));

      expect(err.message).toBe(
        'model DFP-duo-rita: the champion alias names version null after 5 writes; ' +
          'the newest READY version is 1',
      );
      expect(fake.sent('POST registered-models/alias')).toHaveLength(5);
    });

    it('waits for a PENDING version to be READY before setting the champion', async () => {
      scriptRegistry({
        createStatus: 'PENDING_REGISTRATION',
        getStatus: (since) => (since < 2000 ? 'PENDING_REGISTRATION' : 'READY'),
      });
      const started = Date.now();

      const info = await store({ readyPollMs: 50, readyTimeoutMs: 5000 }).register(
        'DFP-duo-rita',
        artifact,
        tags,
      );

      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      expect(info).toMatchObject({ name: 'DFP-duo-rita', version: 1, status: 'READY' });
      const calls = fake.calls();
      const gets = fake.sent('GET model-versions/get');
      expect(gets.length).toBeGreaterThanOrEqual(10);
      // The champion is written once READY, then read back with the versions (B18).
      expect(calls.slice(-3)).toEqual([
        'POST registered-models/alias',
        'GET registered-models/alias',
        'GET model-versions/search',
      ]);
      const lastGet = calls.lastIndexOf('GET model-versions/get');
      expect(lastGet).toBe(calls.length - 4);
      expect(calls.indexOf('POST model-versions/create')).toBe(lastGet - gets.length);
      const alias = fake.sent('POST registered-models/alias')[0];
      expect(alias.at).toBeGreaterThanOrEqual(gets[gets.length - 1].at);
      expect(alias.at - fake.sent('POST model-versions/create')[0].at).toBeGreaterThanOrEqual(2000);
    });

    it('fails when a version stays PENDING beyond readyTimeoutMs', async () => {
      scriptRegistry({
        createStatus: 'PENDING_REGISTRATION',
        getStatus: () => 'PENDING_REGISTRATION',
      });

      const err = await failure(
        store({ readyPollMs: 50, readyTimeoutMs: 300 }).register('DFP-duo-rita', artifact, tags),
      );

      expect(err.message).toBe(
        'model DFP-duo-rita version 1 still pending registration after 300 ms',
      );
      expect(err.retriable).toBe(true);
      expect(fake.sent('GET model-versions/get').length).toBeGreaterThanOrEqual(3);
      expect(fake.sent('POST registered-models/alias')).toHaveLength(0);
    });

    it('fails when registration ends FAILED_REGISTRATION and sets no alias', async () => {
      scriptRegistry({
        createStatus: 'PENDING_REGISTRATION',
        getStatus: () => 'FAILED_REGISTRATION',
      });

      const err = await failure(store().register('DFP-duo-rita', artifact, tags));

      expect(err.message).toBe(
        'model DFP-duo-rita version 1 registration ended FAILED_REGISTRATION',
      );
      expect(fake.sent('POST registered-models/alias')).toHaveLength(0);
    });

    it('returns the champion without searching when it is READY', async () => {
      fake.on('GET', 'registered-models/alias', () => ({
        json: { model_version: { name: 'DFP-duo-rita', version: '4', status: 'READY' } },
      }));

      expect(await store().latest('DFP-duo-rita')).toMatchObject({ version: 4, status: 'READY' });
      expect(fake.requests.map((r) => [r.call, r.query])).toEqual([
        ['GET registered-models/alias', { name: 'DFP-duo-rita', alias: 'champion' }],
      ]);
    });

    it('falls back to the newest READY version when the champion is PENDING', async () => {
      fake.on('GET', 'registered-models/alias', () => ({
        json: {
          model_version: { name: 'DFP-duo-rita', version: '3', status: 'PENDING_REGISTRATION' },
        },
      }));
      fake.on('GET', 'model-versions/search', () => ({
        json: {
          model_versions: [
            { name: 'DFP-duo-rita', version: '3', status: 'PENDING_REGISTRATION' },
            { name: 'DFP-duo-rita', version: '2', status: 'READY' },
            { name: 'DFP-duo-rita', version: '1', status: 'READY' },
          ],
        },
      }));

      const latest = await store().latest('DFP-duo-rita');

      expect(latest).toMatchObject({ name: 'DFP-duo-rita', version: 2, status: 'READY' });
      expect(fake.calls()).toEqual(['GET registered-models/alias', 'GET model-versions/search']);
    });

    it('returns null when no version is READY', async () => {
      fake.on('GET', 'registered-models/alias', () =>
        mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'Registered model alias champion not found.'),
      );
      fake.on('GET', 'model-versions/search', () => ({
        json: {
          model_versions: [
            { name: 'DFP-duo-rita', version: '2', status: 'PENDING_REGISTRATION' },
            { name: 'DFP-duo-rita', version: '1', status: 'FAILED_REGISTRATION' },
          ],
        },
      }));

      expect(await store().latest('DFP-duo-rita')).toBeNull();
    });

    it('refuses to load a PENDING version and downloads nothing', async () => {
      fake.serveArtifacts();
      putModel('1/run2/artifacts/model');
      fake.on('GET', 'model-versions/get', () => ({
        json: {
          model_version: {
            name: 'DFP-duo-rita',
            version: '2',
            status: 'PENDING_REGISTRATION',
            source: 'mlflow-artifacts:/1/run2/artifacts/model',
          },
        },
      }));

      const err = await failure(store().load('DFP-duo-rita', 2));

      expect(err.code).toBe(ErrorCodes.STORE_NOT_FOUND);
      expect(err.message).toBe('model DFP-duo-rita version 2 is PENDING_REGISTRATION, not READY');
      expect(fake.calls()).toEqual(['GET model-versions/get']);
    });
  });

  describe('unavailable server (B09)', () => {
    it('retries 503 answers with backoff and then succeeds', async () => {
      fake.on('GET', 'registered-models/search', () =>
        fake.requests.length <= 2
          ? mlflowError(503, 'TEMPORARILY_UNAVAILABLE', 'registry is restarting')
          : { json: { registered_models: models(['DFP-duo-jack', 'DFP-duo-ivy']) } },
      );

      const names = await store({}, { backoffMs: 20 }).list();

      expect(names).toEqual(['DFP-duo-ivy', 'DFP-duo-jack']);
      const at = fake.requests.map((r) => r.at);
      expect(at).toHaveLength(3);
      // Jittered delays of 20 ms then 40 ms, each at least half of that.
      expect(at[1] - at[0]).toBeGreaterThanOrEqual(9);
      expect(at[2] - at[1]).toBeGreaterThanOrEqual(19);
    });

    it('gives up within the deadline when the server never answers', async () => {
      fake.on('GET', 'registered-models/search', () => ({ hang: true }));
      const started = Date.now();

      const err = await failure(
        store({}, { timeoutMs: 300, deadlineMs: 1000, backoffMs: 20 }).list(),
      );

      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(600);
      expect(elapsed).toBeLessThan(1500);
      expect(err.code).toBe(ErrorCodes.STORE_UNREADABLE);
      expect(err.retriable).toBe(true);
      expect(err.message).toBe(
        `MLflow registered-models/search at ${fake.uri}: no answer within 300 ms`,
      );
      expect(fake.requests.length).toBeGreaterThanOrEqual(3);
    }, 5000);

    it('gives up within the deadline when an artifact download never answers', async () => {
      fake.on('GET', 'model-versions/get', () => ({
        json: {
          model_version: {
            name: 'DFP-duo-jack',
            version: '1',
            status: 'READY',
            source: 'mlflow-artifacts:/1/run1/artifacts/model',
          },
        },
      }));
      fake.on('GET', `${ARTIFACTS}*`, () => ({ hang: true }));
      const started = Date.now();

      const err = await failure(
        store({}, { timeoutMs: 200, deadlineMs: 500, backoffMs: 20 }).load('DFP-duo-jack', 1),
      );

      expect(Date.now() - started).toBeLessThan(1000);
      expect(err.message).toBe(
        `MLflow artifacts (download) at ${fake.uri}: no answer within 200 ms`,
      );
    }, 5000);

    it('does not retry a 400 INVALID_PARAMETER_VALUE', async () => {
      fake.on('GET', 'model-versions/get', () =>
        mlflowError(400, 'INVALID_PARAMETER_VALUE', 'Model version must be an integer'),
      );

      const err = await failure(store().load('DFP-duo-jack', 1));

      expect(err).toBeInstanceOf(MlflowError);
      expect(err).toMatchObject({
        endpoint: 'model-versions/get',
        status: 400,
        errorCode: 'INVALID_PARAMETER_VALUE',
        retriable: false,
      });
      expect(fake.requests).toHaveLength(1);
    });

    it('surfaces an MLflow error answer with endpoint, status and error_code', async () => {
      fake.on('GET', 'model-versions/get', () =>
        mlflowError(
          404,
          'RESOURCE_DOES_NOT_EXIST',
          'Model Version (name=DFP-duo-nobody, version=3) not found',
        ),
      );

      const err = await failure(store().load('DFP-duo-nobody', 3));

      expect(err.code).toBe(ErrorCodes.STORE_NOT_FOUND);
      expect(err.message).toBe(
        'MLflow model-versions/get: 404 RESOURCE_DOES_NOT_EXIST: ' +
          'Model Version (name=DFP-duo-nobody, version=3) not found',
      );
      expect(fake.requests).toHaveLength(1);
    });

    it('surfaces a proxy page that is not JSON as HTTP_ERROR after retrying', async () => {
      fake.on('GET', 'registered-models/search', () => ({
        status: 502,
        text: '<html><body>502 Bad Gateway</body></html>',
      }));

      const err = await failure(store({}, { deadlineMs: 300, backoffMs: 20 }).list());

      expect(err.code).toBe(ErrorCodes.STORE_UNREADABLE);
      expect(err.message).toBe(
        'MLflow registered-models/search: 502 HTTP_ERROR: ' +
          '<html><body>502 Bad Gateway</body></html>',
      );
      expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    });
  });

  describe('authentication', () => {
    const answer = (): FakeReply => ({ json: { registered_models: [] } });

    it('sends MLFLOW_TRACKING_TOKEN as a bearer token on API and artifact calls', async () => {
      fake.serveArtifacts().on('GET', 'registered-models/search', answer);
      const c = MlflowClient.fromEnv(fake.uri, { MLFLOW_TRACKING_TOKEN: 'abc' });

      await new MlflowModelStore(c).list();
      await c.putArtifact('1/run1/artifacts/model/weights.bin', weights);

      expect(fake.requests.map((r) => r.headers.authorization)).toEqual([
        'Bearer abc',
        'Bearer abc',
      ]);
      expect(Array.from(fake.artifacts.get('1/run1/artifacts/model/weights.bin')!)).toEqual(
        Array.from(weights),
      );
    });

    it('sends MLFLOW_TRACKING_USERNAME and PASSWORD as basic auth', async () => {
      fake.on('GET', 'registered-models/search', answer);
      const c = MlflowClient.fromEnv(fake.uri, {
        MLFLOW_TRACKING_USERNAME: 'ann',
        MLFLOW_TRACKING_PASSWORD: 's3cret',
      });

      await new MlflowModelStore(c).list();

      expect(fake.requests[0].headers.authorization).toBe('Basic YW5uOnMzY3JldA==');
    });

    it('sends no authorization header without credentials', async () => {
      fake.on('GET', 'registered-models/search', answer);

      await new MlflowModelStore(MlflowClient.fromEnv(fake.uri, {})).list();

      expect(fake.requests[0].headers.authorization).toBeUndefined();
    });
  });

  describe('model format', () => {
    it('refuses an MLmodel without the dfp_autoencoder flavor, naming the model', () => {
      const mlmodel = 'flavors:\n  python_function:\n    loader_module: mlflow.pytorch\n';

      let err: DfpError | undefined;
      try {
        unpackModel({ mlmodel, metadata: '{}', weights }, 'DFP-duo-ivy:2');
      } catch (e) {
        err = e as DfpError;
      }

      expect(err).toBeInstanceOf(DfpError);
      expect(err?.code).toBe(ErrorCodes.MODEL_INVALID);
      expect(err?.message).toBe(
        'cannot load model DFP-duo-ivy:2: MLmodel has no dfp_autoencoder flavor ' +
          '(found: python_function)',
      );
    });

    it.each([
      ['99', 'format_version: 99'],
      ['"99"', 'format_version: "99"'],
    ])('refuses format_version %s when loading, naming the model', async (shown, line) => {
      const files = packModel(artifact, { runId: 'run1' });
      expect(files.MLmodel).toContain('format_version: 1\n');
      putModel('1/run1/artifacts/model', {
        ...files,
        MLmodel: files.MLmodel.replace('format_version: 1\n', `${line}\n`),
      });
      fake.serveArtifacts().on('GET', 'model-versions/get', () => ({
        json: {
          model_version: {
            name: 'DFP-duo-ivy',
            version: '2',
            status: 'READY',
            source: 'mlflow-artifacts:/1/run1/artifacts/model',
          },
        },
      }));

      const err = await failure(store().load('DFP-duo-ivy', 2));

      expect(err.code).toBe(ErrorCodes.MODEL_INVALID);
      expect(err.message).toContain(
        'cannot load model DFP-duo-ivy:2 (mlflow-artifacts:/1/run1/artifacts/model): ' +
          `dfp_autoencoder format version ${shown.replace(/"/g, '')} is not supported`,
      );
      expect(err.details).toEqual({
        model: 'DFP-duo-ivy:2 (mlflow-artifacts:/1/run1/artifacts/model)',
      });
    });
  });
});
