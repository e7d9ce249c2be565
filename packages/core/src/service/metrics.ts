/**
 * Prometheus metrics of a service (prom-client): what was read, rejected,
 * scored and dead-lettered, detections, model cache hits and misses, training
 * runs and their durations, and Kafka consumer lag.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunReport } from '../pipeline/report';

/** Running counts of one model cache. */
export interface CacheStats {
  hits: number;
  misses: number;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly recordsRead: Counter;
  readonly recordsRejected: Counter;
  readonly rowsScored: Counter;
  readonly rowsDeadLettered: Counter;
  readonly detections: Counter;
  readonly modelCacheHits: Counter;
  readonly modelCacheMisses: Counter;
  readonly trainingRuns: Counter<'status'>;
  readonly trainingDuration: Histogram;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  /** What each report had already contributed, so that a growing report adds only its news. */
  private readonly seen = new WeakMap<RunReport, Record<string, number>>();

  constructor(kind: string) {
    this.registry.setDefaultLabels({ service: `dfp-${kind}` });
    collectDefaultMetrics({ register: this.registry, prefix: 'dfp_' });
    const r = [this.registry];
    this.recordsRead = new Counter({
      name: 'dfp_records_read_total',
      help: 'Log records read from files, objects, topics or requests',
      registers: r,
    });
    this.recordsRejected = new Counter({
      name: 'dfp_records_rejected_total',
      help: 'Records that could not be used (written to the rejects or dead-letter place)',
      registers: r,
    });
    this.rowsScored = new Counter({
      name: 'dfp_rows_scored_total',
      help: 'Rows scored by a model',
      registers: r,
    });
    this.rowsDeadLettered = new Counter({
      name: 'dfp_rows_dead_lettered_total',
      help: 'Rows no model could score, dead-lettered with the reason',
      registers: r,
    });
    this.detections = new Counter({
      name: 'dfp_detections_total',
      help: 'Rows whose mean |z| reached the threshold',
      registers: r,
    });
    this.modelCacheHits = new Counter({
      name: 'dfp_model_cache_hits_total',
      help: 'Model lookups answered from the in-memory cache',
      registers: r,
    });
    this.modelCacheMisses = new Counter({
      name: 'dfp_model_cache_misses_total',
      help: 'Model lookups that went to the model store',
      registers: r,
    });
    this.trainingRuns = new Counter({
      name: 'dfp_training_runs_total',
      help: 'Training runs by outcome',
      labelNames: ['status'],
      registers: r,
    });
    this.trainingDuration = new Histogram({
      name: 'dfp_training_run_duration_seconds',
      help: 'Wall time of training runs',
      buckets: [1, 5, 15, 60, 300, 900, 3600],
      registers: r,
    });
    this.consumerLag = new Gauge({
      name: 'dfp_kafka_consumer_lag',
      help: 'Messages behind the end of each partition, as last measured',
      labelNames: ['topic', 'partition'],
      registers: r,
    });
  }

  /** Adds what a report counted since the last call for the same report. */
  observeReport(report: RunReport): void {
    const before = this.seen.get(report) ?? {};
    const now: Record<string, number> = {
      records: report.records,
      rejected: report.rejected,
      scored: report.scored,
      deadLettered: report.deadLettered,
      detections: report.detections,
    };
    const add = (counter: Counter, key: string) => {
      const delta = now[key] - (before[key] ?? 0);
      if (delta > 0) counter.inc(delta);
    };
    add(this.recordsRead, 'records');
    add(this.recordsRejected, 'rejected');
    add(this.rowsScored, 'scored');
    add(this.rowsDeadLettered, 'deadLettered');
    add(this.detections, 'detections');
    this.seen.set(report, now);
  }

  /**
   * A function that takes one model cache's running hit and miss counts and adds what they
   * grew by since its last call (one per cache, as a report is one per run).
   */
  cacheObserver(): (stats: CacheStats) => void {
    let last: CacheStats = { hits: 0, misses: 0 };
    return (stats) => {
      if (stats.hits > last.hits) this.modelCacheHits.inc(stats.hits - last.hits);
      if (stats.misses > last.misses) this.modelCacheMisses.inc(stats.misses - last.misses);
      last = { ...stats };
    };
  }
}
