/**
 * The model store on an MLflow tracking server. Each training is a run in the
 * experiment `dfp/<source>/training/<model name>` with its parameters and
 * final per-feature losses; the model files go to the run's artifacts through
 * the server's artifact proxy (`mlflow server --serve-artifacts`); each entity
 * is a registered model whose versions point at those artifacts. The newest
 * READY version carries the alias `champion`, which inference loads.
 */
import { DfpError, ErrorCodes } from '../errors';
import { type MlflowClient, isMlflowError } from './mlflow-client';
import {
  ARTIFACT_PATH,
  METADATA_FILE,
  MLMODEL_FILE,
  WEIGHTS_FILE,
  packModel,
  unpackModel,
} from './model-format';
import type {
  ModelArtifact,
  ModelStore,
  ModelVersionInfo,
  RegisterContext,
  VersionStatus,
  VersionTags,
} from './types';

export const CHAMPION_ALIAS = 'champion';
/** Writes of the champion alias before a registration gives up (see setChampion). */
const CHAMPION_ATTEMPTS = 5;
const PAGE_SIZE = 1000;

interface KeyValue {
  key: string;
  value: string;
}

/** A model version as MLflow 2.x and 3.x return it (fields we use). */
interface RawModelVersion {
  name?: string;
  version?: string | number;
  status?: string;
  source?: string;
  run_id?: string;
  creation_timestamp?: number | string;
  tags?: KeyValue[];
}

export interface MlflowStoreOptions {
  /** How long to wait for a new version to become READY. Default 60 s. */
  readyTimeoutMs?: number;
  /** Poll interval while waiting for READY. Default 250 ms. */
  readyPollMs?: number;
}

function shapeError(endpoint: string, field: string): DfpError {
  return new DfpError(
    ErrorCodes.STORE_UNSUPPORTED,
    `MLflow ${endpoint}: unexpected response, missing ${field}`,
    { details: { endpoint, field } },
  );
}

function sourceOfName(name: string): string {
  return /^DFP-([^-]+)-/.exec(name)?.[1] ?? 'unknown';
}

function toInfo(raw: RawModelVersion, endpoint: string): ModelVersionInfo {
  if (raw.name === undefined) throw shapeError(endpoint, 'model_version.name');
  if (raw.version === undefined) throw shapeError(endpoint, 'model_version.version');
  const tags: Record<string, string> = {};
  for (const t of raw.tags ?? []) tags[t.key] = t.value;
  return {
    name: raw.name,
    version: Number(raw.version),
    status: (raw.status ?? 'READY') as VersionStatus,
    tags: tags as VersionTags,
    createdAt: Number(raw.creation_timestamp ?? 0),
  };
}

/** The artifact-proxy path of a version's model folder, from its `source`. */
async function artifactPath(client: MlflowClient, raw: RawModelVersion): Promise<string> {
  const source = raw.source ?? '';
  const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(source);
  if (proxied) return proxied[1].replace(/\/+$/, '');
  const runs = /^runs:\/([^/]+)\/(.*)$/.exec(source);
  if (runs) {
    const run = await client.call<{ run?: { info?: { artifact_uri?: string } } }>(
      'GET',
      'runs/get',
      {
        query: { run_id: runs[1] },
      },
    );
    const base = run.run?.info?.artifact_uri;
    if (!base) throw shapeError('runs/get', 'run.info.artifact_uri');
    return (await artifactPath(client, { source: `${base}/${runs[2]}` })).replace(/\/+$/, '');
  }
  const logged = /^models:\/(m-[^/]+)\/?(.*)$/.exec(source);
  if (logged) {
    // MLflow 3 "logged model" URIs: resolve to the model's artifact location.
    const res = await client.call<{ model?: { info?: { artifact_uri?: string } } }>(
      'GET',
      `logged-models/${logged[1]}`,
    );
    const base = res.model?.info?.artifact_uri;
    if (!base) throw shapeError(`logged-models/${logged[1]}`, 'model.info.artifact_uri');
    return artifactPath(client, { source: logged[2] ? `${base}/${logged[2]}` : base });
  }
  throw new DfpError(
    ErrorCodes.STORE_UNSUPPORTED,
    `model version ${raw.name}:${raw.version} has source ${JSON.stringify(source)}; only ` +
      'artifacts served by the tracking server (mlflow-artifacts:, runs:/, models:/m-…) ' +
      'can be loaded',
  );
}

