/**
 * Measures training and scoring throughput of the default (512-500/512) model.
 * Not a timed assertion: it logs rows/s. Runs only with DFP_MODEL_BENCH=1.
 */
import { initBackend, trainAutoencoder } from '../../src/model';
import { AUTH_FEATURES, authTable } from './helpers';

const bench = process.env.DFP_MODEL_BENCH === '1' ? it : it.skip;

describe('model > throughput', () => {
  bench('logs training and scoring rows/s for the default model', async () => {
    const backend = await initBackend();
    const rows = Number(process.env.DFP_MODEL_BENCH_ROWS ?? 20_000);
    const table = authTable(rows);
    const epochs = 2;
    const started = Date.now();
    const model = await trainAutoencoder(table, AUTH_FEATURES, { epochs, validationSize: 0 });
    const trainSeconds = (Date.now() - started) / 1000;

    const scoreTable = authTable(50_000, 2);
    const scoreStarted = Date.now();
    const scores = model.score(scoreTable);
    const scoreSeconds = (Date.now() - scoreStarted) / 1000;
    model.dispose();

    // Training time includes one calibration pass over the training rows.
    console.log(
      `backend ${backend}: training ${Math.round((rows * epochs) / trainSeconds)} rows/s ` +
        `(${rows} rows × ${epochs} epochs in ${trainSeconds.toFixed(1)} s, incl. calibration); ` +
        `scoring ${Math.round(scoreTable.numRows / scoreSeconds)} rows/s`,
    );
    expect(scores[0].values.length).toBe(scoreTable.numRows);
  });
});
