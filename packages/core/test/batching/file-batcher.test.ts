import { batchFiles, dateFromName, type DatedFile } from '../../src/batching/file-batcher';

describe('batching > file dates', () => {
  it.each([
    ['AZUREAD_2022-08-01T00_03_56.207Z.json', '2022-08-01T00:03:56.207Z'],
    ['DUO_2022-08-30T00_26_18.130Z.json', '2022-08-30T00:26:18.130Z'],
    ['AUTH_LOG-2022-08-21T22.05.23Z.json', '2022-08-21T22:05:23.000Z'],
    ['/data/x/duo_2022-08-28.json', '2022-08-28T00:00:00.000Z'],
    [
      '123456789012_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json',
      '2017-12-11T15:05:00.000Z',
    ],
    ['DUO_2022-08-30T00_26_18.000Z.json', '2022-08-30T00:26:18.000Z'],
  ])('reads %s as %s (UTC, fraction as written)', (name, iso) => {
    expect(new Date(dateFromName(name) as number).toISOString()).toBe(iso);
  });

  it('returns null for names without a date', () => {
    expect(dateFromName('panther-analysis_rule-tests_duo-authlog.jsonl')).toBeNull();
  });
});

function file(iso: string, path = iso): DatedFile {
  return { path, time: Date.parse(iso), timeSource: 'name' };
}

describe('batching > batches', () => {
  const files = [
    file('2022-08-02T03:00:00Z'),
    file('2022-08-01T00:00:00Z'),
    file('2022-08-01T00:30:00Z'),
    file('2022-08-04T12:00:00Z'),
  ];

  it('makes one batch of everything, time-sorted, without a period', () => {
    const batches = batchFiles(files, {
      startTime: null,
      endTime: null,
      sampleRateS: 0,
      period: null,
    });
    expect(batches).toHaveLength(1);
    expect(batches[0].files.map((f) => f.path)).toEqual([
      '2022-08-01T00:00:00Z',
      '2022-08-01T00:30:00Z',
      '2022-08-02T03:00:00Z',
      '2022-08-04T12:00:00Z',
    ]);
  });

  it('makes one batch per non-empty UTC day and counts every day in the span', () => {
    const batches = batchFiles(files, {
      startTime: null,
      endTime: null,
      sampleRateS: 0,
      period: 'D',
    });
    expect(batches.map((b) => b.files.length)).toEqual([2, 1, 1]);
    expect(batches.map((b) => new Date(b.start).toISOString().slice(0, 10))).toEqual([
      '2022-08-01',
      '2022-08-02',
      '2022-08-04',
    ]);
    expect(batches.every((b) => b.periods === 4)).toBe(true);
  });

  it('keeps both ends of the time window', () => {
    const batches = batchFiles(files, {
      startTime: Date.parse('2022-08-01T00:30:00Z'),
      endTime: Date.parse('2022-08-02T03:00:00Z'),
      sampleRateS: 0,
      period: null,
    });
    expect(batches[0].files.map((f) => f.path)).toEqual([
      '2022-08-01T00:30:00Z',
      '2022-08-02T03:00:00Z',
    ]);
  });

  it('samples the first file of each sample_rate_s bin', () => {
    const batches = batchFiles(files, {
      startTime: null,
      endTime: null,
      sampleRateS: 3600,
      period: null,
    });
    expect(batches[0].files.map((f) => f.path)).toEqual([
      '2022-08-01T00:00:00Z',
      '2022-08-02T03:00:00Z',
      '2022-08-04T12:00:00Z',
    ]);
  });

  it('returns no batch when nothing is in the window', () => {
    expect(
      batchFiles(files, {
        startTime: Date.parse('2023-01-01'),
        endTime: null,
        sampleRateS: 0,
        period: 'D',
      }),
    ).toEqual([]);
  });
});
