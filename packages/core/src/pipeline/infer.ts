/**
 * The inference pipeline: files → batches → decode → split by entity → a day
 * of history for derived features → preprocess → score with the entity's
 * model (or the generic one) → keep rows with mean |z| ≥ threshold → sinks.
 * Every row read is scored or dead-lettered with its reason.
 */
import { type EntityBatch, splitByEntity } from '../entities/split';
import { errorMessage } from '../errors';
import type { Cell, ColumnData } from '../table';
import { type Table, columnNames, getCells, takeRows } from '../table';
import type { RowSink } from '../sinks/types';
import { prepareScoring } from '../model';
import { ModelResolver, type ResolvedModel } from '../store/model-cache';
import { InferenceHistory } from '../window/rolling-window';
import type { EntityStateStore } from '../window/state-store';
import type { PipelineConfig } from './config';
import { type LoadedBatch, loadBatch } from './load';
import { type RunReport, emptyReport } from './report';
import { expandInputs } from './inputs';
import { accountBatch, objectsOf, planFileBatches, preprocess, sinkFor, windowKey } from './stages';
import type { PipelineContext } from './train';
import { rowHashes } from '../window/row-hash';
import { ORIGIN_COLUMNS } from '../schema/decode';

type Row = Record<string, unknown>;

/** One entity's rows handed to its model, waiting for their scores. */
interface PendingScores {
  entity: string;
  fresh: Table;
  resolved: ResolvedModel;
  scores: Promise<ColumnData[]>;
}

/** Batches read ahead of the one being scored. */
const READ_AHEAD_BATCHES = 2;

function rowsOf(table: Table, timestampColumn: string): Row[] {
  const names = columnNames(table);
  const cols = names.map((n) => getCells(table, n));
  const out: Row[] = [];
  for (let r = 0; r < table.numRows; r++) {
    const row: Row = {};
    for (let c = 0; c < names.length; c++) {
      const v = cols[c][r];
      row[names[c]] =
        names[c] === timestampColumn && typeof v === 'number' ? new Date(v).toISOString() : v;
    }
    out.push(row);
  }
  return out;
}

/**
 * Stable per-event id: the source's event id when it has one, else a hash of the
 * event's columns (not of where it was read from, so a re-read gets the same id).
 */
function detectionIds(table: Table, eventIdColumn: string | undefined, source: string): string[] {
  const origin = new Set<string>(Object.values(ORIGIN_COLUMNS));
  const hashes = rowHashes(
    table,
    columnNames(table).filter((n) => !origin.has(n)),
  );
  const ids: (string | null)[] =
    eventIdColumn && columnNames(table).includes(eventIdColumn)
      ? (getCells(table, eventIdColumn) as Cell[]).map((v) => (v === null ? null : String(v)))
      : [];
  return hashes.map((h, i) => `${source}:${ids[i] ?? h.toString(16)}`);
}

/** Scores files batch by batch, keeping per-entity history and models between calls. */
export class Scorer {
  readonly report: RunReport;
  private readonly history: InferenceHistory;
  private readonly resolver: ModelResolver;
  private readonly detections: RowSink;
  private readonly rejects: RowSink;
  private readonly deadLetters: RowSink;

  private readonly state: EntityStateStore | undefined;

  /**
   * `state` keeps each entity's last day on disk after every batch, so that a
   * restarted scorer derives logcount and the increments as if it never stopped.
   */
  constructor(
    private readonly config: PipelineConfig,
    private readonly ctx: PipelineContext,
    sinks: { detections?: RowSink; deadLetters?: RowSink } = {},
    state?: EntityStateStore,
  ) {
    this.state = state;
    const { source } = config;
    this.report = emptyReport('inference', source.name);
    this.history = new InferenceHistory(source.timestampColumn);
    this.resolver = new ModelResolver(ctx.store, source.name, {
      maxModels: config.modelCacheSize,
      refreshMs: config.modelRefreshMs,
      logger: ctx.logger,
    });
    this.detections = sinks.detections ?? sinkFor(config, 'detections');
    this.rejects = sinkFor(config, 'rejects');
    this.deadLetters = sinks.deadLetters ?? sinkFor(config, 'dead-letters');
    this.report.outputs.detections = this.detections.currentPath;
    prepareScoring();
  }

