/**
 * Swap noise, the denoising corruption of a training batch: in every column
 * independently, k = round(rows·p) cells (random destination rows) receive the
 * value of the same column in k random source rows of the batch. Sources and
 * destinations are drawn uniformly with replacement, and sources are read from
 * the uncorrupted batch. It acts on encoded values (scaled numerics, 0/1
 * binaries, category codes), so every swapped cell holds a value the column
 * really has in this batch.
 */
import type { EncodedRows } from './features';
import type { Rng } from './rng';
import { roundHalfEven } from './scalers';

/** Cells swapped per column in a batch of `rows` rows. */
export function swapCount(rows: number, probability: number): number {
  return roundHalfEven(rows * probability);
}

function swapColumns<T extends Float32Array | Int32Array>(
  source: T,
  rows: number,
  width: number,
  k: number,
  rng: Rng,
): T {
  const out = source.slice() as T;
  for (let c = 0; c < width; c++) {
    for (let j = 0; j < k; j++) {
      const from = rng.int(rows);
      const to = rng.int(rows);
      out[to * width + c] = source[from * width + c];
    }
  }
  return out;
}

/** A corrupted copy of `batch`; the input is left unchanged. */
export function applySwapNoise(batch: EncodedRows, probability: number, rng: Rng): EncodedRows {
  const k = swapCount(batch.rows, probability);
  const { rows, width } = batch;
  return {
    rows,
    width,
    numeric: swapColumns(batch.numeric, rows, width.numeric, k, rng),
    binary: swapColumns(batch.binary, rows, width.binary, k, rng),
    categorical: swapColumns(batch.categorical, rows, width.categorical, k, rng),
  };
}
