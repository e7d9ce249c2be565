/**
 * Streaming inference: raw records from Kafka topics, detections to a topic.
 * Each chunk of messages is decoded, scored and published, the entities' state
 * stored, and only then are its offsets committed (at-least-once); a consumer
 * restarted after a crash re-reads what it had not committed, and
 * `detection_id` lets readers drop the repeats. Undecodable messages and
 * unusable records go to the dead-letter topic with the error and their source
 * topic, partition and offset.
 */
import { KafkaSink } from '../sinks/kafka-sink';
import { createKafka } from '../sources/kafka-source';
import { EntityStateStore } from '../window/state-store';
import type { PipelineConfig } from './config';
import { Scorer } from './infer';
import {
  type KafkaStreamOptions,
  type StreamObserver,
  consumeStream,
  deadLetterSink,
  groupStateDir,
  streamStats,
} from './kafka-stream';
import type { RunReport } from './report';
import type { PipelineContext } from './train';

export interface KafkaInferenceOptions extends KafkaStreamOptions {
  outputTopic: string;
}

/** Scores records from Kafka until `signal` aborts; resolves with the run's report. */
export async function runKafkaInference(
  config: PipelineConfig,
  ctx: PipelineContext,
  options: KafkaInferenceOptions,
  signal: AbortSignal,
  observer?: StreamObserver,
): Promise<RunReport> {
  const { source } = config;
  const kafka = createKafka(options, ctx.logger);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const deadLetters = deadLetterSink(producer, options.deadLetterTopic);
  const detections = new KafkaSink(producer, {
    topic: options.outputTopic,
    keyField: source.entityColumn,
  });
  const stateDir = groupStateDir(options, source.name, 'inference');
  const state = stateDir ? new EntityStateStore(stateDir) : undefined;
  const scorer = new Scorer(config, ctx, { detections, deadLetters }, state);
  const { report } = scorer;
  // After a rebalance another member may have moved an entity's history on: read it back.
  const hooks = streamStats(report, options.offsetReset, () => scorer.forgetState(), observer);
  if (!state) ctx.logger.warn("no state folder: a restart begins every entity's day afresh");

  try {
    report.scoringMs += await consumeStream(
      options,
      source,
      report,
      deadLetters,
      hooks,
      ctx.logger,
      (table) => scorer.scoreTable(table),
      signal,
      observer && {
        ...observer,
        onChunk: (r) => {
          observer.onChunk?.(r);
          observer.onCache?.(scorer.cacheStats());
        },
      },
    );
  } finally {
    scorer.close();
    await state?.flush();
    await producer.disconnect();
  }
  report.outputs.detections = detections.currentPath;
  report.outputs.deadLetters = deadLetters.currentPath;
  return report;
}