  /** Scores the given files (time window, sampling and batching applied). */
  async processFiles(paths: string[]): Promise<void> {
    const plan = await planFileBatches(this.config, paths);
    this.report.files += plan.files;
    const load = (index: number) => {
      const loading = loadBatch(
        plan.batches[index].files.map((f) => f.path),
        this.config.source,
        this.config.cacheDir,
        objectsOf(this.config),
      );
      // Awaited in order below; a failure must not count as unhandled while it waits.
      loading.catch(() => undefined);
      return loading;
    };
    // The next batches' files are fetched while this one is scored (a few batches ahead), so
    // that waiting for the disk or S3 overlaps with scoring.
    const ahead: Promise<LoadedBatch>[] = [];
    let requested = 0;
    let inFlight: Promise<void> | undefined;
    const started = Date.now();
    try {
      for (const index of plan.batches.keys()) {
        while (requested < plan.batches.length && requested <= index + READ_AHEAD_BATCHES) {
          ahead.push(load(requested++));
        }
        const loaded = await (ahead.shift() as Promise<LoadedBatch>);
        await accountBatch(this.report, loaded, this.rejects, this.ctx.logger);
        this.ctx.logger.info(
          {
            batch: index + 1,
            of: plan.batches.length,
            rows: loaded.table.numRows,
            fromCache: loaded.fromCache,
          },
          'batch loaded',
        );
        if (loaded.table.numRows === 0) continue;
        // This batch is prepared and handed to the models while the previous one finishes
        // (its networks still running on the session worker); then that one is awaited, so
        // at most one batch is in flight and batches finish in order.
        const finish = await this.startTable(loaded.table);
        const previous = inFlight;
        inFlight = (previous ?? Promise.resolve()).then(finish);
        inFlight.catch(() => undefined);
        await previous;
      }
    } catch (err) {
      // A batch still finishing is let finish (or fail) before the run stops.
      await inFlight?.catch(() => undefined);
      throw err;
    }
    await inFlight;
    this.report.scoringMs += Date.now() - started;
    if (this.detections.written > 0) this.report.outputs.detections = this.detections.currentPath;
  }

  /**
   * Scores a decoded batch (rows of any entities, in time order): detections and
   * dead letters are written, and acknowledged, and the entities' state stored,
   * before this resolves. When it fails, the in-memory history goes back to what
   * it was, so that the same rows read again are scored again, not taken for repeats.
   */
  async scoreTable(table: Table): Promise<void> {
    const finish = await this.startTable(table);
    await finish();
  }

  /**
   * The first half of `scoreTable`: the batch's rows enter the history and go to
   * their models. The function it gives finishes the batch (scores collected,
   * detections written and flushed, state stored); a later batch may be started
   * before it is called, but batches must finish in the order they started.
   */
  private async startTable(table: Table): Promise<() => Promise<void>> {
    const { config, report } = this;
    const { source } = config;
    const parts = splitByEntity(table, {
      entityColumn: source.entityColumn,
      includeGeneric: false,
      includeIndividual: true,
      skipEntities: config.skipUsers,
      onlyEntities: config.onlyUsers,
    });
    // Rows of entities left out by --skip_user/--only_user are counted, not lost silently.
    report.filtered += table.numRows - parts.reduce((n, p) => n + p.table.numRows, 0);
    const keys = parts.map((p) => windowKey(p.entity));
    await this.loadState(keys);
    const saved = this.history.checkpoint();
    let pending: PendingScores[];
    try {
      pending = await this.dispatchParts(parts);
    } catch (err) {
      this.history.rollback(saved);
      throw err;
    }
    // What each entity's state will be once this batch is done: later batches may move
    // the history on before then.
    const rows = keys.map((k) => [k, this.history.rowsOf(k)] as const);
    return async () => {
      try {
        await this.collectScores(pending);
        // Buffering sinks (S3) make the batch durable here, before any state or offset moves on.
        await this.detections.flush?.();
        await this.deadLetters.flush?.();
        if (this.state) {
          const state = this.state;
          await Promise.all(rows.map(([k, held]) => state.replace(k, held, {})));
        }
      } catch (err) {
        this.history.rollback(saved);
        throw err;
      }
    };
  }

  /** Reads the stored history of entities not held in memory. */
  private async loadState(keys: string[]): Promise<void> {
    const { state } = this;
    if (!state) return;
    await Promise.all(
      keys
        .filter((k) => !this.history.has(k))
        .map(async (k) => {
          try {
            const stored = await state.load(k);
            if (stored) this.history.restore(k, stored.table);
          } catch (err) {
            // Unreadable state costs a day of derived features for that entity, nothing more.
            this.report.warnings += 1;
            this.ctx.logger.warn(
              { key: k, dir: state.dir, err: errorMessage(err) },
              'entity state not readable; starting its history afresh',
            );
          }
        }),
    );
  }

