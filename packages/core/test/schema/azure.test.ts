import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { applyInputSchema, applyPreprocessSchema, decodeRecords } from '../../src/schema/engine';
import { getBuiltinSource } from '../../src/schema/builtin';
import { getCells, rowObjects } from '../../src/table';
import { b15Records } from './b15-records';

const azure = getBuiltinSource('azure')!;
const INSTANT = Date.UTC(2022, 7, 30, 1, 54, 26);

describe('schema > azure', () => {
  it('reads every createdDateTime form of field case B15 as the same UTC instant', () => {
    const { table, rejects, warnings } = decodeRecords(b15Records(), azure, 'b15.json');
    expect(rejects).toEqual([]);
    expect(warnings).toEqual([]);

    const byId = new Map(rowObjects(table).map((r) => [r.id, r.timestamp]));
    expect(byId.get('b15-0')).toBe(INSTANT + 639);
    expect(byId.get('b15-1')).toBe(INSTANT);
    expect(byId.get('b15-2')).toBe(INSTANT);
    expect(byId.get('b15-3')).toBe(INSTANT);
    expect(byId.get('b15-4')).toBe(INSTANT);
    expect(byId.get('b15-5')).toBe(Date.UTC(2022, 7, 30, 1, 56, 0));
  });

  it('casts a string durationMs "0" to the number 0 in a float column', () => {
    const { table } = applyInputSchema(
      b15Records(),
      { columns: [{ name: 'durationMs', kind: 'column', type: 'float' }] },
      { source: 'b15.json' },
    );
    expect(getCells(table, 'durationMs').slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('counts per UTC day: events either side of midnight in Los Angeles share a day', () => {
    const decoded = decodeRecords(b15Records(), azure, 'b15.json').table;
    const rows = rowObjects(applyPreprocessSchema(decoded, azure.preprocess));
    const pat = rows.filter((r) => r.username === 'pat@example.com');
    expect(pat.map((r) => r.logcount)).toEqual([0, 1]);
    const olivia = rows.filter((r) => r.username === 'olivia@example.com');
    expect(olivia.map((r) => r.logcount)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(olivia.map((r) => r.appincrement)).toEqual([1, 2, 2, 2, 2, 2]);
  });

  it('gives identical output under TZ=UTC, America/Los_Angeles and Asia/Kolkata', () => {
    const probe = join(__dirname, 'tz-probe.js');
    const outputs = ['UTC', 'America/Los_Angeles', 'Asia/Kolkata'].map((tz) => {
      const run = spawnSync(process.execPath, [probe], {
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      return JSON.parse(run.stdout) as { offsetMinutes: number; parsed: number[]; rows: unknown };
    });

    // The zones really differ, so equal outputs mean no local-time code path.
    expect(outputs.map((o) => o.offsetMinutes)).toEqual([0, 420, -330]);
    expect(outputs[0].parsed).toEqual([
      INSTANT,
      Date.UTC(2022, 7, 30, 23, 54, 26),
      Date.UTC(2022, 7, 30, 23, 30),
    ]);
    expect(JSON.stringify(outputs[1].rows)).toBe(JSON.stringify(outputs[0].rows));
    expect(JSON.stringify(outputs[2].rows)).toBe(JSON.stringify(outputs[0].rows));
    expect(outputs[1].parsed).toEqual(outputs[0].parsed);
  });

  it('reads the Graph shape (no properties wrapper) into the same columns', () => {
    const exported = b15Records()[1];
    const props = exported.properties as Record<string, unknown>;
    const graph = { ...props };
    const a = rowObjects(decodeRecords([exported], azure, 'export.json').table)[0];
    const b = rowObjects(decodeRecords([graph], azure, 'graph.json').table)[0];
    expect(b).toEqual({ ...a, category: null });
    expect(b).toMatchObject({
      username: 'olivia@example.com',
      appDisplayName: 'Teams',
      deviceDetailbrowser: 'Edge 104',
      location: 'Seattle, US',
      id: 'b15-1',
    });
  });

  it('does not mistake the export top-level location string for the sign-in location', () => {
    const rec = { ...b15Records()[1], location: 'US' };
    (rec.properties as Record<string, unknown>).location = undefined;
    const row = rowObjects(decodeRecords([rec], azure, 'x.json').table)[0];
    expect(row.location).toBeNull();
  });
});
