/**
 * The scorer's per-entity history survives a restart through the state store,
 * and a batch that fails half-way is scored again in full when it is re-read.
 */
import { join } from 'node:path';
import { Scorer } from '../../src/pipeline/infer';
import { runTraining } from '../../src/pipeline/train';
import { decodeRecords } from '../../src/schema/decode';
import type { SinkRow } from '../../src/sinks/types';
import { EntityStateStore } from '../../src/window/state-store';
import { duoHistory, tempDir, testConfig, testContext, writeDuoFile } from './helpers';

const AUG1 = Date.UTC(2022, 7, 1);
const AUG30 = Date.UTC(2022, 7, 30);

class MemorySink {
  rows: SinkRow[] = [];
  failures = 0;
  get currentPath() {
    return 'memory';
  }
  get written() {
    return this.rows.length;
  }
  async write(rows: SinkRow[]) {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('broker unavailable');
    }
    this.rows.push(...rows);
  }
}

describe('pipeline > scorer state', () => {
  let dir: string;
  let config: ReturnType<typeof testConfig>;
  let ctx: Awaited<ReturnType<typeof testContext>>;
  const users = ['nora@example.com', 'omar@example.com'];

  beforeAll(async () => {
    dir = await tempDir('dfp-scorer-state-');
    await writeDuoFile(join(dir, 'train'), '2022-08-01', duoHistory(users, AUG1, 320, 20));
    const trainConfig = testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'generic' });
    ctx = await testContext(dir);
    await runTraining(trainConfig, ctx);
    config = { ...trainConfig, trainUsers: 'none', filterThreshold: 0 };
  }, 120_000);

  function halves() {
    const records = duoHistory(users, AUG30, 40, 1);
    const table = (rs: unknown[], label: string) =>
      decodeRecords(rs, config.source, label, { origin: true }).table;
    return [table(records.slice(0, 50), 'part-1'), table(records.slice(50), 'part-2')];
  }

  function byId(sink: MemorySink): Map<unknown, SinkRow> {
    return new Map(sink.rows.map((r) => [r.detection_id, r]));
  }

  it('a restarted scorer derives the same features as one that never stopped', async () => {
    const [first, second] = halves();
    const unbroken = new MemorySink();
    const one = new Scorer(config, ctx, { detections: unbroken, deadLetters: new MemorySink() });
    await one.scoreTable(first);
    await one.scoreTable(second);
    one.close();

    const state = new EntityStateStore(join(dir, 'state-a'));
    const restarted = new MemorySink();
    const before = new Scorer(config, ctx, { detections: restarted }, state);
    await before.scoreTable(first);
    before.close();
    const after = new Scorer(
      config,
      ctx,
      { detections: restarted },
      new EntityStateStore(join(dir, 'state-a')),
    );
    await after.scoreTable(second);
    after.close();

    const fresh = new MemorySink();
    const amnesiac = new Scorer(config, ctx, { detections: fresh });
    await amnesiac.scoreTable(second);
    amnesiac.close();

    const expected = byId(unbroken);
    expect(expected.size).toBe(80);
    const got = byId(restarted);
    expect(got.size).toBe(80);
    for (const [id, row] of expected) {
      expect(got.get(id)?.logcount).toBe(row.logcount);
      expect(got.get(id)?.mean_abs_z).toBeCloseTo(row.mean_abs_z as number, 9);
    }
    // Without the stored history the day restarts: logcount differs for the second half.
    const lost = [...byId(fresh)].filter(([id, r]) => r.logcount !== expected.get(id)?.logcount);
    expect(lost.length).toBe(30);
  }, 60_000);

  it('a batch whose publishing failed is scored again in full, not taken for repeats', async () => {
    const [first] = halves();
    const sink = new MemorySink();
    sink.failures = 1;
    const state = new EntityStateStore(join(dir, 'state-b'));
    const scorer = new Scorer(config, ctx, { detections: sink }, state);
    await expect(scorer.scoreTable(first)).rejects.toThrow(/broker unavailable/);
    await scorer.scoreTable(first);
    scorer.close();
    expect(scorer.report.duplicates).toBe(0);
    expect(byId(sink).size).toBe(50);
    // What was stored is the successful batch's history, read back by a new scorer as repeats.
    const again = new Scorer(config, ctx, { detections: new MemorySink() }, state);
    await again.scoreTable(first);
    again.close();
    expect(again.report).toMatchObject({ duplicates: 50, scored: 0 });
  }, 60_000);
});
