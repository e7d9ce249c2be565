/** What `/readyz` asks: the model store, and Kafka and S3 when the configuration uses them. */
import { objectsOf } from '../pipeline/stages';
import type { PipelineContext } from '../pipeline/train';
import type { StreamObserver } from '../pipeline/kafka-stream';
import type { RunReport } from '../pipeline/report';
import { createKafka } from '../sources/kafka-source';
import { isS3Uri, parseS3Uri } from '../sources/s3';
import type { CacheStats, ServiceMetrics } from './metrics';
import type { ReadinessCheck } from './server';
import type { ServiceSettings } from './settings';

export function readinessChecks(settings: ServiceSettings, ctx: PipelineContext): ReadinessCheck[] {
  const config = settings.pipeline;
  const checks: ReadinessCheck[] = [
    { name: 'model_store', check: async () => void (await ctx.store.list()) },
  ];
  const kafka = settings.kafka;
  if (kafka) {
    checks.push({
      name: 'kafka',
      check: async () => {
        const admin = createKafka({ ...kafka, clientId: 'dfp-readiness' }).admin();
        await admin.connect();
        try {
          const topics = new Set(await admin.listTopics());
          const missing = kafka.inputTopics.filter((t) => !topics.has(t));
          if (missing.length > 0) throw new Error(`missing input topic(s) ${missing.join(', ')}`);
        } finally {
          await admin.disconnect();
        }
      },
    });
  }
  const locations = [
    ...config.inputs,
    config.output,
    config.rejectsFile,
    config.deadLetterFile,
  ].filter(isS3Uri);
  const buckets = [...new Set(locations.map((l) => parseS3Uri(l).bucket))];
  if (buckets.length > 0) {
    checks.push({
      name: 's3',
      check: async () => {
        const objects = objectsOf(config);
        for (const bucket of buckets) {
          await objects.probe(bucket);
        }
      },
    });
  }
  return checks;
}

/** Consumer lag, counters and model cache counts of a Kafka main work, into the metrics. */
export function streamObserver(metrics: ServiceMetrics): StreamObserver {
  return {
    onLag: (topic, partition, lag) =>
      metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
    onChunk: (report) => metrics.observeReport(report),
    onCache: metrics.cacheObserver(),
  };
}

/**
 * Counters of a watch main work, into the metrics every second while it runs (the watch
 * reports only when it ends). Returns the function that stops it, after a last look.
 */
export function observeWhileRunning(
  metrics: ServiceMetrics,
  report: RunReport,
  cacheStats?: () => CacheStats,
): () => void {
  const observeCache = metrics.cacheObserver();
  const look = () => {
    metrics.observeReport(report);
    if (cacheStats) observeCache(cacheStats());
  };
  const timer = setInterval(look, 1_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    look();
  };
}
