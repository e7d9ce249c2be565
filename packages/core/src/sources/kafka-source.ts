/**
 * Raw log records from Kafka topics, in a consumer group. Each message holds one
 * JSON record or an array (or any envelope the file readers know). Batches are
 * handed to `handle` in chunks of at most `maxBatchRecords` messages; a chunk's
 * offsets are committed only after `handle` resolved (its detections were
 * acknowledged), and never once the partition was revoked: at-least-once.
 */
import { Kafka, type KafkaConfig, type KafkaMessage, logLevel } from 'kafkajs';
import type { Logger } from '../logging';
import { DfpError, ErrorCodes } from '../errors';
import { parseRecords } from './files';
import type { RecordReject } from '../schema/types';

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
  /**
   * How long the group waits for a silent member before moving its partitions
   * (a crashed consumer's partitions resume after this). Default 30 s.
   */
  sessionTimeoutMs?: number;
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
  /** Entries of the message that are not usable records (a bad JSON line, a number). */
  rejects: RecordReject[];
  /** Why nothing in the message could be read (empty, not JSON); null when it could. */
  error: string | null;
}

/** kafkajs's log line when a fetch offset fell outside the partition and it resets it. */
const OFFSET_RESET_LOG = 'Offset out of range, resetting to default offset';

export interface KafkaSourceHooks {
  /** The group was (re)joined: partitions may have moved to or from this member. */
  onAssignment?(assignment: Record<string, number[]>): void;
  /** A partition's offset was out of range and was reset to the `offsetReset` end. */
  onOffsetReset?(topic: string, partition: number): void;
  /** Messages left behind a partition's end after a chunk was committed. */
  onLag?(topic: string, partition: number, lag: number): void;
}

export function createKafka(
  conn: KafkaConnection,
  logger?: Logger,
  onLog?: (message: string, extra: Record<string, unknown>) => boolean,
): Kafka {
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
        if (onLog?.(message, extra)) return;
        const fields = { component: 'kafkajs', namespace, ...extra };
        if (level <= logLevel.ERROR) logger?.error(fields, message);
        else logger?.warn(fields, message);
      },
  };
  return new Kafka(config);
}

/** How a record read from Kafka names where it came from (its origin, in errors and outputs). */
export function messageLabel(topic: string, partition: number, offset: string): string {
  return `${topic}/${partition}@${offset}`;
}

/** The topic, partition and offset in a `messageLabel`, or null for any other origin. */
export function parseMessageLabel(
  label: string,
): { topic: string; partition: string; offset: string } | null {
  const m = /^(.+)\/(\d+)@(\d+)$/.exec(label);
  return m ? { topic: m[1], partition: m[2], offset: m[3] } : null;
}

function decodeMessage(topic: string, partition: number, m: KafkaMessage): SourceMessage {
  const base = {
    topic,
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value ? m.value.toString('utf8') : null,
  };
  const none = { records: [], indices: [], rejects: [] };
  if (base.value === null || base.value.trim() === '') {
    return { ...base, ...none, error: 'empty message' };
  }
  try {
    // As in a file: the good records of a message are used, and only its bad entries rejected.
    const read = parseRecords(base.value, messageLabel(topic, partition, m.offset));
    return {
      ...base,
      records: read.records,
      indices: read.indices,
      rejects: read.rejects,
      error: null,
    };
  } catch (err) {
    return { ...base, ...none, error: (err as Error).message };
  }
}

export interface KafkaSource {
  /** Consumes until `signal` aborts; the batch in flight is finished and committed first. */
  run(handle: (messages: SourceMessage[]) => Promise<void>, signal: AbortSignal): Promise<void>;
}

export function createKafkaSource(
  options: KafkaSourceOptions,
  logger?: Logger,
  hooks: KafkaSourceHooks = {},
): KafkaSource {
  // kafkajs resets an out-of-range offset on its own and only logs it: turn that into
  // an explicit, counted event that names the policy applied.
  const kafka = createKafka(options, logger, (message, extra) => {
    if (message !== OFFSET_RESET_LOG) return false;
    const topic = String(extra.topic);
    const partition = Number(extra.partition);
    logger?.warn(
      { topic, partition, groupId: options.groupId, reset: options.offsetReset },
      `offset out of range on ${topic}/${partition}: reset to the ${options.offsetReset} ` +
        'offset (--kafka_offset_reset)',
    );
    hooks.onOffsetReset?.(topic, partition);
    return true;
  });
  return {
    async run(handle, signal) {
      const consumer = kafka.consumer({
        groupId: options.groupId,
        maxWaitTimeInMs: options.maxBatchWaitMs,
        allowAutoTopicCreation: false,
        ...(options.sessionTimeoutMs
          ? {
              sessionTimeout: options.sessionTimeoutMs,
              heartbeatInterval: Math.max(100, Math.floor(options.sessionTimeoutMs / 10)),
            }
          : {}),
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        logger?.info(
          {
            groupId: payload.groupId,
            memberId: payload.memberId,
            assignment: payload.memberAssignment,
          },
          'joined the consumer group',
        );
        hooks.onAssignment?.(payload.memberAssignment);
      });
      // A missing topic is named up front, not reported as a partition error later.
      const admin = kafka.admin();
      await admin.connect();
      try {
        const existing = new Set(await admin.listTopics());
        const missing = options.topics.filter((t) => !existing.has(t));
        if (missing.length > 0) {
          throw new DfpError(
            ErrorCodes.CONFIG_INVALID,
            `input topic(s) ${missing.join(', ')} do not exist on ${options.brokers.join(',')}`,
            { details: { missing } },
          );
        }
      } finally {
        await admin.disconnect();
      }
      await consumer.connect();
      try {
        await consumer.subscribe({
          topics: options.topics,
          fromBeginning: options.offsetReset === 'earliest',
        });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({
            batch,
            resolveOffset,
            heartbeat,
            isRunning,
            isStale,
            commitOffsetsIfNecessary,
          }) => {
            for (let i = 0; i < batch.messages.length; i += options.maxBatchRecords) {
              if (!isRunning() || isStale()) return;
              const chunk = batch.messages.slice(i, i + options.maxBatchRecords);
              await handle(chunk.map((m) => decodeMessage(batch.topic, batch.partition, m)));
              // Revoked while we worked: another member owns it now; never commit for it.
              if (isStale()) return;
              const last = chunk[chunk.length - 1].offset;
              resolveOffset(last);
              const next = (BigInt(last) + 1n).toString();
              // Not consumer.commitOffsets: once stopping, kafkajs silently drops that call, and
              // the batch finished during a SIGTERM would be published but never committed.
              await commitOffsetsIfNecessary({
                topics: [
                  {
                    topic: batch.topic,
                    partitions: [{ partition: batch.partition, offset: next }],
                  },
                ],
              });
              logger?.debug(
                { topic: batch.topic, partition: batch.partition, offset: next },
                'offsets committed',
              );
              const high = BigInt(batch.highWatermark);
              hooks.onLag?.(
                batch.topic,
                batch.partition,
                Number(high > BigInt(next) ? high - BigInt(next) : 0n),
              );
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
