/**
 * Streaming inference against a real Kafka broker (scripts/services.sh up kafka):
 * records in, detections and dead letters out, offsets committed, and the same
 * scores as the file pipeline gives for the same records.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { runInference } from '../../src/pipeline/infer';
import { runKafkaInference } from '../../src/pipeline/kafka-inference';
import { runTraining } from '../../src/pipeline/train';
import { duoHistory, tempDir, testConfig, testContext, writeDuoFile } from '../pipeline/helpers';
import { kafkaBootstrap, uniqueSuffix } from '../support/services';

const AUG1 = Date.UTC(2022, 7, 1);
const AUG30 = Date.UTC(2022, 7, 30);

describe('e2e > kafka streaming inference', () => {
  it('scores each record once, dead-letters bad messages, commits what it published', async () => {
    const brokers = [await kafkaBootstrap()];
    const suffix = uniqueSuffix();
    const input = `duo-logs-${suffix}`;
    const output = `dfp-detections-${suffix}`;
    const dlq = `${output}-dead-letters`;
    const kafka = new Kafka({ clientId: 'test', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [input, output, dlq].map((topic) => ({ topic, numPartitions: 2 })),
      waitForLeaders: true,
    });

    const dir = await tempDir('dfp-kafka-');
    const users = ['nora@example.com', 'omar@example.com'];
    await writeDuoFile(join(dir, 'train'), '2022-08-01', duoHistory(users, AUG1, 320, 20));
    const config = testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'generic' });
    const ctx = await testContext(dir);
    await runTraining(config, ctx);

    const records = duoHistory(users, AUG30, 40, 1);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: [
        ...records.map((r) => ({
          key: String((r.user as { name: string }).name),
          value: JSON.stringify(r),
        })),
        { key: 'x', value: '{"not json' },
        { key: 'y', value: JSON.stringify({ txid: 'no-user-no-time' }) },
      ],
    });
    await producer.disconnect();

    const scoring = { ...config, trainUsers: 'none' as const, filterThreshold: 0 };
    const stop = new AbortController();
    const options = {
      brokers,
      groupId: `dfp-test-${suffix}`,
      inputTopics: [input],
      outputTopic: output,
      deadLetterTopic: dlq,
      offsetReset: 'earliest' as const,
      maxBatchRecords: 7,
      maxBatchWaitMs: 100,
    };
    const running = runKafkaInference(scoring, ctx, options, stop.signal);

    // Read the output topics until everything arrived (bounded in time).
    const seen: {
      topic: string;
      key: string | null;
      value: Record<string, unknown>;
      headers: Record<string, string>;
    }[] = [];
    const reader = kafka.consumer({ groupId: `reader-${suffix}` });
    await reader.connect();
    await reader.subscribe({ topics: [output, dlq], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${seen.length} messages arrived`)),
        60_000,
      );
      void reader.run({
        eachMessage: async ({ topic, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          seen.push({
            topic,
            key: message.key?.toString() ?? null,
            value: JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>,
            headers,
          });
          if (seen.length >= records.length + 2) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    stop.abort();
    const report = await running;
    await reader.disconnect();

    const detections = seen.filter((m) => m.topic === output);
    const dead = seen.filter((m) => m.topic === dlq);
    const n = records.length;
    expect(n).toBe(80);
    expect(report).toMatchObject({
      records: n + 2,
      rows: n,
      rejected: 2,
      scored: n,
      detections: n,
    });
    expect(detections).toHaveLength(n);
    expect(new Set(detections.map((d) => d.value.detection_id)).size).toBe(n);
    expect(detections.every((d) => d.key === d.value.username)).toBe(true);
    expect(dead.map((d) => d.headers['dfp-source-topic'])).toEqual([input, input]);
    expect(dead.map((d) => d.headers['dfp-error']).sort()).toEqual([
      expect.stringMatching(/JSON/i),
      expect.stringMatching(/missing/),
    ]);
    expect(dead.every((d) => /^\d+$/.test(d.headers['dfp-source-offset']))).toBe(true);

    // Every offset is committed: a restarted consumer would not re-read anything.
    const committed = await admin.fetchOffsets({ groupId: options.groupId, topics: [input] });
    const ends = await admin.fetchTopicOffsets(input);
    const end = new Map(ends.map((p) => [p.partition, p.high]));
    for (const p of committed[0].partitions) {
      // A partition that never held a message has nothing to commit (-1).
      const high = end.get(p.partition);
      expect(high === '0' ? ['-1', '0'] : [high]).toContain(p.offset);
    }
    expect(committed[0].partitions.some((p) => Number(p.offset) > 0)).toBe(true);
    await admin.disconnect();

    // The same records from a file score the same.
    const file = await writeDuoFile(join(dir, 'infer'), '2022-08-30', records);
    await runInference({ ...scoring, output: join(dir, 'file.jsonl') }, ctx, [file]);
    const fromFile = new Map(
      (await readFile(join(dir, 'file.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .map((r) => [r.detection_id, r.mean_abs_z]),
    );
    for (const d of detections)
      expect(d.value.mean_abs_z).toBeCloseTo(fromFile.get(d.value.detection_id) as number, 9);
  }, 180_000);
});