export class MlflowModelStore implements ModelStore {
  readonly uri: string;
  private readonly readyTimeoutMs: number;
  private readonly readyPollMs: number;

  constructor(
    private readonly client: MlflowClient,
    options: MlflowStoreOptions = {},
  ) {
    this.uri = client.uri;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    this.readyPollMs = options.readyPollMs ?? 250;
  }

  async register(
    name: string,
    artifact: ModelArtifact,
    tags: VersionTags,
    context?: RegisterContext,
  ): Promise<ModelVersionInfo> {
    const source = context?.source ?? sourceOfName(name);
    const experimentId = await this.experiment(`dfp/${source}/training/${name}`);
    const run = await this.startRun(experimentId, name, tags, artifact);

    const files = packModel(artifact, { runId: run.runId });
    for (const file of [MLMODEL_FILE, METADATA_FILE, WEIGHTS_FILE] as const) {
      const content = files[file];
      const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
      await this.client.putArtifact(`${run.artifactPath}/${ARTIFACT_PATH}/${file}`, bytes);
    }
    await this.client.call('POST', 'runs/update', {
      body: { run_id: run.runId, run_uuid: run.runId, status: 'FINISHED', end_time: Date.now() },
    });

    await this.ignoreExists(() =>
      this.client.call('POST', 'registered-models/create', {
        body: {
          name,
          tags: [
            { key: 'dfp.source', value: source },
            { key: 'dfp.entity', value: context?.entity ?? '(generic)' },
          ],
        },
      }),
    );
    const created = await this.client.call<{ model_version?: RawModelVersion }>(
      'POST',
      'model-versions/create',
      {
        body: {
          name,
          source: `${run.artifactUri}/${ARTIFACT_PATH}`,
          run_id: run.runId,
          tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
        },
      },
    );
    if (!created.model_version) throw shapeError('model-versions/create', 'model_version');
    const info = await this.waitReady(toInfo(created.model_version, 'model-versions/create'));
    await this.setChampion(name, info.version);
    return info;
  }

  private async experiment(experimentName: string): Promise<string> {
    try {
      const made = await this.client.call<{ experiment_id?: string }>(
        'POST',
        'experiments/create',
        {
          body: { name: experimentName },
        },
      );
      if (!made.experiment_id) throw shapeError('experiments/create', 'experiment_id');
      return made.experiment_id;
    } catch (err) {
      // A concurrent trainer made it first: that is success.
      if (!isMlflowError(err, 'RESOURCE_ALREADY_EXISTS')) throw err;
    }
    const found = await this.client.call<{ experiment?: { experiment_id?: string } }>(
      'GET',
      'experiments/get-by-name',
      { query: { experiment_name: experimentName } },
    );
    const id = found.experiment?.experiment_id;
    if (!id) throw shapeError('experiments/get-by-name', 'experiment.experiment_id');
    return id;
  }

