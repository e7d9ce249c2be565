/**
 * Streaming inference against a real Kafka broker (scripts/services.sh up kafka):
 * records in, detections and dead letters out, offsets committed, the same
 * scores as the file pipeline gives for the same records, partitions split
 * between the members of a group, and out-of-range offsets reset explicitly.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineConfig } from '../../src/pipeline/config';
import { runInference } from '../../src/pipeline/infer';
import { type KafkaInferenceOptions, runKafkaInference } from '../../src/pipeline/kafka-inference';
import { type PipelineContext, runTraining } from '../../src/pipeline/train';
import { duoHistory, tempDir, testConfig, testContext, writeDuoFile } from '../pipeline/helpers';
import {
  type Broker,
  allCommitted,
  broker,
  createTopics,
  lag,
  produceDuo,
  reader,
  until,
} from './kafka-helpers';

const AUG1 = Date.UTC(2022, 7, 1);
const AUG30 = Date.UTC(2022, 7, 30);
const USERS = ['nora@example.com', 'omar@example.com'];

describe('e2e > kafka streaming inference', () => {
  let b: Broker;
  let dir: string;
  let scoring: PipelineConfig;
  let ctx: PipelineContext;

  beforeAll(async () => {
    b = await broker();
    dir = await tempDir('dfp-kafka-');
    await writeDuoFile(join(dir, 'train'), '2022-08-01', duoHistory(USERS, AUG1, 320, 20));
    const config = testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'generic' });
    ctx = await testContext(dir);
    await runTraining(config, ctx);
    scoring = { ...config, trainUsers: 'none', filterThreshold: 0 };
  }, 180_000);

  afterAll(async () => b?.close());

  function topics(name: string) {
    const input = `duo-logs-${name}-${b.suffix}`;
    const output = `dfp-detections-${name}-${b.suffix}`;
    return { input, output, dlq: `${output}-dead-letters` };
  }

  function options(name: string, extra: Partial<KafkaInferenceOptions> = {}) {
    const t = topics(name);
    return {
      brokers: b.brokers,
      groupId: `dfp-test-${name}-${b.suffix}`,
      inputTopics: [t.input],
      outputTopic: t.output,
      deadLetterTopic: t.dlq,
      offsetReset: 'earliest' as const,
      maxBatchRecords: 7,
      maxBatchWaitMs: 100,
      stateDir: join(dir, 'state', name),
      ...extra,
    };
  }

  it('scores each record once, dead-letters bad messages, commits what it published', async () => {
    const t = topics('main');
    await createTopics(b, [t.input, t.output, t.dlq]);
    const records = duoHistory(USERS, AUG30, 40, 1);
    // Omar's last four records travel in two messages of several records, each with a bad entry
    // beside them: the good ones are scored, only the bad entries are dead-lettered.
    const packed = records.filter((r) => (r.user as { name: string }).name === USERS[1]).slice(-4);
    await produceDuo(
      b,
      t.input,
      records.filter((r) => !packed.includes(r)),
    );
    const producer = b.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: t.input,
      messages: [
        { key: 'x', value: '{"not json' },
        { key: 'y', value: JSON.stringify({ txid: 'no-user-no-time' }) },
        { key: USERS[1], value: JSON.stringify([packed[0], packed[1], 42]) },
        {
          key: USERS[1],
          value: `${JSON.stringify(packed[2])}\n{bad line\n${JSON.stringify(packed[3])}`,
        },
      ],
    });
    await producer.disconnect();

    const opts = options('main');
    const stop = new AbortController();
    const running = runKafkaInference(scoring, ctx, opts, stop.signal);
    const out = await reader(b, [t.output, t.dlq]);
    await until(() => out.seen.length >= records.length + 4, 'detections and dead letters');
    await until(() => allCommitted(b, opts.groupId, t.input), 'offsets committed');
    stop.abort();
    const report = await running;
    await out.stop();

    const detections = out.seen.filter((m) => m.topic === t.output);
    const dead = out.seen.filter((m) => m.topic === t.dlq);
    const n = records.length;
    expect(n).toBe(80);
    expect(report).toMatchObject({
      records: n + 4,
      rows: n,
      rejected: 4,
      scored: n,
      detections: n,
    });
    expect(report.stream?.messages).toBe(n - 4 + 4);
    expect(detections).toHaveLength(n);
    expect(new Set(detections.map((d) => d.value.detection_id)).size).toBe(n);
    expect(detections.every((d) => d.key === d.value.username)).toBe(true);
    expect(dead.map((d) => d.headers['dfp-source-topic'])).toEqual(Array(4).fill(t.input));
    expect(dead.map((d) => d.headers['dfp-error']).sort()).toEqual([
      expect.stringMatching(/^invalid JSON/),
      expect.stringMatching(/^invalid JSON/),
      expect.stringMatching(/missing/),
      expect.stringMatching(/not a JSON object \(found number\)/),
    ]);
    // A message that is not JSON at all has no record index.
    expect(dead.map((d) => d.value.record_index).sort()).toEqual([0, 1, 2, undefined]);
    expect(dead.every((d) => /^\d+$/.test(d.headers['dfp-source-offset']))).toBe(true);
    expect((await lag(b, opts.groupId, t.input)).some((p) => p.committed > 0)).toBe(true);

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

  it('names a missing input topic at start', async () => {
    const opts = options('missing', { inputTopics: [`no-such-topic-${b.suffix}`] });
    await expect(
      runKafkaInference(scoring, ctx, opts, new AbortController().signal),
    ).rejects.toThrow(new RegExp(`input topic\\(s\\) no-such-topic-${b.suffix} do not exist`));
  });

  it('B20: an all-bad batch is dead-lettered and committed; nothing is published', async () => {
    const t = topics('bad');
    await createTopics(b, [t.input, t.output, t.dlq], 1);
    const producer = b.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: t.input,
      messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `{"broken": ${i}` })),
    });
    await producer.disconnect();

    const opts = options('bad', { maxBatchRecords: 100 });
    const stop = new AbortController();
    const running = runKafkaInference(scoring, ctx, opts, stop.signal);
    const out = await reader(b, [t.output, t.dlq]);
    await until(() => out.seen.length >= 10, 'ten dead letters');
    await until(() => allCommitted(b, opts.groupId, t.input), 'offsets committed');
    stop.abort();
    const report = await running;
    // Give a stray publish to the detections topic the time to show up.
    await new Promise((r) => setTimeout(r, 500));
    await out.stop();
    expect(out.seen.filter((m) => m.topic === t.output)).toHaveLength(0);
    const dead = out.seen.filter((m) => m.topic === t.dlq);
    expect(dead.map((d) => Number(d.headers['dfp-source-offset'])).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 10 }, (_, i) => i),
    );
    expect(dead.every((d) => d.headers['dfp-source-partition'] === '0')).toBe(true);
    expect(report).toMatchObject({ records: 10, rejected: 10, scored: 0, detections: 0 });
  }, 120_000);

  it('two consumers in one group split the partitions between them', async () => {
    const t = topics('pair');
    const outA = `${t.output}-a`;
    const outB = `${t.output}-b`;
    await createTopics(b, [t.input, outA, outB, t.dlq]);
    const users = ['ann', 'ben', 'cat', 'dan', 'eve', 'fay'].map((u) => `${u}@example.com`);
    const groupId = `dfp-test-pair-${b.suffix}`;
    const stop = new AbortController();
    const a = runKafkaInference(
      scoring,
      ctx,
      options('pair', { groupId, outputTopic: outA, stateDir: join(dir, 'state', 'pair') }),
      stop.signal,
    );
    const second = runKafkaInference(
      scoring,
      ctx,
      options('pair', { groupId, outputTopic: outB, stateDir: join(dir, 'state', 'pair') }),
      stop.signal,
    );
    // Both members hold partitions before any record arrives.
    await until(async () => {
      const { groups } = await b.admin.describeGroups([groupId]);
      return groups[0]?.state === 'Stable' && groups[0].members.length === 2;
    }, 'a stable group of two');
    const records = duoHistory(users, AUG30, 20, 1);
    await produceDuo(b, t.input, records);
    const out = await reader(b, [outA, outB]);
    await until(() => out.seen.length >= records.length, 'every detection');
    await until(() => allCommitted(b, groupId, t.input), 'offsets committed');
    stop.abort();
    const [ra, rb] = await Promise.all([a, second]);
    await out.stop();

    const partitionsOf = (topic: string) =>
      new Set(
        out.seen
          .filter((m) => m.topic === topic)
          .map((m) => /\/(\d+)@/.exec(String(m.value.origin_source))?.[1]),
      );
    const pa = partitionsOf(outA);
    const pb = partitionsOf(outB);
    expect(pa.size).toBe(1);
    expect(pb.size).toBe(1);
    expect([...pa][0]).not.toBe([...pb][0]);
    expect(ra.scored).toBeGreaterThan(0);
    expect(rb.scored).toBeGreaterThan(0);
    expect(ra.scored + rb.scored).toBe(records.length);
    expect(new Set(out.seen.map((m) => m.value.detection_id)).size).toBe(records.length);
  }, 180_000);

  it('an offset out of range is reported, counted and reset to the configured end', async () => {
    const t = topics('range');
    await createTopics(b, [t.input, t.output, t.dlq], 1);
    const records = duoHistory(USERS, AUG30, 10, 1);
    await produceDuo(b, t.input, records);

    // A group whose committed offset lies beyond the end (the log was truncated or recreated).
    const early = options('range', { groupId: `dfp-range-early-${b.suffix}` });
    const late = options('range', {
      groupId: `dfp-range-late-${b.suffix}`,
      offsetReset: 'latest',
      outputTopic: `${t.output}-late`,
    });
    await createTopics(b, [late.outputTopic], 1);
    for (const groupId of [early.groupId, late.groupId]) {
      await b.admin.setOffsets({
        groupId,
        topic: t.input,
        partitions: [{ partition: 0, offset: '1000' }],
      });
    }

    const stop = new AbortController();
    const fromEarliest = runKafkaInference(scoring, ctx, early, stop.signal);
    const lateStop = new AbortController();
    const fromLatest = runKafkaInference(scoring, ctx, late, lateStop.signal);
    await until(async () => {
      const { groups } = await b.admin.describeGroups([late.groupId]);
      return groups[0]?.state === 'Stable';
    }, 'the latest-reset group to join');
    const out = await reader(b, [t.output, late.outputTopic]);
    await until(
      () => out.seen.filter((m) => m.topic === t.output).length >= 20,
      'rescored records',
    );
    stop.abort();
    const earlyReport = await fromEarliest;
    // The latest-reset group skipped the old records: only records produced now are scored.
    await new Promise((r) => setTimeout(r, 1000));
    const fresh = duoHistory(['zoe@example.com'], AUG30 + 3_600_000, 3, 1);
    await produceDuo(b, t.input, fresh);
    await until(
      () => out.seen.filter((m) => m.topic === late.outputTopic).length >= 3,
      'new records',
    );
    lateStop.abort();
    const lateReport = await fromLatest;
    await out.stop();

    expect(earlyReport.stream?.offsetResets).toEqual([
      { topic: t.input, partition: 0, to: 'earliest' },
    ]);
    expect(earlyReport.scored).toBe(20);
    expect(lateReport.stream?.offsetResets).toEqual([
      { topic: t.input, partition: 0, to: 'latest' },
    ]);
    expect(lateReport.scored).toBe(3);
    expect(
      out.seen.filter((m) => m.topic === late.outputTopic).map((m) => m.value.username),
    ).toEqual(['zoe@example.com', 'zoe@example.com', 'zoe@example.com']);
  }, 180_000);
});
