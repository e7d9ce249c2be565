/**
 * The training pipeline: files → batches → decode → split by entity → rolling
 * window → preprocess → autoencoder → model store. One entity's failure is
 * reported and the others go on.
 */
import { createHash } from 'node:crypto';
import { SingleBar } from 'cli-progress';
import { modelName } from '../entities/names';
import { splitByEntity, splitModeFor } from '../entities/split';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import {
  type AutoencoderOptions,
  type EpochInfo,
  type SerializedMetadata,
  type SerializedModel,
  type TrainerPool,
  serializeModel,
  trainAutoencoder,
} from '../model';
import type { ModelStore } from '../store/types';
import type { RowSink } from '../sinks/types';
import { type Table, getNumbers, selectColumns, toIPC } from '../table';
import { rowHashes } from '../window/row-hash';
import { TrainingWindows } from '../window/rolling-window';
import type { PipelineConfig } from './config';
import { loadBatch } from './load';
import { type EntityOutcome, type RunReport, emptyReport } from './report';
import { expandInputs } from './inputs';
import { accountBatch, objectsOf, planFileBatches, preprocess, sinkFor, windowKey } from './stages';

export interface PipelineContext {
  logger: Logger;
  store: ModelStore;
  /** Trains entities in parallel worker threads when given. */
  pool?: TrainerPool;
  /** Where a trained model goes when the store cannot register it (MLflow down). */
  spool?: ModelStore;
}

export interface DueWindow {
  entity: string | null;
  window: Table;
}

/** Hyper-parameters: library defaults, then the source's, then the user's. */
export function modelOptionsFor(config: PipelineConfig): Partial<AutoencoderOptions> {
  return {
    ...(config.source.training?.epochs !== undefined
      ? { epochs: config.source.training.epochs }
      : {}),
    ...(config.source.training?.validationSize !== undefined
      ? { validationSize: config.source.training.validationSize }
      : {}),
    ...config.model,
  };
}

/** A digest of a training window's feature rows and the hyper-parameters. */
function windowFingerprint(features: Table, options: Partial<AutoencoderOptions>): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(options));
  for (const h of rowHashes(features)) hash.update(`${h},`);
  return hash.digest('hex').slice(0, 32);
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Trains one entity's window and registers the model; never throws (failures are outcomes). */
export async function trainWindow(
  due: DueWindow,
  config: PipelineConfig,
  ctx: PipelineContext,
): Promise<EntityOutcome> {
  const { source } = config;
  const started = Date.now();
  const label = due.entity ?? 'generic_user';
  const log = ctx.logger.child({ entity: label });
  try {
    const processed = preprocess(due.window, source);
    const features = selectColumns(processed, source.features);
    const name = modelName(source.name, due.entity);
    // Same rows, features and hyper-parameters as the newest version: nothing to learn.
    const fingerprint = windowFingerprint(features, modelOptionsFor(config));
    const latest = await ctx.store.latest(name);
    if (latest?.tags.fingerprint === fingerprint) {
      return {
        entity: due.entity,
        status: 'skipped',
        reason: `already trained on this exact window (${name}:${latest.version})`,
        modelVersion: `${name}:${latest.version}`,
      };
    }
    const onEpoch = (info: EpochInfo) =>
      log.debug(
        { epoch: info.epoch, loss: info.trainLoss, validationLoss: info.validationLoss },
        'epoch',
      );
    const onWarning = (message: string, details: Record<string, unknown>) =>
      log.warn(details, message);
    const artifact: SerializedModel = ctx.pool
      ? await ctx.pool.train({
          table: toIPC(features),
          features: source.features,
          options: modelOptionsFor(config),
          entity: label,
          onEpoch,
          onWarning,
        })
      : await trainInProcess(features, config, label, onEpoch, onWarning);
    const summary = (artifact.metadata as SerializedMetadata).training;
    const times = getNumbers(processed, source.timestampColumn);
    const tags = {
      start: isoTime(times[0]),
      end: isoTime(times[times.length - 1]),
      count: String(processed.numRows),
      fingerprint,
    };
    let version;
    try {
      version = await ctx.store.register(name, artifact, tags, {
        source: source.name,
        entity: due.entity,
      });
    } catch (err) {
      if (!ctx.spool) throw err;
      // The store refused or is down: keep the trained model rather than lose it.
      const kept = await ctx.spool.register(name, artifact, tags);
      throw new Error(
        `registration in ${ctx.store.uri} failed (${errorMessage(err)}); the model is kept in ` +
          `${ctx.spool.uri} as ${kept.name}:${kept.version}`,
        { cause: err },
      );
    }
    const durationMs = Date.now() - started;
    const modelVersion = `${version.name}:${version.version}`;
    const finalLoss = summary.trainLosses[summary.trainLosses.length - 1];
    log.info(
      { rows: processed.numRows, epochs: summary.epochsRun, finalLoss, durationMs, modelVersion },
      'model trained',
    );
    return {
      entity: due.entity,
      status: 'trained',
      modelVersion,
      rows: summary.rowsTrained,
      epochs: summary.epochsRun,
      finalLoss,
      durationMs,
      trainingMs: summary.durationMs,
    };
  } catch (err) {
    log.error({ err: errorMessage(err), stage: 'training' }, 'training failed');
    return {
      entity: due.entity,
      status: 'failed',
      reason: errorMessage(err),
      durationMs: Date.now() - started,
    };
  }
}

async function trainInProcess(
  features: Table,
  config: PipelineConfig,
  entity: string,
  onEpoch: (info: EpochInfo) => void,
  onWarning: (message: string, details: Record<string, unknown>) => void,
): Promise<SerializedModel> {
  const model = await trainAutoencoder(features, config.source.features, modelOptionsFor(config), {
    entity,
    onEpoch,
    onWarning,
  });
  try {
    return serializeModel(model);
  } finally {
    model.dispose();
  }
}