  private async startRun(
    experimentId: string,
    name: string,
    tags: VersionTags,
    artifact: ModelArtifact,
  ): Promise<{ runId: string; artifactUri: string; artifactPath: string }> {
    const res = await this.client.call<{
      run?: { info?: { run_id?: string; run_uuid?: string; artifact_uri?: string } };
    }>('POST', 'runs/create', {
      body: {
        experiment_id: experimentId,
        run_name: `autoencoder training ${name}`,
        start_time: Date.now(),
        tags: [{ key: 'dfp.model_name', value: name }],
      },
    });
    const info = res.run?.info;
    // MLflow 2.x+ names it run_id; very old servers only run_uuid.
    const runId = info?.run_id ?? info?.run_uuid;
    if (!runId) throw shapeError('runs/create', 'run.info.run_id');
    const artifactUri = info?.artifact_uri;
    if (!artifactUri) throw shapeError('runs/create', 'run.info.artifact_uri');
    if (!artifactUri.startsWith('mlflow-artifacts:')) {
      throw new DfpError(
        ErrorCodes.STORE_UNSUPPORTED,
        `MLflow run artifacts go to ${artifactUri}, which this client cannot write; start the ` +
          'server with --serve-artifacts (artifact proxy)',
      );
    }
    const path = await artifactPath(this.client, { source: artifactUri });

    const meta = artifact.metadata as {
      options?: { learningRate?: number; batchSize?: number; epochs?: number };
      training?: { epochsRun?: number; trainLosses?: number[]; validationLosses?: number[] };
      features?: { name: string; calibration?: { mean?: number } }[];
    };
    const params: Record<string, unknown> = {
      epochs: meta.training?.epochsRun,
      max_epochs: meta.options?.epochs,
      learning_rate: meta.options?.learningRate,
      batch_size: meta.options?.batchSize,
      window_start: tags.start,
      window_end: tags.end,
      row_count: tags.count,
    };
    const now = Date.now();
    type Metric = { key: string; value: number; timestamp: number; step: number };
    /** The last value of a per-epoch series, as one metric. */
    const last = (key: string, series: number[] | undefined): Metric[] =>
      series && series.length > 0
        ? [{ key, value: series[series.length - 1], timestamp: now, step: 0 }]
        : [];
    const metrics: Metric[] = [
      ...last('train_loss', meta.training?.trainLosses),
      ...last('validation_loss', meta.training?.validationLosses),
    ];
    for (const f of meta.features ?? []) {
      const v = f.calibration?.mean;
      if (typeof v === 'number' && Number.isFinite(v)) {
        metrics.push({
          key: `loss_${f.name}`.replace(/[^\w./ -]/g, '_'),
          value: v,
          timestamp: now,
          step: 0,
        });
      }
    }
    await this.client.call('POST', 'runs/log-batch', {
      body: {
        run_id: runId,
        params: Object.entries(params)
          .filter(([, v]) => v !== undefined && v !== null)
          .map(([key, value]) => ({ key, value: String(value) })),
        metrics,
      },
    });
    return { runId, artifactUri, artifactPath: path };
  }

