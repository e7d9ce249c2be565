/**
 * A small run of `pnpm bench`, so that the benchmark keeps working: it must
 * print its Kafka figure with every event scored. Needs `pnpm build` and a
 * broker (scripts/test.sh provides both).
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { kafkaBootstrap } from '../../packages/core/test/support/services';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

describe('scripts > bench', () => {
  it('prints sustained Kafka scoring throughput as a JSON line', async () => {
    const servers = await kafkaBootstrap();
    const work = await mkdtemp(join(tmpdir(), 'dfp-bench-'));
    const { stdout } = await run(
      process.execPath,
      [
        join(ROOT, 'scripts/bench.mjs'),
        '--only=kafka',
        '--events=3000',
        '--users=4',
        '--epochs=2',
        '--partitions=2',
        '--batch_records=500',
        `--work=${work}`,
      ],
      { cwd: ROOT, env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS: servers }, timeout: 300_000 },
    );
    const figures = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const kafka = figures.find((f) => f.figure === 'kafka_scoring_events_per_s');
    expect(kafka).toMatchObject({
      unit: 'events/s',
      events: 3000,
      scored: 3000,
      dead_lettered: 0,
      partitions: 2,
      backend: expect.stringMatching(/wasm|cpu|tensorflow/),
    });
    expect(kafka?.value).toBeGreaterThan(0);
    expect(kafka?.peak_rss_mb).toBeGreaterThan(0);
  }, 300_000);
});
