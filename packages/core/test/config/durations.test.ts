import { parseDuration } from '../../src/config/durations';

describe('config > durations', () => {
  it.each([
    ['60d', 60 * 86_400_000],
    ['1d', 86_400_000],
    ['2days', 2 * 86_400_000],
    ['2 days', 2 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['90min', 90 * 60_000],
    ['1w 2d', 9 * 86_400_000],
    ['30s', 30_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'sixty days', '60', '5 fortnights', '1d extra'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow();
  });
});
