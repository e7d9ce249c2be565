/**
 * Standard scaling for numeric inputs and for the per-feature loss calibration
 * behind z-scores. Both use the population standard deviation (divide by n),
 * and both replace a degenerate deviation with 1 so that a constant feature
 * never divides by zero.
 */

/** Deviations below this are treated as zero (float32 noise on constant data). */
export const MIN_STD = 1e-8;

export interface StandardParams {
  mean: number;
  /** Population standard deviation, already floored: never 0. */
  std: number;
}

/** Rounds half to even, like Python's `round`. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Mean and population std of the finite values (NaN = missing is skipped).
 * `count` is how many values took part; with none, mean is NaN.
 */
export function populationStats(values: ArrayLike<number>): {
  mean: number;
  std: number;
  count: number;
} {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) {
      sum += v;
      count++;
    }
  }
  if (count === 0) return { mean: NaN, std: NaN, count };
  const mean = sum / count;
  // Two-pass variance: exact for constant columns, unlike E[x²] − E[x]².
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) squares += (v - mean) * (v - mean);
  }
  return { mean, std: Math.sqrt(squares / count), count };
}

/** A usable divisor: the std itself, or 1 when it is zero, tiny or not finite. */
export function flooredStd(std: number): number {
  return Number.isFinite(std) && std >= MIN_STD ? std : 1;
}

/** Fits a standard scaler; with no values at all it is the identity (mean 0, std 1). */
export function fitStandard(values: ArrayLike<number>): StandardParams {
  const { mean, std, count } = populationStats(values);
  if (count === 0) return { mean: 0, std: 1 };
  return { mean, std: flooredStd(std) };
}

export function standardize(x: number, params: StandardParams): number {
  return (x - params.mean) / params.std;
}

export function unstandardize(z: number, params: StandardParams): number {
  return z * params.std + params.mean;
}
