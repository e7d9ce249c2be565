import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

// The generator is plain ESM (.mjs) that Jest's CommonJS runtime cannot load, so it is driven
// through Node itself: the CLI for most checks and a tiny ESM snippet for the exported API.
const SCRIPT = path.resolve(__dirname, '..', 'generate-sample-data.mjs');
const SOURCES = ['duo', 'azure', 'cloudtrail'] as const;
type Source = (typeof SOURCES)[number];
type LogRecord = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Label {
  id: string;
  entity: string;
  time: string;
  label: 'normal' | 'anomaly';
  kind: string;
}

const SMALL = ['--users', '5', '--seed', '7'];
const DAY_MS = 86_400_000;
const SLOT_MS = 3 * 3_600_000;
const FILE_PATTERNS: Record<Source, RegExp> = {
  duo: /^DUO_(\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}\.\d{3}Z)\.json$/,
  azure: /^AZUREAD_(\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}\.\d{3}Z)\.json$/,
  cloudtrail:
    /^123456789012_CloudTrail_[a-z]{2}-[a-z]+-\d_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$/,
};

let tmp: string;

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function generateInto(dir: string, args: string[] = SMALL): string {
  const result = run(['--out', dir, ...args]);
  if (result.status !== 0) throw new Error(`generator failed: ${result.stderr}`);
  return result.stdout;
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .flatMap((entry) => {
      const relative = path.join(prefix, entry.name);
      return entry.isDirectory() ? listFiles(dir, relative) : [relative];
    })
    .sort();
}

function readFile(file: string): LogRecord[] {
  const bytes = fs.readFileSync(file);
  if (!file.endsWith('.gz')) return JSON.parse(bytes.toString('utf8'));
  const document = JSON.parse(zlib.gunzipSync(bytes).toString('utf8'));
  expect(Object.keys(document)).toEqual(['Records']);
  expect(Array.isArray(document.Records)).toBe(true);
  return document.Records;
}

function readPhase(out: string, source: Source, phase: 'training' | 'inference') {
  const dir = path.join(out, `${source}-${phase}-data`);
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => ({ name, records: readFile(path.join(dir, name)) }));
}

