/**
 * Continuous training from a real Kafka broker: an entity's model is trained
 * once its window holds min_history rows, retrained after min_increment new
 * rows, and a restarted trainer resumes its windows from the state folder
 * (so a retrain sees the whole history, not only what arrived after the restart).
 */
import { join } from 'node:path';
import { modelName } from '../../src/entities/names';
import { runKafkaTraining } from '../../src/pipeline/kafka-training';
import type { RunReport } from '../../src/pipeline/report';
import { duoHistory, tempDir, testConfig, testContext } from '../pipeline/helpers';
import {
  type Broker,
  allCommitted,
  broker,
  createTopics,
  produceDuo,
  until,
} from './kafka-helpers';

const AUG1 = Date.UTC(2022, 7, 1);
const AUG21 = Date.UTC(2022, 7, 21);
const USERS = ['nora@example.com', 'omar@example.com'];

describe('e2e > kafka continuous training', () => {
  let b: Broker;
  beforeAll(async () => {
    b = await broker();
  });
  afterAll(async () => b?.close());

  it('trains on enough history, retrains per increment, resumes after a restart', async () => {
    const dir = await tempDir('dfp-kafka-train-');
    const ctx = await testContext(dir);
    const config = testConfig(dir, { trainUsers: 'all' });
    const input = `duo-train-${b.suffix}`;
    const groupId = `dfp-training-${b.suffix}`;
    await createTopics(b, [input, `${input}-dead-letters`]);
    const options = {
      brokers: b.brokers,
      groupId,
      inputTopics: [input],
      deadLetterTopic: `${input}-dead-letters`,
      offsetReset: 'earliest' as const,
      maxBatchRecords: 100,
      maxBatchWaitMs: 100,
      stateDir: join(dir, 'state'),
    };
    const names = [...USERS, null].map((u) => modelName('duo', u));
    const versions = async () =>
      Promise.all(names.map(async (n) => Number((await ctx.store.latest(n))?.version ?? 0)));
    const run = async (until_: () => Promise<boolean>, what: string): Promise<RunReport> => {
      const stop = new AbortController();
      const running = runKafkaTraining(config, ctx, options, stop.signal);
      try {
        await until(until_, what, 120_000);
        await until(() => allCommitted(b, groupId, input), 'offsets committed');
      } finally {
        stop.abort();
      }
      return running;
    };

    const count = async (name: string) => Number((await ctx.store.latest(name))?.tags.count ?? 0);
    // Trainings start as soon as a window is due, so when depends on how the broker
    // batches the records: the checks below hold for any batching.

    // 200 rows per user: under min_history (300), so only the generic model is trained.
    await produceDuo(b, input, duoHistory(USERS, AUG1, 200, 20));
    const r1 = await run(async () => (await versions())[2] >= 1, 'the generic model');
    expect((await versions()).slice(0, 2)).toEqual([0, 0]);
    expect(r1.rows).toBe(400);
    expect(r1.entities.find((e) => e.entity === USERS[0])).toMatchObject({
      status: 'skipped',
      reason: 'insufficient history 200 < 300',
    });
    expect(await count(names[2])).toBeGreaterThanOrEqual(300);

    // A restarted trainer resumes the stored windows: 150 more rows per user reach the
    // 300 rows of a first model only because the 200 rows of the first run are still held.
    await produceDuo(b, input, duoHistory(USERS, AUG21, 150, 10));
    const r2 = await run(
      async () => (await versions()).slice(0, 2).every((v) => v === 1),
      'the first per-user models',
    );
    expect(r2.rows).toBe(300);
    expect(r2.duplicates).toBe(0);
    for (const name of names.slice(0, 2)) {
      expect(await count(name)).toBeGreaterThanOrEqual(300);
      expect(await count(name)).toBeLessThanOrEqual(350);
    }

    // 300 more rows each: every window is due again, and holds all it has seen (≥ 600 rows).
    await produceDuo(b, input, duoHistory(USERS, AUG21 + 10 * 86_400_000, 300, 10));
    await run(async () => {
      const v = await versions();
      return v[0] >= 2 && v[1] >= 2 && (await count(names[2])) >= 1000;
    }, 'the retrained models');
    for (const name of names.slice(0, 2)) expect(await count(name)).toBeGreaterThanOrEqual(600);
  }, 400_000);
});
