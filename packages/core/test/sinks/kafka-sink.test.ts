import { deadLetterHeaders } from '../../src/pipeline/kafka-stream';
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

describe('sinks > kafka dead-letter headers', () => {
  it('name the source topic, partition and offset, for bad records and for unscored rows', () => {
    const bad = {
      reason: 'invalid JSON',
      source_topic: 'duo-logs',
      source_partition: 2,
      source_offset: '41',
    };
    expect(deadLetterHeaders(bad)).toEqual({
      'dfp-error': 'invalid JSON',
      'dfp-source-topic': 'duo-logs',
      'dfp-source-partition': '2',
      'dfp-source-offset': '41',
    });
    // A decoded row no model could score: where it was read is in its origin column.
    const unscored = {
      entity: 'nora',
      reason: 'no model for nora and no generic model',
      row: { username: 'nora', origin_source: 'duo.logs/3@1207', origin_record: 0 },
    };
    expect(deadLetterHeaders(unscored)).toEqual({
      'dfp-error': 'no model for nora and no generic model',
      'dfp-source-topic': 'duo.logs',
      'dfp-source-partition': '3',
      'dfp-source-offset': '1207',
    });
  });
});
