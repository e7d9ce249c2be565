/**
 * Raw log records from Kafka topics, in a consumer group. Each message holds one
 * JSON record or an array (or any envelope the file readers know). Batches are
 * handed to `handle` in chunks of at most `maxBatchRecords` messages; a chunk's
 * offsets are committed only after `handle` resolved (its detections were
 * acknowledged), and never once the partition was revoked: at-least-once.
 */
import { Kafka, type KafkaConfig, type KafkaMessage, logLevel } from 'kafkajs';
import type { Logger } from '../logging';
import { parseRecords } from './files';

export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  ssl?: boolean;
  sasl?: {
    mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    username: string;
    password: string;
  };
}

export interface KafkaSourceOptions extends KafkaConnection {
  groupId: string;
  topics: string[];
  /** Where a group without committed offsets starts (and where an out-of-range offset resets). */
  offsetReset: 'earliest' | 'latest';
  /** Most messages per chunk handed to the pipeline. */
  maxBatchRecords: number;
  /** Longest wait for more messages before a smaller batch is handed on. */
  maxBatchWaitMs: number;
}

/** A decoded message: its records, or why it could not be decoded. */
export interface SourceMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  records: unknown[];
  /** Record index inside the message of each record. */
  indices: number[];
  error: string | null;
}

export function createKafka(conn: KafkaConnection, logger?: Logger): Kafka {
  const config: KafkaConfig = {
    clientId: conn.clientId ?? 'dfp',
    brokers: conn.brokers,
    ssl: conn.ssl,
    sasl: conn.sasl as KafkaConfig['sasl'],
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }) => {
        const { message, ...extra } = log;
        const fields = { component: 'kafkajs', namespace, ...extra };
        if (level <= logLevel.ERROR) logger?.error(fields, message);
        else logger?.warn(fields, message);
      },
  };
  return new Kafka(config);
}

function decodeMessage(topic: string, partition: number, m: KafkaMessage): SourceMessage {
  const base = {
    topic,
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value ? m.value.toString('utf8') : null,
  };
  if (base.value === null || base.value.trim() === '') {
    return { ...base, records: [], indices: [], error: 'empty message' };
  }
  try {
    const read = parseRecords(base.value, `${topic}/${partition}@${m.offset}`);
    if (read.rejects.length > 0) {
      return { ...base, records: [], indices: [], error: read.rejects[0].reason };
    }
    return { ...base, records: read.records, indices: read.indices, error: null };
  } catch (err) {
    return { ...base, records: [], indices: [], error: (err as Error).message };
  }
}

export interface KafkaSource {
  /** Consumes until `signal` aborts; the batch in flight is finished and committed first. */
  run(handle: (messages: SourceMessage[]) => Promise<void>, signal: AbortSignal): Promise<void>;
}

export function createKafkaSource(options: KafkaSourceOptions, logger?: Logger): KafkaSource {
  const kafka = createKafka(options, logger);
  return {
    async run(handle, signal) {
      const consumer = kafka.consumer({
        groupId: options.groupId,
        maxWaitTimeInMs: options.maxBatchWaitMs,
        allowAutoTopicCreation: false,
      });
      await consumer.connect();
      try {
        await consumer.subscribe({
          topics: options.topics,
          fromBeginning: options.offsetReset === 'earliest',
        });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            for (let i = 0; i < batch.messages.length; i += options.maxBatchRecords) {
              if (!isRunning() || isStale()) return;
              const chunk = batch.messages.slice(i, i + options.maxBatchRecords);
              await handle(chunk.map((m) => decodeMessage(batch.topic, batch.partition, m)));
              // Revoked while we worked: another member owns it now; never commit for it.
              if (isStale()) return;
              const last = chunk[chunk.length - 1].offset;
              resolveOffset(last);
              await consumer.commitOffsets([
                {
                  topic: batch.topic,
                  partition: batch.partition,
                  offset: (BigInt(last) + 1n).toString(),
                },
              ]);
              await heartbeat();
            }
          },
        });
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      } finally {
        // Waits for the batch in flight (handled, published, committed) before leaving the group.
        await consumer.disconnect();
      }
    },
  };
}
