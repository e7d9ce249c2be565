/**
 * The training pipeline: files → batches → decode → split by entity → rolling
 * window → preprocess → autoencoder → model store. One entity's failure is
 * reported and the others go on.
 */
import { SingleBar } from 'cli-progress';
import { modelName } from '../entities/names';
import { splitByEntity, splitModeFor } from '../entities/split';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import { type AutoencoderOptions, serializeModel, trainAutoencoder } from '../model';
import type { ModelStore, ModelVersionInfo } from '../store/types';
import { FileSink } from '../sinks/file-sink';
import { type Table, getNumbers, selectColumns } from '../table';
import { TrainingWindows } from '../window/rolling-window';
import type { PipelineConfig } from './config';
import { loadBatch } from './load';
import { type EntityOutcome, type RunReport, emptyReport } from './report';
import { accountBatch, planBatches, preprocess, windowKey } from './stages';

export interface PipelineContext {
  logger: Logger;
  store: ModelStore;
}

interface DueWindow {
  entity: string | null;
  window: Table;
}

/** Hyper-parameters: library defaults, then the source's, then the user's. */
export function modelOptionsFor(config: PipelineConfig): Partial<AutoencoderOptions> {
  return {
    ...(config.source.training?.epochs !== undefined ? { epochs: config.source.training.epochs } : {}),
    ...(config.source.training?.validationSize !== undefined
      ? { validationSize: config.source.training.validationSize }
      : {}),
    ...config.model,
  };
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

async function trainWindow(
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
    let epochs = 0;
    let finalLoss = NaN;
    const model = await trainAutoencoder(features, source.features, modelOptionsFor(config), {
      entity: label,
      onEpoch: (info) => {
        epochs = info.epoch + 1;
        finalLoss = info.trainLoss;
        log.debug({ epoch: info.epoch, loss: info.trainLoss, validationLoss: info.validationLoss }, 'epoch');
      },
    });
    let version: ModelVersionInfo;
    try {
      const times = getNumbers(processed, source.timestampColumn);
      const name = modelName(source.name, due.entity);
      version = await ctx.store.register(name, serializeModel(model), {
        start: isoTime(times[0]),
        end: isoTime(times[times.length - 1]),
        count: String(processed.numRows),
      });
    } finally {
      model.dispose();
    }
    const durationMs = Date.now() - started;
    const modelVersion = `${version.name}:${version.version}`;
    log.info({ rows: processed.numRows, epochs, finalLoss, durationMs, modelVersion }, 'model trained');
    return {
      entity: due.entity,
      status: 'trained',
      modelVersion,
      rows: processed.numRows,
      epochs,
      finalLoss,
      durationMs,
    };
  } catch (err) {
    log.error({ err: errorMessage(err), stage: 'training' }, 'training failed');
    return { entity: due.entity, status: 'failed', reason: errorMessage(err), durationMs: Date.now() - started };
  }
}

export async function runTraining(config: PipelineConfig, ctx: PipelineContext): Promise<RunReport> {
  const { source } = config;
  const report = emptyReport('training', source.name);
  const plan = await planBatches(config, config.inputs);
  report.files = plan.files;
  const windows = new TrainingWindows({ ...config.window, timestampColumn: source.timestampColumn });
  const mode = splitModeFor(config.trainUsers === 'none' ? 'all' : config.trainUsers);
  const rejects = new FileSink(config.rejectsFile);
  const outcomes = new Map<string, EntityOutcome>();
  const trainedAt = new Set<string>();

  for (const [index, batch] of plan.batches.entries()) {
    const loaded = await loadBatch(batch.files.map((f) => f.path), source, config.cacheDir);
    await accountBatch(report, loaded, rejects);
    ctx.logger.info(
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

    const due: DueWindow[] = [];
    for (const part of splitByEntity(loaded.table, {
      entityColumn: source.entityColumn,
      ...mode,
      skipEntities: config.skipUsers,
      onlyEntities: config.onlyUsers,
    })) {
      const key = windowKey(part.entity);
      const decision = windows.append(key, part.table);
      report.duplicates += decision.duplicates;
      if (decision.ready) {
        due.push({ entity: part.entity, window: decision.window });
      } else if (!trainedAt.has(key)) {
        outcomes.set(key, { entity: part.entity, status: 'skipped', reason: decision.reason });
      }
    }

    const bar =
      config.progress && due.length > 0
        ? new SingleBar({
            format: `training batch ${index + 1}/${plan.batches.length} [{bar}] {value}/{total} models | {entity}`,
            stream: process.stderr,
            hideCursor: true,
          })
        : null;
    bar?.start(due.length, 0, { entity: '' });
    for (const item of due) {
      bar?.update({ entity: item.entity ?? 'generic_user' });
      const outcome = await trainWindow(item, config, ctx);
      const key = windowKey(item.entity);
      const previous = outcomes.get(key);
      // A later successful retrain supersedes; a failure is never hidden by a skip.
      if (outcome.status === 'trained' || previous?.status !== 'trained') outcomes.set(key, outcome);
      if (outcome.status === 'trained') trainedAt.add(key);
      if (outcome.status === 'trained') {
        report.trainingRows += (outcome.rows ?? 0) * (outcome.epochs ?? 0);
        report.trainingMs += outcome.durationMs ?? 0;
      }
      bar?.increment();
    }
    bar?.stop();
  }
  report.entities = [...outcomes.values()].sort((a, b) =>
    a.entity === null ? -1 : b.entity === null ? 1 : a.entity.localeCompare(b.entity),
  );
  return report;
}
