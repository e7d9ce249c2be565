/**
 * Continuous training from Kafka: the training side reads the same topic as
 * scoring, in a consumer group of its own, keeps each entity's window (and the
 * generic one), and retrains an entity in the background once `min_increment`
 * new rows have arrived, registering a new version so that models follow
 * behaviour over time.
 *
 * Each chunk's rows are added to the windows and stored in the state folder
 * before its offsets are committed; a window is marked as trained only once its
 * model is registered. A restart therefore resumes every window, and a training
 * cut short by a crash is simply done again. Repeated rows (a re-read after a
 * crash) are recognised and not counted twice.
 */
import { errorMessage } from '../errors';
import { createKafka } from '../sources/kafka-source';
import { type Table } from '../table';
import { TrainingWindows, type TrainingStateMeta } from '../window/rolling-window';
import { EntityStateStore } from '../window/state-store';
import type { PipelineConfig } from './config';
import {
  type KafkaStreamOptions,
  type StreamObserver,
  consumeStream,
  deadLetterSink,
  groupStateDir,
  streamStats,
} from './kafka-stream';
import { type RunReport, emptyReport } from './report';
import { windowKey } from './stages';
import { OutcomeBook, type PipelineContext, splitForTraining, trainWindow } from './train';

type TrainingState = TrainingStateMeta & { entity: string | null };

/** Windows in memory and on disk, and the trainings running in the background. */
class StreamTrainer {
  readonly report: RunReport;
  private readonly windows: TrainingWindows;
  private readonly book: OutcomeBook;
  private readonly entities = new Map<string, string | null>();
  /** Keys whose window may be due, waiting for a free trainer. */
  private readonly pending = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly lanes: number;
  /** Set when stopping: trainings in flight finish, no new one starts. */
  private stopping = false;

  constructor(
    private readonly config: PipelineConfig,
    private readonly ctx: PipelineContext,
    private readonly state: EntityStateStore<TrainingState> | undefined,
  ) {
    this.report = emptyReport('training', config.source.name);
    this.windows = new TrainingWindows({
      ...config.window,
      timestampColumn: config.source.timestampColumn,
    });
    this.book = new OutcomeBook(this.report);
    this.lanes = Math.max(1, ctx.pool?.size ?? 1);
  }

  /** Adds a chunk's rows to the windows and stores them; trainings that fall due start. */
  async add(table: Table): Promise<void> {
    const parts = splitForTraining(this.config, table);
    const hasGeneric = parts.some((p) => p.entity === null);
    await Promise.all(parts.map((p) => this.load(windowKey(p.entity), p.entity)));
    const writes: Promise<void>[] = [];
    try {
      for (const part of parts) {
        const key = windowKey(part.entity);
        this.entities.set(key, part.entity);
        const { fresh, duplicates } = this.windows.add(key, part.table);
        if (part.entity === null || !hasGeneric) this.report.duplicates += duplicates;
        const saved = this.windows.exportState(key);
        if (this.state && saved && fresh.numRows > 0) {
          writes.push(this.state.append(key, fresh, { ...saved.meta, entity: part.entity }));
        }
      }
      await Promise.all(writes);
    } catch (err) {
      // The chunk will be read again: memory must not already hold its rows as seen.
      if (this.state) {
        for (const p of parts) {
          const key = windowKey(p.entity);
          if (!this.running.has(key)) this.windows.delete(key);
        }
      }
      throw err;
    }
    for (const part of parts) this.pending.add(windowKey(part.entity));
    this.pump();
  }

  /** Reads an entity's stored window when memory does not hold it. */
  private async load(key: string, entity: string | null): Promise<void> {
    if (!this.state || this.windows.has(key)) return;
    try {
      const stored = await this.state.load(key);
      if (stored) {
        const { totalCount, lastTrainCount, earliestNew } = stored.meta;
        this.windows.restore(key, stored.table, { totalCount, lastTrainCount, earliestNew });
      }
    } catch (err) {
      this.report.warnings += 1;
      this.ctx.logger.warn(
        { entity, dir: this.state.dir, err: errorMessage(err) },
        'stored training window not readable; the window starts afresh',
      );
    }
  }

  /** Starts due trainings while trainers are free. */
  private pump(): void {
    if (this.stopping) return;
    for (const key of [...this.pending]) {
      if (this.running.size >= this.lanes) return;
      this.pending.delete(key);
      if (this.running.has(key)) {
        // Rows arrived while it trained: look again when that training ends.
        continue;
      }
      const entity = this.entities.get(key) ?? null;
      const decision = this.windows.peek(key);
      if (!decision.ready) {
        this.book.skip(key, entity, decision.reason);
        continue;
      }
      const run = this.train(key, entity, decision.window, decision.count).finally(() => {
        this.running.delete(key);
        this.pending.add(key);
        this.pump();
      });
      this.running.set(key, run);
    }
  }

  private async train(
    key: string,
    entity: string | null,
    window: Table,
    count: number,
  ): Promise<void> {
    const started = Date.now();
    const outcome = await trainWindow({ entity, window }, this.config, this.ctx);
    this.report.trainingMs += Date.now() - started;
    this.book.record(key, outcome);
    // A failure is not retried on every chunk: the entity waits for its next increment.
    this.windows.markTrained(key, count);
    const saved = this.windows.exportState(key);
    if (this.state && saved) {
      try {
        await this.state.replace(key, saved.table, { ...saved.meta, entity });
      } catch (err) {
        // The model is registered; at worst a restart trains this window once more.
        this.report.warnings += 1;
        this.ctx.logger.warn({ entity, err: errorMessage(err) }, 'training window not stored');
      }
    }
  }

  /** After a rebalance: windows are read back from the state folder when next needed. */
  forget(): void {
    this.windows.forget(new Set([...this.running.keys(), ...this.pending]));
  }

  /** Waits for the trainings in flight (and those they make due) to end. */
  async drain(): Promise<void> {
    this.stopping = true;
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
    await this.state?.flush();
  }
}

/** Trains from records on Kafka until `signal` aborts; resolves with the run's report. */
export async function runKafkaTraining(
  config: PipelineConfig,
  ctx: PipelineContext,
  options: KafkaStreamOptions,
  signal: AbortSignal,
  observer?: StreamObserver,
): Promise<RunReport> {
  const { source } = config;
  const kafka = createKafka(options, ctx.logger);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const deadLetters = deadLetterSink(producer, options.deadLetterTopic);
  const stateDir = groupStateDir(options, source.name, 'training');
  const trainer = new StreamTrainer(
    config,
    ctx,
    stateDir ? new EntityStateStore<TrainingState>(stateDir) : undefined,
  );
  const { report } = trainer;
  const hooks = streamStats(report, options.offsetReset, () => trainer.forget(), observer);
  try {
    await consumeStream(
      options,
      source,
      report,
      deadLetters,
      hooks,
      ctx.logger,
      (table) => trainer.add(table),
      signal,
      observer,
    );
    ctx.logger.info('stopped consuming; waiting for the trainings in flight');
    await trainer.drain();
  } finally {
    await producer.disconnect();
  }
  report.outputs.deadLetters = deadLetters.currentPath;
  return report;
}
