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

  it('files: a batch that fails stops the run with only finished batches stored', async () => {
    // Batches overlap (the next is prepared while one finishes): the state stored must still
    // be that of the batches whose detections were written, so a rerun loses and repeats none.
    const days = ['2022-08-30', '2022-08-31', '2022-09-01'];
    const files = await Promise.all(
      days.map((day) =>
        writeDuoFile(join(dir, 'days'), day, duoHistory(users, Date.parse(day), 10, 1)),
      ),
    );
    const sink = new MemorySink();
    const state = join(dir, 'state-c');
    const first = new Scorer(config, ctx, { detections: sink }, new EntityStateStore(state));
    const failOnSecond = sink.write.bind(sink);
    let writes = 0;
    sink.write = async (rows) => {
      writes += 1;
      if (writes === 2) throw new Error('disk full');
      return failOnSecond(rows);
    };
    await expect(first.processFiles(files)).rejects.toThrow(/disk full/);
    first.close();
    expect(sink.rows).toHaveLength(20);
    expect(new Set(sink.rows.map((r) => String(r.timestamp).slice(0, 10)))).toEqual(
      new Set([days[0]]),
    );

    sink.write = failOnSecond;
    const rerun = new Scorer(config, ctx, { detections: sink }, new EntityStateStore(state));
    await rerun.processFiles(files);
    rerun.close();
    expect(rerun.report).toMatchObject({ duplicates: 20, scored: 40, detections: 40 });
    expect(byId(sink).size).toBe(60);
    expect(sink.rows).toHaveLength(60);
  }, 60_000);
});