  private async ignoreExists(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (!isMlflowError(err, 'RESOURCE_ALREADY_EXISTS')) throw err;
    }
  }

  private async waitReady(info: ModelVersionInfo): Promise<ModelVersionInfo> {
    const deadline = Date.now() + this.readyTimeoutMs;
    let current = info;
    while (current.status === 'PENDING_REGISTRATION') {
      if (Date.now() > deadline) {
        throw new DfpError(
          ErrorCodes.STORE_UNREADABLE,
          `model ${info.name} version ${info.version} still pending registration ` +
            `after ${this.readyTimeoutMs} ms`,
          { retriable: true },
        );
      }
      await new Promise((r) => setTimeout(r, this.readyPollMs));
      current = await this.getVersion(info.name, info.version);
    }
    if (current.status !== 'READY') {
      throw new DfpError(
        ErrorCodes.STORE_UNREADABLE,
        `model ${info.name} version ${info.version} registration ended ${current.status}`,
      );
    }
    return current;
  }

  /**
   * Points the champion alias at the newest READY version. Concurrent registrations of one model
   * race on it: MLflow inserts a new alias without a lock, so one of two first writes fails (400
   * from SQLite's unique index), and a slower registrant could point it back at an older version.
   * So each registrant writes, reads the alias and the versions back, and writes the newest again
   * until the alias names it.
   */
  private async setChampion(name: string, version: number): Promise<void> {
    let target = version;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.call('POST', 'registered-models/alias', {
          body: { name, alias: CHAMPION_ALIAS, version: String(target) },
        });
      } catch (err) {
        // Servers before aliases (MLflow < 2.3) answer 404; latest() then takes the newest READY.
        if (isMlflowError(err) && err.status === 404) return;
        if (!isMlflowError(err) || err.status !== 400 || attempt >= CHAMPION_ATTEMPTS) throw err;
      }
      const named = (await this.champion(name))?.version ?? null;
      const ready = (await this.versions(name)).filter((v) => v.status === 'READY');
      const newest = Math.max(target, ...ready.map((v) => v.version));
      if (named === newest) return;
      if (attempt >= CHAMPION_ATTEMPTS) {
        throw new DfpError(
          ErrorCodes.STORE_UNREADABLE,
          `model ${name}: the ${CHAMPION_ALIAS} alias names version ${named} after ` +
            `${attempt} writes; the newest READY version is ${newest}`,
        );
      }
      target = newest;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    }
  }

  /**
   * The version the champion alias names, whatever its status; null when there is no such
   * model or alias, or the server has no aliases.
   */
  private async champion(name: string): Promise<ModelVersionInfo | null> {
    try {
      const res = await this.client.call<{ model_version?: RawModelVersion }>(
        'GET',
        'registered-models/alias',
        { query: { name, alias: CHAMPION_ALIAS } },
      );
      return res.model_version ? toInfo(res.model_version, 'registered-models/alias') : null;
    } catch (err) {
      if (
        isMlflowError(err) &&
        (err.status === 404 || err.errorCode === 'INVALID_PARAMETER_VALUE')
      ) {
        return null;
      }
      throw err;
    }
  }

  private async rawVersion(name: string, version: number): Promise<RawModelVersion> {
    const res = await this.client.call<{ model_version?: RawModelVersion }>(
      'GET',
      'model-versions/get',
      {
        query: { name, version },
      },
    );
    if (!res.model_version) throw shapeError('model-versions/get', 'model_version');
    return res.model_version;
  }

  private async getVersion(name: string, version: number): Promise<ModelVersionInfo> {
    return toInfo(await this.rawVersion(name, version), 'model-versions/get');
  }

  async latest(name: string): Promise<ModelVersionInfo | null> {
    const champion = await this.champion(name);
    if (champion?.status === 'READY') return champion;
    // No such model, no alias yet, or a server without aliases: look at the versions.
    const ready = (await this.versions(name)).filter((v) => v.status === 'READY');
    return ready.length === 0 ? null : ready[ready.length - 1];
  }

  async load(name: string, version: number): Promise<ModelArtifact> {
    const raw = await this.rawVersion(name, version);
    const status = raw.status ?? 'READY';
    if (status !== 'READY') {
      throw new DfpError(
        ErrorCodes.STORE_NOT_FOUND,
        `model ${name} version ${version} is ${status}, not READY`,
      );
    }
    const base = await artifactPath(this.client, raw);
    const [mlmodel, metadata, weights] = await Promise.all([
      this.client.getArtifact(`${base}/${MLMODEL_FILE}`),
      this.client.getArtifact(`${base}/${METADATA_FILE}`),
      this.client.getArtifact(`${base}/${WEIGHTS_FILE}`),
    ]);
    const text = new TextDecoder();
    return unpackModel(
      { mlmodel: text.decode(mlmodel), metadata: text.decode(metadata), weights },
      `${name}:${version} (${raw.source})`,
    );
  }

  /**
   * Every item of a paged search. The last page has no token: absent, null or
   * "" depending on the server; a token seen before is an error, not a loop.
   */
  private async searchAll<T>(
    endpoint: string,
    field: string,
    query: Record<string, string>,
  ): Promise<T[]> {
    const items: T[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const res = await this.client.call<Record<string, unknown>>('GET', endpoint, {
        query: { ...query, max_results: PAGE_SIZE, page_token: token },
      });
      items.push(...((res[field] as T[] | null | undefined) ?? []));
      token = (res.next_page_token as string | null | undefined) || undefined;
      if (token && seen.has(token)) throw shapeError(endpoint, 'a new next_page_token');
      if (token) seen.add(token);
    } while (token);
    return items;
  }

  async list(): Promise<string[]> {
    const models = await this.searchAll<{ name?: string }>(
      'registered-models/search',
      'registered_models',
      {},
    );
    return models.flatMap((m) => (m.name ? [m.name] : [])).sort();
  }

  async versions(name: string): Promise<ModelVersionInfo[]> {
    let raw: RawModelVersion[];
    try {
      raw = await this.searchAll<RawModelVersion>('model-versions/search', 'model_versions', {
        filter: `name='${name.replace(/'/g, "\\'")}'`,
      });
    } catch (err) {
      if (isMlflowError(err) && err.status === 404) return [];
      throw err;
    }
    return raw.map((v) => toInfo(v, 'model-versions/search')).sort((a, b) => a.version - b.version);
  }
}
