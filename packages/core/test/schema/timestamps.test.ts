import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseTimestamp, tryParseTimestamp } from '../../src/schema/timestamps';

const at = (iso: string): number =>
  Date.UTC(
    Number(iso.slice(0, 4)),
    Number(iso.slice(5, 7)) - 1,
    Number(iso.slice(8, 10)),
    Number(iso.slice(11, 13)),
    Number(iso.slice(14, 16)),
    Number(iso.slice(17, 19)),
    Number(iso.slice(20, 23) || 0),
  );

describe('schema > timestamps', () => {
  it.each([
    ['2022-08-30T01:54:26.6390830Z', '2022-08-30T01:54:26.639'],
    ['2022-08-30T01:54:26Z', '2022-08-30T01:54:26.000'],
    ['2022-08-30T03:54:26+02:00', '2022-08-30T01:54:26.000'],
    ['2022-08-30T01:54:26', '2022-08-30T01:54:26.000'],
    ['8/30/2022 1:54:26 AM', '2022-08-30T01:54:26.000'],
    ['8/30/2022 1:54:26 PM', '2022-08-30T13:54:26.000'],
    ['12/31/2022 12:00:00 AM', '2022-12-31T00:00:00.000'],
    ['12/31/2022 12:00:00 PM', '2022-12-31T12:00:00.000'],
    ['2021-01-24 04:55:45.000', '2021-01-24T04:55:45.000'],
    ['2021-01-24 04:55:45.123456789', '2021-01-24T04:55:45.123'],
    ['2021-05-20 15:53:47Z', '2021-05-20T15:53:47.000'],
    ['2019-03-12T16:02:15.5522137+00:00', '2019-03-12T16:02:15.552'],
    ['2020-08-17T13:43:58.335969+00:00', '2020-08-17T13:43:58.335'],
    ['2022-08-30T01:54:26.9', '2022-08-30T01:54:26.900'],
    ['2022-08-29T20:24:26-0530', '2022-08-30T01:54:26.000'],
    ['2022-08-30T10:54:26+09', '2022-08-30T01:54:26.000'],
    ['2022-08-30', '2022-08-30T00:00:00.000'],
    ['2022-08-30T01:54', '2022-08-30T01:54:00.000'],
    ['  2022-08-30T01:54:26Z ', '2022-08-30T01:54:26.000'],
  ])('parses %s as UTC %s', (input, expected) => {
    expect(parseTimestamp(input)).toBe(at(expected));
  });

  it.each([
    [1661824466, '2022-08-30T01:54:26.000'],
    ['1661824466', '2022-08-30T01:54:26.000'],
    [1661824466.25, '2022-08-30T01:54:26.250'],
    [1661824466123, '2022-08-30T01:54:26.123'],
    ['1661824466123', '2022-08-30T01:54:26.123'],
    [1661824466123456, '2022-08-30T01:54:26.123'],
    ['1661824466123456789', '2022-08-30T01:54:26.123'],
  ])('reads epoch %p by magnitude as %s', (input, expected) => {
    expect(parseTimestamp(input)).toBe(at(expected));
  });

  it.each([
    ['redacted', 'expected ISO 8601'],
    ['...', 'expected ISO 8601'],
    ['', 'empty'],
    [0, 'outside 1990..2200'],
    [86400, 'outside 1990..2200'],
    ['1970-01-01T00:00:00Z', 'outside 1990..2200'],
    [1661824466 * 1000 * 1000 * 1000 * 1000, 'outside 1990..2200'],
    [-5, 'not a positive number'],
    ['2022-02-30T00:00:00Z', 'day 30 does not exist'],
    ['2022-13-01T00:00:00Z', 'month 13'],
    ['2022-08-30T25:00:00Z', 'not a valid time of day'],
    ['2022-08-30T01:54:26.1234567890Z', '1 to 9 digits'],
    ['2022-08-30T01:54:26+2', 'bad UTC offset'],
    ['2022-08-30T01:54:26 PST', 'unexpected'],
    ['13/30/2022 1:54:26 AM', 'month 13'],
    ['8/30/2022 13:54:26 PM', 'hour 13'],
    [null, 'null is not a timestamp'],
    [{}, 'object is not a timestamp'],
  ])('rejects %p saying why (%s)', (input, why) => {
    const r = tryParseTimestamp(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(why);
    expect(parseTimestamp(input)).toBeNull();
  });

  it('never reads local time: no local-time API in readers or schema code', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
      });
    const localApis = new RegExp(
      [
        String.raw`\b(Date\.parse|getHours|getMinutes|getDate|getDay|getMonth|getFullYear)\s*\(`,
        String.raw`\b(getTimezoneOffset|toLocale\w*|setHours|setDate)\s*\(`,
        String.raw`new Date\(\s*['"\x60]`,
      ].join('|'),
    );
    const src = join(__dirname, '../../src');
    const offenders = [...files(join(src, 'schema')), ...files(join(src, 'sources'))].filter((f) =>
      localApis.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
