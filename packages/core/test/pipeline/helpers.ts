import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/logging';
import { initBackend } from '../../src/model';
import type { PipelineConfig } from '../../src/pipeline/config';
import type { PipelineContext } from '../../src/pipeline/train';
import { getBuiltinSource } from '../../src/schema/builtin';
import { LocalModelStore } from '../../src/store/local-store';

export const HOUR = 3_600_000;

/** A Duo authlog v2 record. */
export function duoRecord(
  user: string,
  time: number,
  overrides: { browser?: string; os?: string; city?: string; phone?: string; result?: string } = {},
): Record<string, unknown> {
  return {
    txid: `${user}-${time}`,
    isotimestamp: new Date(time).toISOString().replace('Z', '+00:00'),
    timestamp: Math.floor(time / 1000),
    user: { name: user, key: `DU${user.length}` },
    access_device: {
      browser: overrides.browser ?? 'Chrome',
      os: overrides.os ?? 'Mac OS X',
      location: { city: overrides.city ?? 'Austin', state: 'Texas', country: 'United States' },
    },
    auth_device: { name: overrides.phone ?? `+1 555 ${user.length}` },
    application: { name: 'VPN' },
    result: overrides.result ?? 'success',
    reason: overrides.result === 'denied' ? 'user_mistake' : 'user_approved',
    event_type: 'authentication',
    factor: 'duo_push',
  };
}

/** `count` records per user spread over `days` days from `start`, a few per hour. */
export function duoHistory(users: string[], start: number, count: number, days: number) {
  const records: Record<string, unknown>[] = [];
  for (const user of users) {
    for (let i = 0; i < count; i++) {
      // Evenly spread, so no two rows of a user are identical.
      const t = start + Math.floor((i * days * 24 * HOUR) / count) + user.length * 1000;
      records.push(duoRecord(user, t, { browser: i % 3 === 0 ? 'Mobile Safari' : 'Chrome' }));
    }
  }
  return records.sort((a, b) => (a.timestamp as number) - (b.timestamp as number));
}

export async function tempDir(prefix = 'dfp-pipe-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes records as a Morpheus-named daily Duo file and returns its path. */
export async function writeDuoFile(dir: string, day: string, records: unknown[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `DUO_${day}T00_00_00.000Z.json`);
  await writeFile(path, JSON.stringify(records));
  return path;
}

/** A small, fast configuration over a temp directory. */
export function testConfig(dir: string, overrides: Partial<PipelineConfig> = {}): PipelineConfig {
  return {
    source: getBuiltinSource('duo'),
    inputs: [],
    inferenceInputs: [],
    trainUsers: 'all',
    skipUsers: [],
    onlyUsers: [],
    startTime: null,
    endTime: null,
    sampleRateS: 0,
    period: 'D',
    cacheDir: join(dir, 'cache'),
    trackingUri: `file:${join(dir, 'models')}`,
    filterThreshold: 2,
    zCap: 5,
    output: join(dir, 'out', 'detections.jsonl'),
    rejectsFile: join(dir, 'out', 'rejects.jsonl'),
    deadLetterFile: join(dir, 'out', 'dead.jsonl'),
    window: { minHistory: 300, minIncrement: 300, maxHistoryMs: 60 * 24 * HOUR },
    model: { encoderLayers: [16, 8], decoderLayers: [16], epochs: 3, validationSize: 0 },
    modelCacheSize: 10,
    modelRefreshMs: 600_000,
    workers: 1,
    watchInputs: false,
    watchIntervalMs: 1000,
    progress: false,
    ...overrides,
  };
}

export async function testContext(dir: string): Promise<PipelineContext> {
  await initBackend();
  return { logger: silentLogger(), store: new LocalModelStore(join(dir, 'models')) };
}
