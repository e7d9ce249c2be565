import { applyPreprocessSchema, decodeRecords } from '../../src/schema/engine';
import { getBuiltinSource } from '../../src/schema/builtin';
import { getCells, rowObjects } from '../../src/table';

const duo = getBuiltinSource('duo')!;
const FILE = 'duo_2022-08-30.json';
const USERS = ['paula', 'quinn', 'ravi', 'sara'].map((u) => `${u}@example.com`);
const EPOCH = 1661824466; // 2022-08-30T01:54:26Z

type Rec = Record<string, unknown> & { access_device: Record<string, unknown> };

/** Field case B16: 40 Duo records for 4 users with every kind of drift. */
function b16Records(): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < 40; i++) {
    const ts = EPOCH - 3600 + i * 60;
    out.push({
      access_device: {
        browser: i % 2 ? 'Chrome' : 'Edge',
        os: 'Windows',
        ip: `198.51.100.${i + 1}`,
        location: { city: 'Austin', state: 'Texas', country: 'United States' },
      },
      application: { key: 'DIAPP', name: 'VPN' },
      auth_device: { name: `+1 555 010${i % 4}` },
      event_type: 'authentication',
      factor: 'duo_push',
      reason: 'user_approved',
      result: 'success',
      timestamp: ts,
      txid: `tx-${i}`,
      user: { name: USERS[i % 4] },
    });
  }
  for (let i = 0; i < 5; i++) {
    out[i].alias = USERS[i % 4].split('@')[0];
    out[i].isotimestamp = `2022-08-30T0${i}:10:00.000000+00:00`;
  }
  for (const i of [10, 11, 12]) delete out[i].access_device.browser;
  for (const i of [20, 21]) out[i].access_device.location = {};
  out[30].result = 'fraud';
  out[30].reason = 'user_marked_fraud';
  out[31].result = 'FAILURE';
  out[38].timestamp = EPOCH;
  out[39].timestamp = EPOCH;
  return out;
}

describe('schema > duo', () => {
  it('ingests all 40 drifted records of field case B16', () => {
    const { table, rejects, warnings } = decodeRecords(b16Records(), duo, FILE);

    expect(rejects).toEqual([]);
    expect(table.numRows).toBe(40);
    expect(warnings).toHaveLength(2);
    expect(warnings).toContainEqual({
      source: FILE,
      index: null,
      field: null,
      message: 'unknown fields: alias',
    });
    const failure = warnings.find((w) => w.field === 'result');
    expect(failure).toMatchObject({ source: FILE, index: 31, field: 'result' });
    expect(failure?.message).toContain('"FAILURE"');
    expect(failure?.message).toContain('read as false');
  });

  it('maps drifted values to one missing value and never to success', () => {
    const rows = rowObjects(decodeRecords(b16Records(), duo, FILE).table);
    const byTx = new Map(rows.map((r) => [r.txid, r]));

    for (const i of [10, 11, 12]) expect(byTx.get(`tx-${i}`)?.accessdevicebrowser).toBeNull();
    for (const i of [20, 21]) expect(byTx.get(`tx-${i}`)?.location).toBeNull();
    expect(byTx.get('tx-0')?.location).toBe('Austin, Texas, United States');
    expect(byTx.get('tx-30')?.result).toBe(false);
    expect(byTx.get('tx-31')?.result).toBe(false);
    expect(rows.filter((r) => r.result === true)).toHaveLength(38);
    expect(JSON.stringify(rows)).not.toMatch(/undefined|None|nan|"null|, ,|, "|"Null/);
  });

  it('reads integer timestamps as epoch seconds and prefers isotimestamp', () => {
    const rows = rowObjects(decodeRecords(b16Records(), duo, FILE).table);
    const byTx = new Map(rows.map((r) => [r.txid, r]));

    expect(byTx.get('tx-38')?.timestamp).toBe(EPOCH * 1000);
    expect(byTx.get('tx-39')?.timestamp).toBe(Date.UTC(2022, 7, 30, 1, 54, 26));
    expect(byTx.get('tx-3')?.timestamp).toBe(Date.UTC(2022, 7, 30, 3, 10));
    for (const r of rows) {
      expect(new Date(r.timestamp as number).toISOString().slice(0, 10)).toMatch(
        /^2022-08-(29|30)$/,
      );
    }
    const times = rows.map((r) => r.timestamp as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('gives the features the model expects, counting a missing location as a value', () => {
    const decoded = decodeRecords(b16Records(), duo, FILE).table;
    const features = applyPreprocessSchema(decoded, duo.preprocess);
    for (const f of duo.features) expect(getCells(features, f)).toHaveLength(40);

    const rows = rowObjects(features);
    // All of ravi's 10 records fall on 2022-08-30 (UTC): counted 0..9 in time order.
    const ravi = rows.filter((r) => r.username === 'ravi@example.com');
    expect(ravi.map((r) => r.logcount)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // paula's tx-16 still has the usual location; tx-20 has none, a second value.
    const loc = (tx: string) => rows.find((r) => r.txid === tx)?.locincrement;
    expect([loc('tx-16'), loc('tx-20'), loc('tx-24')]).toEqual([1, 2, 2]);
  });

  it('rejects a record without user.name, naming the field', () => {
    const rec = b16Records()[0];
    delete (rec as { user?: unknown }).user;
    const { table, rejects } = decodeRecords([rec], duo, FILE, { firstIndex: 7 });

    expect(table.numRows).toBe(0);
    expect(rejects).toEqual([
      expect.objectContaining({
        source: FILE,
        index: 7,
        field: 'username',
        reason: 'missing user.name',
      }),
    ]);
  });

  it('rejects a record whose time is missing or unparseable', () => {
    const noTime = { user: { name: 'x' }, result: 'success' };
    const badTime = { user: { name: 'x' }, isotimestamp: 'soon' };
    const { rejects } = decodeRecords([noTime, badTime], duo, FILE);

    expect(rejects.map((r) => [r.index, r.field])).toEqual([
      [0, 'timestamp'],
      [1, 'timestamp'],
    ]);
    expect(rejects[0].reason).toBe('missing: none of isotimestamp, timestamp is present');
    expect(rejects[1].reason).toContain('unparseable isotimestamp "soon"');
  });
});