  /** Drops the history held in memory; it is read back from the state store when needed. */
  forgetState(): void {
    this.history.forget();
  }

  /**
   * Prepares each entity's new rows (history, derived features) and hands them to
   * its model. The networks run on the session worker while this thread prepares
   * the next parts, and the next batch; `collectScores` takes the results.
   */
  private async dispatchParts(parts: EntityBatch[]): Promise<PendingScores[]> {
    const { config, report } = this;
    const { source } = config;
    const scoring: PendingScores[] = [];
    for (const part of parts) {
      const entity = part.entity as string;
      const window = this.history.prepare(windowKey(entity), part.table);
      report.duplicates += window.duplicates;
      const newRows: number[] = [];
      window.isNew.forEach((flag, i) => flag && newRows.push(i));
      if (newRows.length === 0) continue;
      let processed: Table;
      try {
        processed = preprocess(window.table, source);
      } catch (err) {
        const raw =
          newRows.length === window.table.numRows ? window.table : takeRows(window.table, newRows);
        await this.deadLetter(raw, entity, `preprocessing failed: ${errorMessage(err)}`);
        continue;
      }
      const fresh = newRows.length === processed.numRows ? processed : takeRows(processed, newRows);

      const resolution = await this.resolver.resolve(entity);
      if (!resolution.ok) {
        await this.deadLetter(fresh, entity, resolution.reason);
        continue;
      }
      const scores = resolution.resolved.model.scoreAsync(fresh, { entity, zCap: config.zCap });
      // Awaited in order by collectScores; a failure must not count as unhandled meanwhile.
      scores.catch(() => undefined);
      scoring.push({ entity, fresh, resolved: resolution.resolved, scores });
    }
    return scoring;
  }

  /** Waits for each part's scores and writes the batch's detections (or dead letters). */
  private async collectScores(scoring: PendingScores[]): Promise<void> {
    const { report } = this;
    const found: Row[] = [];
    for (const { entity, fresh, resolved, scores: pending } of scoring) {
      let scores;
      try {
        scores = await pending;
      } catch (err) {
        await this.deadLetter(fresh, entity, errorMessage(err));
        continue;
      }
      report.scored += fresh.numRows;
      found.push(...this.detectionRows(fresh, scores, resolved));
    }
    // One write for the batch's detections (each write is a round trip to the file or broker).
    await this.detections.write(found);
    report.detections += found.length;
  }

  /** The rows at or over the threshold, with their scores and the model that gave them. */
  private detectionRows(fresh: Table, scores: ColumnData[], resolved: ResolvedModel): Row[] {
    const { config } = this;
    const { source } = config;
    const mean = scores.find((c) => c.name === 'mean_abs_z');
    if (!mean) throw new Error('model output lacks mean_abs_z');
    const hits: number[] = [];
    for (let i = 0; i < fresh.numRows; i++) {
      if ((mean.values[i] as number) >= config.filterThreshold) hits.push(i);
    }
    if (hits.length === 0) return [];
    const { version, fallbackReason } = resolved;
    const hitTable = takeRows(fresh, hits);
    const base = rowsOf(hitTable, source.timestampColumn);
    const ids = detectionIds(hitTable, source.eventIdColumn, source.name);
    const eventTime = new Date().toISOString();
    return base.map((row, k) => {
      const i = hits[k];
      for (const col of scores) row[col.name] = col.values[i];
      row.model_version = version;
      row.model_fallback_reason = fallbackReason ?? null;
      row.detection_id = ids[k];
      row.event_time = eventTime;
      return row;
    });
  }

  private async deadLetter(rows: Table, entity: string, reason: string): Promise<void> {
    const out = rowsOf(rows, this.config.source.timestampColumn).map((row) => ({
      entity,
      reason,
      row,
    }));
    await this.deadLetters.write(out);
    this.report.deadLettered += out.length;
    this.report.outputs.deadLetters = this.deadLetters.currentPath;
  }

  /** Model cache hits and misses so far. */
  cacheStats(): { hits: number; misses: number } {
    return { hits: this.resolver.hits, misses: this.resolver.misses };
  }

  /** Releases the cached models. */
  close(): void {
    this.resolver.close();
  }
}

/** Scores every input file once. */
export async function runInference(
  config: PipelineConfig,
  ctx: PipelineContext,
  inputs: string[] = config.inputs,
): Promise<RunReport> {
  const scorer = new Scorer(config, ctx);
  try {
    await scorer.processFiles(await expandInputs(inputs, objectsOf(config)));
  } finally {
    scorer.close();
  }
  return scorer.report;
}
