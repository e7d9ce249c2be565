/** Helpers for tests against the real broker: topics, producing, reading back. */
import { Kafka, type Admin, logLevel } from 'kafkajs';
import { kafkaBootstrap, uniqueSuffix } from '../support/services';
import { until } from '../support/until';

export { until };

export interface Seen {
  topic: string;
  partition: number;
  key: string | null;
  value: Record<string, unknown>;
  headers: Record<string, string>;
}

export interface Broker {
  brokers: string[];
  kafka: Kafka;
  admin: Admin;
  suffix: string;
  close(): Promise<void>;
}

export async function broker(): Promise<Broker> {
  const brokers = [await kafkaBootstrap()];
  const kafka = new Kafka({ clientId: 'test', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  return { brokers, kafka, admin, suffix: uniqueSuffix(), close: () => admin.disconnect() };
}

export async function createTopics(b: Broker, topics: string[], numPartitions = 2) {
  await b.admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions })),
    waitForLeaders: true,
  });
}

/** Produces records keyed by their Duo user, as collectors key by entity. */
export async function produceDuo(b: Broker, topic: string, records: Record<string, unknown>[]) {
  const producer = b.kafka.producer();
  await producer.connect();
  for (let i = 0; i < records.length; i += 500) {
    await producer.send({
      topic,
      messages: records.slice(i, i + 500).map((r) => ({
        key: String((r.user as { name: string }).name),
        value: JSON.stringify(r),
      })),
    });
  }
  await producer.disconnect();
}

/** Reads topics from the beginning in the background, keeping every message. */
export async function reader(b: Broker, topics: string[]) {
  const seen: Seen[] = [];
  const consumer = b.kafka.consumer({ groupId: `reader-${uniqueSuffix()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      seen.push({
        topic,
        partition,
        key: message.key?.toString() ?? null,
        value: JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>,
        headers,
      });
    },
  });
  return { seen, stop: () => consumer.disconnect() };
}

/** Committed offset and end offset of each partition of a topic for a group. */
export async function lag(b: Broker, groupId: string, topic: string) {
  const [committed] = await b.admin.fetchOffsets({ groupId, topics: [topic] });
  const ends = new Map((await b.admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
  return committed.partitions.map((p) => ({
    partition: p.partition,
    committed: Number(p.offset),
    end: Number(ends.get(p.partition)),
  }));
}

/** True when every partition's committed offset is at its end (empty ones may be -1). */
export async function allCommitted(b: Broker, groupId: string, topic: string) {
  return (await lag(b, groupId, topic)).every(
    (p) => p.committed === p.end || (p.end === 0 && p.committed === -1),
  );
}
