/**
 * B12 through the compiled command line against a real broker: the scoring
 * process is stopped with SIGTERM in the middle of the stream (it drains,
 * commits and exits 0, leaving no duplicate), killed with SIGKILL in the middle
 * of the stream (at most one batch is published twice), and restarted; every
 * record is scored, and every score equals the file pipeline's for the same
 * records, so the stored per-entity state carried logcount over the restarts.
 * Needs `pnpm build` first (scripts/test.sh does it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runInference } from '../../src/pipeline/infer';
import { runTraining } from '../../src/pipeline/train';
import { duoHistory, tempDir, testConfig, testContext, writeDuoFile } from '../pipeline/helpers';
import { type Broker, broker, createTopics, lag, produceDuo, reader, until } from './kafka-helpers';

const ROOT = resolve(__dirname, '../../../..');
const CLI = join(ROOT, 'packages/core/dist/cli/main.js');
const AUG1 = Date.UTC(2022, 7, 1);
const AUG30 = Date.UTC(2022, 7, 30);
const BATCH = 10;

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: process.env });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  return { child, output: () => output, exited };
}

describe('e2e > kafka: stop, kill and restart the scoring process', () => {
  let b: Broker;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "pnpm build" first`);
    b = await broker();
  });
  afterAll(async () => b?.close());

  it('loses nothing, repeats at most a batch after SIGKILL, and keeps the state', async () => {
    const dir = await tempDir('dfp-kafka-restart-');
    const users = ['ann', 'ben', 'cat', 'dan', 'eve', 'fay'].map((u) => `${u}@example.com`);
    await writeDuoFile(join(dir, 'train'), '2022-08-01', duoHistory(users, AUG1, 60, 20));
    const config = testConfig(dir, { inputs: [join(dir, 'train')], trainUsers: 'generic' });
    const ctx = await testContext(dir);
    await runTraining(config, ctx);

    const input = `duo-restart-${b.suffix}`;
    const output = `dfp-detections-restart-${b.suffix}`;
    const groupId = `dfp-restart-${b.suffix}`;
    await createTopics(b, [input, output, `${output}-dead-letters`]);
    const records = duoHistory(users, AUG30, 300, 1);
    await produceDuo(b, input, records);
    const n = records.length;

    const args = [
      '--source=duo',
      '--train_users=none',
      `--tracking_uri=file:${join(dir, 'models')}`,
      `--cache_dir=${join(dir, 'cache')}`,
      `--bootstrap_servers=${b.brokers.join(',')}`,
      `--input_topic=${input}`,
      `--output_topic=${output}`,
      `--group_id=${groupId}`,
      `--kafka_batch_records=${BATCH}`,
      '--kafka_batch_wait_ms=100',
      // The broker's smallest: the killed member's partitions move on after 6 s, not 30.
      '--kafka_session_timeout_ms=6000',
      '--filter_threshold=0',
      '--log_level=ERROR',
    ];
    const out = await reader(b, [output]);
    const distinct = () => new Set(out.seen.map((m) => m.value.detection_id)).size;
    const behind = async () => (await lag(b, groupId, input)).some((p) => p.committed < p.end);

    // 1. SIGTERM mid-stream: the batch in flight is finished and committed; exit 0.
    const first = start(args);
    await until(() => out.seen.length >= 300, 'the first 300 detections', 90_000);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    expect(first.output()).toMatch(/Inference summary/);
    expect(await behind()).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const afterTerm = out.seen.length;
    // Nothing published beyond what was committed: the committed offsets count the messages.
    const committed = (await lag(b, groupId, input)).reduce(
      (s, p) => s + Math.max(0, p.committed),
      0,
    );
    expect(afterTerm).toBe(committed);

    // 2. SIGKILL mid-stream: no drain, no commit of the batch in flight.
    const second = start(args);
    await until(() => out.seen.length >= afterTerm + 400, '400 more detections', 90_000);
    second.child.kill('SIGKILL');
    expect((await second.exited).signal).toBe('SIGKILL');
    expect(await behind()).toBe(true);

    // 3. Restart and run to the end, then stop.
    const third = start(args);
    await until(() => distinct() >= n, 'every record scored', 120_000);
    await until(async () => !(await behind()), 'every offset committed', 60_000);
    third.child.kill('SIGTERM');
    expect((await third.exited).code).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    await out.stop();

    expect(distinct()).toBe(n);
    const repeats = out.seen.length - n;
    expect(repeats).toBeGreaterThanOrEqual(0);
    expect(repeats).toBeLessThanOrEqual(BATCH);

    // Every score, repeats included, equals the file pipeline's on the same records.
    const file = await writeDuoFile(join(dir, 'infer'), '2022-08-30', records);
    const scoring = { ...config, trainUsers: 'none' as const, filterThreshold: 0 };
    await runInference({ ...scoring, output: join(dir, 'file.jsonl') }, ctx, [file]);
    const fromFile = new Map(
      (await readFile(join(dir, 'file.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .map((r) => [r.detection_id, r]),
    );
    expect(fromFile.size).toBe(n);
    const mismatched = out.seen.filter((m) => {
      const f = fromFile.get(m.value.detection_id);
      return (
        !f ||
        f.logcount !== m.value.logcount ||
        Math.abs((f.mean_abs_z as number) - (m.value.mean_abs_z as number)) > 1e-9
      );
    });
    expect(mismatched).toEqual([]);
  }, 400_000);
});
