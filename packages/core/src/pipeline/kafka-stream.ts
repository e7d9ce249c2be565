/**
 * What streaming inference and streaming training share: decoding a chunk of
 * Kafka messages into one table with the same readers and schemas as files,
 * dead letters that say where each bad record came from, and the run's
 * stream counters.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { ORIGIN_COLUMNS, decodeRecords } from '../schema/decode';
import type { SourceDefinition } from '../schema/types';
import { KafkaSink } from '../sinks/kafka-sink';
import type { SinkRow } from '../sinks/types';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import {
  type KafkaConnection,
  type KafkaSourceHooks,
  type SourceMessage,
  createKafkaSource,
  messageLabel,
  parseMessageLabel,
} from '../sources/kafka-source';
import { type Table, concatTables, sortByNumber } from '../table';
import type { RunReport, StreamStats } from './report';

/** Settings of a Kafka consumer that feeds a pipeline. */
export interface KafkaStreamOptions extends KafkaConnection {
  groupId: string;
  inputTopics: string[];
  deadLetterTopic: string;
  offsetReset: 'earliest' | 'latest';
  maxBatchRecords: number;
  maxBatchWaitMs: number;
  /** How long the group waits for a silent member (a crashed consumer) before moving on. */
  sessionTimeoutMs?: number;
  /**
   * Where per-entity state is kept between runs (a folder per source and
   * group is made inside); null keeps it in memory only.
   */
  stateDir: string | null;
}

/** The state folder of one consumer group of one source, or null. */
export function groupStateDir(
  options: KafkaStreamOptions,
  source: string,
  mode: 'inference' | 'training',
): string | null {
  if (options.stateDir === null) return null;
  // Group ids may hold any character: a readable prefix and a digest keep the name safe.
  const safe = options.groupId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  const digest = createHash('sha256').update(options.groupId).digest('hex').slice(0, 8);
  return join(options.stateDir, source, `${mode}-${safe}-${digest}`);
}

function header(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/**
 * The headers of a dead letter: the error and where the record was read. Records that were
 * decoded but could not be scored carry that in their origin column (`topic/partition@offset`).
 */
export function deadLetterHeaders(row: SinkRow): Record<string, string> {
  const inner = row.row as Record<string, unknown> | undefined;
  const origin = parseMessageLabel(String(inner?.[ORIGIN_COLUMNS.source] ?? ''));
  const from =
    row.source_topic === undefined && origin
      ? origin
      : { topic: row.source_topic, partition: row.source_partition, offset: row.source_offset };
  return {
    'dfp-error': header(row.reason),
    'dfp-source-topic': header(from.topic),
    'dfp-source-partition': header(from.partition),
    'dfp-source-offset': header(from.offset),
  };
}

/** A sink for records that could not be used, with the reason and origin as headers. */
export function deadLetterSink(producer: Producer, topic: string): KafkaSink {
  return new KafkaSink(producer, { topic, keyField: 'entity', headers: deadLetterHeaders });
}

export interface DecodedChunk {
  /** Usable rows of every message, in time order; null when there are none. */
  table: Table | null;
  /** Messages and records that could not be used, ready for the dead-letter topic. */
  bad: SinkRow[];
}

/** Decodes a chunk of messages and counts what was read and rejected in `report`. */
export function decodeMessages(
  messages: SourceMessage[],
  source: SourceDefinition,
  report: RunReport,
): DecodedChunk {
  const tables: Table[] = [];
  const bad: SinkRow[] = [];
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
    const label = messageLabel(m.topic, m.partition, m.offset);
    report.records += m.rejects.length;
    report.rejected += m.rejects.length;
    for (const r of m.rejects) {
      const value = typeof r.record === 'string' ? r.record : JSON.stringify(r.record ?? null);
      bad.push({
        entity: m.key,
        reason: r.reason,
        ...origin,
        field: null,
        record_index: r.index,
        value,
      });
    }
    if (m.records.length === 0) continue;
    const decoded = decodeRecords(m.records, source, label, { indices: m.indices, origin: true });
    report.records += m.records.length;
    report.rejected += decoded.rejects.length;
    report.warnings += decoded.warnings.length;
    for (const w of decoded.warnings) {
      report.warningKinds[w.message] = (report.warningKinds[w.message] ?? 0) + 1;
    }
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
  const table =
    tables.length > 0 ? sortByNumber(concatTables(tables), source.timestampColumn) : null;
  if (table) report.rows += table.numRows;
  return { table, bad };
}

/** Stream counters on the report, and the source hooks that keep them. */
export function streamStats(
  report: RunReport,
  offsetReset: 'earliest' | 'latest',
  onAssignment?: () => void,
  observer?: StreamObserver,
): KafkaSourceHooks {
  const stats: StreamStats = { messages: 0, groupJoins: 0, offsetResets: [] };
  report.stream = stats;
  return {
    onAssignment: () => {
      stats.groupJoins += 1;
      onAssignment?.();
    },
    onOffsetReset: (topic, partition) => {
      stats.offsetResets.push({ topic, partition, to: offsetReset });
    },
    onLag: observer?.onLag,
  };
}

/** Live figures of a stream for whoever hosts it (a service's metrics). */
export interface StreamObserver {
  onLag?(topic: string, partition: number, lag: number): void;
  /** Called after every handled chunk with the run's report so far. */
  onChunk?(report: RunReport): void;
  /** Called after every handled chunk with the scorer's model cache counts so far. */
  onCache?(stats: { hits: number; misses: number }): void;
}

/**
 * Consumes the input topics until `signal` aborts. Each chunk is decoded, its bad records
 * published to the dead-letter topic first (a crash after that re-reads the chunk, never
 * loses a bad record), then its rows handed to `handle`; the source commits the chunk's
 * offsets only after this resolves. Returns the time spent on chunks, in ms.
 */
export async function consumeStream(
  options: KafkaStreamOptions,
  source: SourceDefinition,
  report: RunReport,
  deadLetters: KafkaSink,
  hooks: KafkaSourceHooks,
  logger: Logger,
  handle: (table: Table) => Promise<void>,
  signal: AbortSignal,
  observer?: StreamObserver,
): Promise<number> {
  let busyMs = 0;
  await createKafkaSource({ ...options, topics: options.inputTopics }, logger, hooks).run(
    async (messages) => {
      const started = Date.now();
      try {
        const { table, bad } = decodeMessages(messages, source, report);
        await deadLetters.write(bad);
        if (table) await handle(table);
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'kafka batch failed; it will be re-read');
        throw err;
      }
      (report.stream as StreamStats).messages += messages.length;
      report.batches += 1;
      observer?.onChunk?.(report);
      busyMs += Date.now() - started;
    },
    signal,
  );
  return busyMs;
}
