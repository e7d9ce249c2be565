import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isDfpError } from '../../src/errors';
import { parseRecords, readRecords } from '../../src/sources/files';

const dir = mkdtempSync(join(tmpdir(), 'dfp-files-'));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const err: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected a rejection');
  return err;
}

const A = { id: 'a' };
const B = { id: 'b' };

describe('sources > files', () => {
  it.each([
    ['a JSON array', JSON.stringify([A, B]), 'json-array'],
    ['JSON Lines', `${JSON.stringify(A)}\n${JSON.stringify(B)}\n`, 'json-lines'],
    ['CloudTrail Records', JSON.stringify({ Records: [A, B] }), 'cloudtrail-records'],
    [
      'a Graph page',
      JSON.stringify({ '@odata.context': 'x', '@odata.nextLink': 'y', value: [A, B] }),
      'graph-value',
    ],
    [
      'a Duo v2 response',
      JSON.stringify({
        response: { authlogs: [A, B], metadata: { total_objects: 2 } },
        stat: 'OK',
      }),
      'duo-response',
    ],
    ['a Duo v1 response', JSON.stringify({ response: [A, B], stat: 'OK' }), 'duo-response'],
    [
      'Duo response pages',
      JSON.stringify([
        { authlogs: [A], metadata: {} },
        { authlogs: [], metadata: {} },
        { authlogs: [B] },
      ]),
      'duo-pages',
    ],
    ['a pretty-printed array', JSON.stringify([A, B], null, 2), 'json-array'],
  ])('reads %s', async (_name, content, layout) => {
    const r = await readRecords(file(`${layout}-${_name.length}.json`, content));
    expect(r.layout).toBe(layout);
    expect(r.records).toEqual([A, B]);
    expect(r.indices).toEqual(layout === 'json-lines' ? [0, 1] : [0, 1]);
    expect(r.rejects).toEqual([]);
  });

  it('reads a single pretty-printed or one-line object as one record', () => {
    const pretty = parseRecords(JSON.stringify({ a: { b: 1 } }, null, 2), 'one.json');
    const oneLine = parseRecords(JSON.stringify({ a: 1 }) + '\n', 'one.json');
    expect([pretty.layout, pretty.records]).toEqual(['single-record', [{ a: { b: 1 } }]]);
    expect([oneLine.layout, oneLine.records]).toEqual(['single-record', [{ a: 1 }]]);
  });

  it('does not unwrap an object that only happens to have a value field', () => {
    const r = parseRecords(JSON.stringify({ value: [1, 2], name: 'metric' }), 'm.json');
    expect(r.records).toEqual([{ value: [1, 2], name: 'metric' }]);
  });

  it('keeps good JSON Lines, rejecting bad lines by line index and skipping blank ones', () => {
    const text = [
      JSON.stringify(A),
      '',
      '{"id": "broken"',
      '   ',
      '42',
      JSON.stringify(B) + '\r',
      '',
    ].join('\n');
    const r = parseRecords(text, 'x.jsonl');
    expect(r.records).toEqual([A, B]);
    expect(r.indices).toEqual([0, 5]);
    expect(r.rejects.map((x) => [x.source, x.index, x.field])).toEqual([
      ['x.jsonl', 2, null],
      ['x.jsonl', 4, null],
    ]);
    expect(r.rejects[0].reason).toBe(
      'invalid JSON at column 16 (position 15): unexpected end of input',
    );
    expect(r.rejects[1].reason).toBe('record is not a JSON object (found number)');
  });

  it('treats a file whose first line is broken but others are objects as JSON Lines', () => {
    const r = parseRecords(`{"id":\n${JSON.stringify(B)}\n`, 'x.jsonl');
    expect(r.records).toEqual([B]);
    expect(r.rejects.map((x) => x.index)).toEqual([0]);
  });

  it('rejects non-object entries of an array by their position', () => {
    const r = parseRecords(JSON.stringify([A, 3, null, [B], 'x', B]), 'arr.json');
    expect(r.records).toEqual([A, B]);
    expect(r.indices).toEqual([0, 5]);
    expect(r.rejects.map((x) => [x.index, x.reason])).toEqual([
      [1, 'record is not a JSON object (found number)'],
      [2, 'record is not a JSON object (found null)'],
      [3, 'record is not a JSON object (found array)'],
      [4, 'record is not a JSON object (found string)'],
    ]);
  });

  it('numbers flattened Duo pages continuously', () => {
    const pages = [
      { authlogs: [A, 5], metadata: {} },
      { authlogs: [B], metadata: {} },
    ];
    const r = parseRecords(JSON.stringify(pages), 'duo.json');
    expect(r.indices).toEqual([0, 2]);
    expect(r.rejects.map((x) => x.index)).toEqual([1]);
  });

  it('detects gzip by its magic bytes, whatever the name', async () => {
    const gz = gzipSync(JSON.stringify({ Records: [A, B] }));
    const named = await readRecords(file('trail.json.gz', gz));
    const unnamed = await readRecords(file('trail-no-extension', gz));
    const fromBytes = await readRecords('s3://bucket/trail.json', new Uint8Array(gz));
    for (const r of [named, unnamed, fromBytes]) expect(r.records).toEqual([A, B]);
    expect(fromBytes.source).toBe('s3://bucket/trail.json');
    const plainNamedGz = await readRecords(file('plain.json.gz', JSON.stringify([A])));
    expect(plainNamedGz.records).toEqual([A]);
  });

  it('strips a byte-order mark', () => {
    expect(parseRecords('\ufeff' + JSON.stringify([A]), 'bom.json').records).toEqual([A]);
    expect(
      parseRecords('\ufeff' + JSON.stringify(A) + '\n' + JSON.stringify(B), 'b.jsonl').records,
    ).toEqual([A, B]);
  });

  it('reads [] as zero records, successfully (B20 b)', async () => {
    const r = await readRecords(file('empty-array.json', '[]'));
    expect(r.records).toEqual([]);
    expect(r.rejects).toEqual([]);
    const page = parseRecords('{"response":{"authlogs":[],"metadata":{}},"stat":"OK"}', 'p.json');
    expect(page.records).toEqual([]);
  });

  it.each([
    ['zero-byte', ''],
    ['whitespace-only', ' \n\t\r\n'],
  ])('reports a %s file as empty, naming it (B20 c)', async (name, content) => {
    const path = file(`${name}.json`, content);
    const err = await failure(readRecords(path));
    expect(isDfpError(err, 'DFP_ERR_INPUT_MALFORMED')).toBe(true);
    expect(err.message).toBe(`empty file ${path}`);
  });

  it('reports an empty gzip file as empty', async () => {
    const path = file('empty.json.gz', gzipSync(Buffer.alloc(0)));
    expect((await failure(readRecords(path))).message).toBe(`empty file ${path}`);
  });

  it('names the file and the position of invalid JSON', async () => {
    const path = file('bad.json', '[\n  {"a": 1},\n  {"b": }\n]');
    const err = await failure(readRecords(path));
    expect(isDfpError(err, 'DFP_ERR_INPUT_MALFORMED')).toBe(true);
    expect(err.message).toBe(
      `invalid JSON in ${path} at line 3 column 9 (position 22): unexpected "}"`,
    );
  });

  it('refuses text that is not JSON at all', () => {
    expect(() => parseRecords('time,user\n1,a\n', 'data.csv')).toThrow(
      /data\.csv is not a JSON array, JSON object or JSON Lines file \(starts with "time,user/,
    );
  });

  it('refuses a corrupt gzip file with a clear error', async () => {
    const gz = gzipSync(JSON.stringify([A]));
    const path = file('cut.json.gz', gz.subarray(0, gz.length - 8));
    const err = await failure(readRecords(path));
    expect(isDfpError(err, 'DFP_ERR_INPUT_MALFORMED')).toBe(true);
    expect(err.message).toContain(`cannot decompress gzip file ${path}`);
  });

  it('turns a Duo API error response into an error, not records', () => {
    const doc = { stat: 'FAIL', code: 40301, message: 'Access forbidden', response: null };
    expect(() => parseRecords(JSON.stringify(doc), 'duo.json')).toThrow(
      'duo.json holds a Duo API error response (stat FAIL: 40301 Access forbidden), not logs',
    );
  });

  it('reports a missing file as unreadable', async () => {
    const path = join(dir, 'absent.json');
    const err = await failure(readRecords(path));
    expect(isDfpError(err, 'DFP_ERR_INPUT_UNREADABLE')).toBe(true);
    expect(err.message).toContain(path);
  });
});
