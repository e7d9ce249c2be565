import { fitValue } from '../../src/sinks/kafka-sink';

describe('sinks > kafka message size', () => {
  it('cuts the longest text fields of a row too big for the broker, and names them', () => {
    const row = { username: 'nora', browser: 'B'.repeat(50_000), os: 'O'.repeat(20_000), z: 3.5 };
    const text = fitValue(row, 30_000);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(30_000);
    const back = JSON.parse(text);
    expect(back).toMatchObject({ username: 'nora', z: 3.5, dfp_truncated: ['browser'] });
    expect(back.browser).toMatch(/^B{1024}…\[cut 48976 chars\]$/);
    expect(back.os).toHaveLength(20_000);
    // A row that fits is written as is.
    expect(JSON.parse(fitValue({ a: 'x', b: undefined }, 100))).toEqual({ a: 'x', b: null });
  });
});