function readLabels(out: string, source: Source): Label[] {
  const text = fs.readFileSync(path.join(out, 'labels', `${source}-labels.jsonl`), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

const idOf = (source: Source, r: LogRecord): string =>
  source === 'duo' ? r.txid : source === 'azure' ? r.properties.id : r.eventID;

const timeOf = (source: Source, r: LogRecord): number =>
  Date.parse(source === 'duo' ? r.isotimestamp : source === 'azure' ? r.time : r.eventTime);

const entityOf = (source: Source, r: LogRecord): string => {
  if (source === 'duo') return r.user.name;
  if (source === 'azure') return r.properties.userPrincipalName;
  return r.userIdentity.userName ?? r.userIdentity.sessionContext.sessionIssuer.userName;
};

/** File-name stamp -> epoch ms (Morpheus style for Duo/Azure, S3 key style for CloudTrail). */
function stampMs(source: Source, stamp: string): number {
  if (source !== 'cloudtrail') return Date.parse(stamp.replace(/_/g, ':'));
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z$/.exec(stamp)!;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfp-gen-'));
  generateInto(path.join(tmp, 'a'));
  generateInto(path.join(tmp, 'b'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('generate-sample-data', () => {
  it('is deterministic: two runs with the same options give identical bytes', () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    const files = listFiles(a);
    expect(files).toEqual(listFiles(b));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(fs.readFileSync(path.join(a, file)).equals(fs.readFileSync(path.join(b, file)))).toBe(
        true,
      );
    }
  });

  it('changes the data when the seed changes', () => {
    const other = path.join(tmp, 'other-seed');
    generateInto(other, ['--users', '5', '--seed', '8', '--sources', 'duo']);
    const first = (dir: string) => readPhase(dir, 'duo', 'training')[0].records[0].txid;
    expect(first(other)).not.toEqual(first(path.join(tmp, 'a')));
  });

  it.each(SOURCES)(
    '%s: names files like the real deliveries, ~3 h slots, records sorted',
    (source) => {
      const out = path.join(tmp, 'a');
      for (const phase of ['training', 'inference'] as const) {
        const files = readPhase(out, source, phase);
        if (source !== 'cloudtrail')
          expect(files).toHaveLength(8 * (phase === 'training' ? 29 : 2));
        for (const { name, records } of files) {
          const match = FILE_PATTERNS[source].exec(name);
          expect(match).not.toBeNull();
          const slotStart = Math.floor(stampMs(source, match![1]) / SLOT_MS) * SLOT_MS;
          const times = records.map((r) => timeOf(source, r));
          expect(times).toEqual([...times].sort((x, y) => x - y));
          for (const t of times) {
            expect(t).toBeGreaterThanOrEqual(slotStart);
            expect(t).toBeLessThan(slotStart + SLOT_MS);
          }
          if (source === 'cloudtrail') {
            expect(new Set(records.map((r) => r.awsRegion)).size).toBe(1);
            expect(name).toContain(`_CloudTrail_${records[0].awsRegion}_`);
          }
        }
      }
    },
  );

  it.each(SOURCES)(
    '%s: labels cover every inference record once; anomalies only there',
    (source) => {
      const out = path.join(tmp, 'a');
      const training = readPhase(out, source, 'training').flatMap((f) => f.records);
      const inference = readPhase(out, source, 'inference').flatMap((f) => f.records);
      const labels = readLabels(out, source);
      const trainingEnd = Date.UTC(2022, 7, 30);
      expect(training.every((r) => timeOf(source, r) < trainingEnd)).toBe(true);
      expect(inference.every((r) => timeOf(source, r) >= trainingEnd)).toBe(true);
      expect(inference.every((r) => timeOf(source, r) < trainingEnd + 2 * DAY_MS)).toBe(true);

      const byId = new Map(labels.map((label) => [label.id, label]));
      expect(byId.size).toBe(labels.length);
      expect(labels).toHaveLength(inference.length);
      for (const record of inference) {
        const label = byId.get(idOf(source, record));
        expect(label).toBeDefined();
        expect(label!.entity).toBe(entityOf(source, record));
        expect(Math.abs(Date.parse(label!.time) - timeOf(source, record))).toBeLessThan(1000);
      }
      expect(training.some((record) => byId.has(idOf(source, record)))).toBe(false);
      const allIds = new Set([...training, ...inference].map((r) => idOf(source, r)));
      expect(allIds.size).toBe(training.length + inference.length);

      const anomalyKinds = new Set(labels.filter((l) => l.label === 'anomaly').map((l) => l.kind));
      expect(anomalyKinds.size).toBeGreaterThanOrEqual(3);
      for (const label of labels) {
        expect(['normal', 'anomaly']).toContain(label.label);
        if (label.label === 'normal') {
          expect([
            'normal',
            'benign_travel',
            'benign_new_device',
            'benign_rollout',
            'busy_day',
          ]).toContain(label.kind);
        }
      }
    },
  );

  it('duo: timestamp is integer epoch seconds matching isotimestamp', () => {
    const records = readPhase(path.join(tmp, 'a'), 'duo', 'training').flatMap((f) => f.records);
    for (const r of records) {
      expect(Number.isInteger(r.timestamp)).toBe(true);
      expect(r.timestamp).toBe(Math.floor(Date.parse(r.isotimestamp) / 1000));
      expect(r.isotimestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
      expect(r.event_type).toBe('authentication');
      expect(typeof r.access_device.location.city).toBe('string');
    }
  });

  it('azure and cloudtrail records carry the fields the pipelines read', () => {
    const out = path.join(tmp, 'a');
    for (const r of readPhase(out, 'azure', 'inference').flatMap((f) => f.records)) {
      expect(r.operationName).toBe('Sign-in activity');
      expect(typeof r.location).toBe('string');
      expect(r.properties.location.geoCoordinates).toHaveProperty('latitude');
      expect(r.properties.deviceDetail).toHaveProperty('browser');
      expect(r.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/);
    }
    for (const r of readPhase(out, 'cloudtrail', 'inference').flatMap((f) => f.records)) {
      expect(r.eventTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(['IAMUser', 'AssumedRole']).toContain(r.userIdentity.type);
      expect(r.recipientAccountId).toBe('123456789012');
    }
  });

  it('leaves existing output alone without --force and replaces it with --force', () => {
    const out = path.join(tmp, 'a');
    const before = fs.readFileSync(path.join(out, 'labels', 'duo-labels.jsonl'));
    const skipped = run(['--out', out, ...SMALL, '--sources', 'duo', '--seed', '99']);
    expect(skipped.status).toBe(0);
    expect(skipped.stdout).toMatch(/duo: .*skipped/);
    expect(fs.readFileSync(path.join(out, 'labels', 'duo-labels.jsonl')).equals(before)).toBe(true);

    const forced = path.join(tmp, 'forced');
    generateInto(forced, [...SMALL, '--sources', 'duo', '--seed', '99']);
    generateInto(forced, [...SMALL, '--sources', 'duo', '--force']);
    const reference = path.join(tmp, 'a', 'labels', 'duo-labels.jsonl');
    expect(fs.readFileSync(path.join(forced, 'labels', 'duo-labels.jsonl'))).toEqual(
      fs.readFileSync(reference),
    );
  });

  it('rejects unknown options', () => {
    const result = run(['--nope']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown option --nope');
  });

  it('exports generateSampleData; defaults give every entity >= 300 training records', () => {
    const out = path.join(tmp, 'defaults');
    const snippet = [
      `const { generateSampleData } = await import(${JSON.stringify(SCRIPT)});`,
      `const summaries = generateSampleData({ out: ${JSON.stringify(out)} });`,
      'console.log(JSON.stringify(summaries));',
    ].join('\n');
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', snippet], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    const summaries = JSON.parse(result.stdout);
    expect(summaries.map((s: { source: string }) => s.source)).toEqual([...SOURCES]);

    for (const source of SOURCES) {
      const training = readPhase(out, source, 'training').flatMap((f) => f.records);
      const perEntity = new Map<string, number>();
      for (const r of training)
        perEntity.set(entityOf(source, r), (perEntity.get(entityOf(source, r)) ?? 0) + 1);
      expect(perEntity.size).toBe(25);
      expect(Math.min(...perEntity.values())).toBeGreaterThanOrEqual(300);
      expect(training.length).toBeGreaterThanOrEqual(9000);
      expect(training.length).toBeLessThanOrEqual(13000);

      const labels = readLabels(out, source);
      const share = labels.filter((l) => l.label === 'anomaly').length / labels.length;
      expect(share).toBeGreaterThanOrEqual(0.04);
      expect(share).toBeLessThanOrEqual(0.06);
    }
  });
});
