import { fitStandard, populationStats, roundHalfEven } from '../../src/model';

describe('model > scalers', () => {
  it('fits mean and population (ddof=0) std', () => {
    // By hand: mean 5.4; deviations −1, −0.1, 1.1; variance (1 + 0.01 + 1.21) / 3 = 0.74.
    const params = fitStandard([4.4, 5.3, 6.5]);
    expect(params.mean).toBeCloseTo(5.4, 12);
    expect(params.std).toBeCloseTo(Math.sqrt(0.74), 12);
    // The sample std (ddof=1) would be 1.0536; make sure that is not what we got.
    expect(params.std).not.toBeCloseTo(1.0536, 3);
  });

  it('skips missing (NaN) values', () => {
    const stats = populationStats([1, NaN, 3, NaN]);
    expect(stats).toEqual({ mean: 2, std: 1, count: 2 });
  });

  it('uses std 1 for a constant column and for no values at all', () => {
    expect(fitStandard([7, 7, 7, 7])).toEqual({ mean: 7, std: 1 });
    expect(fitStandard([NaN, NaN])).toEqual({ mean: 0, std: 1 });
    expect(fitStandard([1, 1 + 1e-12])).toEqual({ mean: 1 + 0.5e-12, std: 1 });
  });

  it('rounds half to even like Python', () => {
    expect([0.5, 1.5, 2.5, 2.4, 2.6, 3.5, -1.5, -2.5].map(roundHalfEven)).toEqual([
      0, 2, 2, 2, 3, 4, -2, -2,
    ]);
  });
});