/** Rows of a table split as the training mode asks (generic, per entity, or both). */
export function splitForTraining(config: PipelineConfig, table: Table) {
  const mode = splitModeFor(config.trainUsers === 'none' ? 'all' : config.trainUsers);
  return splitByEntity(table, {
    entityColumn: config.source.entityColumn,
    ...mode,
    skipEntities: config.skipUsers,
    onlyEntities: config.onlyUsers,
  });
}

/** What happened to each entity in a run, kept on the report. */
export class OutcomeBook {
  private readonly outcomes = new Map<string, EntityOutcome>();
  private readonly trained = new Set<string>();

  constructor(private readonly report: RunReport) {}

  /** A window not due yet; never hides an earlier training or failure of the entity. */
  skip(key: string, entity: string | null, reason: string): void {
    if (!this.trained.has(key) && this.outcomes.get(key)?.status !== 'failed') {
      this.outcomes.set(key, { entity, status: 'skipped', reason });
      this.publish();
    }
  }

  /** A training's outcome: a later successful retrain supersedes; a failure is never hidden. */
  record(key: string, outcome: EntityOutcome): void {
    if (outcome.status === 'trained' || this.outcomes.get(key)?.status !== 'trained') {
      this.outcomes.set(key, outcome);
    }
    if (outcome.status === 'trained') {
      this.trained.add(key);
      this.report.trainingRows += (outcome.rows ?? 0) * (outcome.epochs ?? 0);
    }
    this.publish();
  }

  /** The outcomes on the report, in code-point order like the split (the same in every locale). */
  private publish(): void {
    this.report.entities = [...this.outcomes.values()].sort((a, b) =>
      a.entity === b.entity
        ? 0
        : a.entity === null
          ? -1
          : b.entity === null
            ? 1
            : a.entity < b.entity
              ? -1
              : 1,
    );
  }
}

/** Trains from files batch by batch, keeping per-entity windows between calls. */
export class Trainer {
  readonly report: RunReport;
  private readonly windows: TrainingWindows;
  private readonly rejects: RowSink;
  private readonly book: OutcomeBook;

  constructor(
    private readonly config: PipelineConfig,
    private readonly ctx: PipelineContext,
  ) {
    this.report = emptyReport('training', config.source.name);
    this.windows = new TrainingWindows({
      ...config.window,
      timestampColumn: config.source.timestampColumn,
    });
    this.rejects = sinkFor(config, 'rejects');
    this.book = new OutcomeBook(this.report);
  }

  /**
   * Reads the given files (time window, sampling and batching applied), then
   * trains each entity whose window is due, once, on everything read.
   */
  async processFiles(paths: string[]): Promise<void> {
    const { config, report } = this;
    const plan = await planFileBatches(config, paths);
    report.files += plan.files;
    const touched = new Map<string, string | null>();
    for (const [index, batch] of plan.batches.entries()) {
      const loaded = await loadBatch(
        batch.files.map((f) => f.path),
        config.source,
        config.cacheDir,
        objectsOf(config),
      );
      await accountBatch(report, loaded, this.rejects, this.ctx.logger);
      this.ctx.logger.info(
        {
          batch: index + 1,
          of: plan.batches.length,
          files: batch.files.length,
          rows: loaded.table.numRows,
          rejected: loaded.rejects.length,
          fromCache: loaded.fromCache,
        },
        'batch loaded',
      );
      if (loaded.table.numRows === 0) continue;
      const parts = splitForTraining(config, loaded.table);
      const hasGeneric = parts.some((p) => p.entity === null);
      for (const part of parts) {
        const key = windowKey(part.entity);
        const { duplicates } = this.windows.add(key, part.table);
        // The generic window holds every row: count repeats there, or per entity without it.
        if (part.entity === null || !hasGeneric) report.duplicates += duplicates;
        touched.set(key, part.entity);
      }
    }
    await this.trainDue(this.collectDue(touched));
  }

  private collectDue(touched: Map<string, string | null>): DueWindow[] {
    const due: DueWindow[] = [];
    for (const [key, entity] of touched) {
      const decision = this.windows.take(key);
      if (decision.ready) due.push({ entity, window: decision.window });
      else this.book.skip(key, entity, decision.reason);
    }
    return due;
  }

  private async trainDue(due: DueWindow[]): Promise<void> {
    const { report } = this;
    const bar =
      this.config.progress && due.length > 0
        ? new SingleBar({
            format: 'training [{bar}] {value}/{total} models | {entity}',
            stream: process.stderr,
            hideCursor: true,
          })
        : null;
    bar?.start(due.length, 0, { entity: '' });
    const record = (item: DueWindow, outcome: EntityOutcome) => {
      this.book.record(windowKey(item.entity), outcome);
      bar?.increment({ entity: item.entity ?? 'generic_user' });
    };
    // The biggest windows first, so that parallel trainers finish close together.
    const queue = [...due].sort((a, b) => b.window.numRows - a.window.numRows);
    const lanes = Math.max(1, this.ctx.pool?.size ?? 1);
    const started = Date.now();
    await Promise.all(
      Array.from({ length: Math.min(lanes, queue.length) }, async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          record(item, await trainWindow(item, this.config, this.ctx));
        }
      }),
    );
    report.trainingMs += Date.now() - started;
    bar?.stop();
  }
}

/** Trains from every input file once. */
export async function runTraining(
  config: PipelineConfig,
  ctx: PipelineContext,
): Promise<RunReport> {
  const trainer = new Trainer(config, ctx);
  await trainer.processFiles(await expandInputs(config.inputs, objectsOf(config)));
  return trainer.report;
}
