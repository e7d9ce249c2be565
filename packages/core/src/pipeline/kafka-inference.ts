/**
 * Streaming inference: raw records from Kafka topics, detections to a topic.
 * Each chunk of messages is decoded, scored and published, and only then are
 * its offsets committed (at-least-once); a consumer restarted after a crash
 * re-reads what it had not committed, and `detection_id` lets readers drop the
 * repeats. Undecodable messages and unusable records go to the dead-letter
 * topic with the error and their source topic, partition and offset.
 */
import { errorMessage } from '../errors';
import { decodeRecords } from '../schema/decode';
import { KafkaSink } from '../sinks/kafka-sink';
import {
  type KafkaConnection,
  type SourceMessage,
  createKafka,
  createKafkaSource,
} from '../sources/kafka-source';
import { type Table, concatTables, sortByNumber } from '../table';
import type { PipelineConfig } from './config';
import { Scorer } from './infer';
import type { RunReport } from './report';
import type { PipelineContext } from './train';

export interface KafkaInferenceOptions extends KafkaConnection {
  groupId: string;
  inputTopics: string[];
  outputTopic: string;
  deadLetterTopic: string;
  offsetReset: 'earliest' | 'latest';
  maxBatchRecords: number;
  maxBatchWaitMs: number;
}

function header(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/** Scores records from Kafka until `signal` aborts; resolves with the run's report. */
export async function runKafkaInference(
  config: PipelineConfig,
  ctx: PipelineContext,
  options: KafkaInferenceOptions,
  signal: AbortSignal,
): Promise<RunReport> {
  const { source } = config;
  const kafka = createKafka(options, ctx.logger);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const deadLetters = new KafkaSink(producer, {
    topic: options.deadLetterTopic,
    keyField: 'entity',
    headers: (row) => ({
      'dfp-error': header(row.reason),
      'dfp-source-topic': header(row.source_topic),
      'dfp-source-partition': header(row.source_partition),
      'dfp-source-offset': header(row.source_offset),
    }),
  });
  const detections = new KafkaSink(producer, {
    topic: options.outputTopic,
    keyField: source.entityColumn,
  });
  const scorer = new Scorer(config, ctx, { detections, deadLetters });
  const { report } = scorer;

  const handle = async (messages: SourceMessage[]): Promise<void> => {
    const started = Date.now();
    const tables: Table[] = [];
    const bad: Record<string, unknown>[] = [];
    for (const m of messages) {
      const origin = {
        source_topic: m.topic,
        source_partition: m.partition,
        source_offset: m.offset,
      };
      if (m.error !== null) {
        report.records += 1;
        report.rejected += 1;
        bad.push({ entity: m.key, reason: m.error, ...origin, field: null, value: m.value });
        continue;
      }
      const label = `${m.topic}/${m.partition}@${m.offset}`;
      const decoded = decodeRecords(m.records, source, label, { indices: m.indices, origin: true });
      report.records += m.records.length;
      report.rejected += decoded.rejects.length;
      report.warnings += decoded.warnings.length;
      for (const r of decoded.rejects) {
        bad.push({
          entity: m.key,
          reason: r.reason,
          ...origin,
          field: r.field,
          record_index: r.index,
          value: JSON.stringify(r.record ?? null),
        });
      }
      if (decoded.table.numRows > 0) tables.push(decoded.table);
    }
    // Dead letters first: a crash after them re-reads the chunk, never loses a bad record.
    await deadLetters.write(bad);
    if (tables.length > 0) {
      const table = sortByNumber(concatTables(tables), source.timestampColumn);
      report.rows += table.numRows;
      await scorer.scoreTable(table);
    }
    report.batches += 1;
    report.scoringMs += Date.now() - started;
  };

  try {
    await createKafkaSource(
      {
        ...options,
        topics: options.inputTopics,
      },
      ctx.logger,
    ).run(async (messages) => {
      try {
        await handle(messages);
      } catch (err) {
        ctx.logger.error({ err: errorMessage(err) }, 'kafka batch failed; it will be re-read');
        throw err;
      }
    }, signal);
  } finally {
    scorer.close();
    await producer.disconnect();
  }
  report.outputs.detections = detections.currentPath;
  report.outputs.deadLetters = deadLetters.currentPath;
  return report;
}
