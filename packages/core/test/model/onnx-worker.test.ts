/**
 * Compiled builds run ONNX Runtime sessions on a worker thread of their own
 * (jest runs the sources, where they stay on the calling thread). Through the
 * compiled package: the worker's scores are the calling thread's, a worker that
 * stops costs no scores (the session is made again on a new worker), a stopped
 * worker ends in order, and an idle worker does not keep the process alive. Needs
 * `pnpm build`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  initBackend,
  serializeModel,
  setScoringEngine,
  sessionsOnWorker,
  trainAutoencoder,
} from '../../src/model';
import { toIPC } from '../../src/table';
import { AUTH_FEATURES, authTable } from './helpers';

const run = promisify(execFile);
const DIST = resolve(__dirname, '../../dist');

// Scores a saved model three times through the compiled package: once, again after the
// worker was stopped, and once more; prints the mean |z| of each and where sessions ran.
const CHILD = `
const { readFileSync } = require('node:fs');
const model = require(process.env.DIST + '/model/index.js');
const { fromIPC } = require(process.env.DIST + '/table/index.js');
(async () => {
  await model.initBackend('wasm');
  model.setScoringEngine('onnx');
  const dir = process.env.WORK;
  const loaded = model.deserializeModel({
    metadata: JSON.parse(readFileSync(dir + '/model.json', 'utf8')),
    weights: readFileSync(dir + '/model.bin'),
  });
  const table = fromIPC(readFileSync(dir + '/table.arrow'));
  const mean = async () =>
    Array.from((await loaded.scoreAsync(table)).find((c) => c.name === 'mean_abs_z').values);
  const first = await mean();
  const stopped = await model.stopSessionWorker();
  const afterStop = await mean();
  const again = await mean();
  const atExit = await model.stopSessionWorker();
  const out = { onWorker: model.sessionsOnWorker(), first, afterStop, again, stopped, atExit };
  console.log(JSON.stringify(out));
})().catch((err) => { console.error(err); process.exit(1); });
`;

describe('model > ONNX Runtime worker', () => {
  let work: string;
  let expected: number[];

  beforeAll(async () => {
    await initBackend('wasm');
    work = await mkdtemp(join(tmpdir(), 'dfp-onnx-worker-'));
    const small = { encoderLayers: [16, 8], decoderLayers: [16], batchSize: 64, epochs: 2 };
    const trained = await trainAutoencoder(authTable(400), AUTH_FEATURES, small);
    const saved = serializeModel(trained);
    const table = authTable(300, 2);
    await writeFile(join(work, 'model.json'), JSON.stringify(saved.metadata));
    await writeFile(join(work, 'model.bin'), saved.weights);
    await writeFile(join(work, 'table.arrow'), toIPC(table));
    setScoringEngine('onnx');
    const scores = await trained.scoreAsync(table);
    expected = Array.from(scores.find((c) => c.name === 'mean_abs_z')?.values as number[]);
    trained.dispose();
    setScoringEngine(undefined);
  }, 60_000);

  it('the sources score on the calling thread', () => {
    expect(sessionsOnWorker()).toBe(false);
  });

  it('scores as the calling thread does, and again after the worker stopped', async () => {
    const { stdout } = await run(process.execPath, ['-e', CHILD], {
      env: { ...process.env, DIST, WORK: work },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.onWorker).toBe(true);
    // Sessions released and the thread left to end, not killed (which can abort the process).
    expect([out.stopped, out.atExit]).toEqual(['in order', 'in order']);
    for (const key of ['first', 'afterStop', 'again']) {
      const got = out[key] as number[];
      expect(got).toHaveLength(expected.length);
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 9));
    }
  }, 60_000);
});
