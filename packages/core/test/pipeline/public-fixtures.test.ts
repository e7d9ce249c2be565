/**
 * The pipeline on the real public samples in shared/fixtures/public: far too
 * little per-entity history for individual models, but every record must be
 * read, and every row scored (by the generic model) or dead-lettered.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runInference } from '../../src/pipeline/infer';
import { runTraining } from '../../src/pipeline/train';
import { getBuiltinSource } from '../../src/schema/builtin';
import { tempDir, testConfig, testContext } from './helpers';

const FIXTURES = resolve(__dirname, '../../../../../shared/fixtures/public');
// The samples sit beside the checkout (../shared); a clone made elsewhere has none to read.
const describeIf = existsSync(FIXTURES) ? describe : describe.skip;

describeIf('pipeline > public fixtures', () => {
  it('trains the generic CloudTrail model and scores every usable record', async () => {
    const dir = await tempDir();
    const inputs = [join(FIXTURES, 'cloudtrail/**/*.json*')];
    const config = testConfig(dir, { source: getBuiltinSource('cloudtrail'), inputs });
    const ctx = await testContext(dir);

    const training = await runTraining(config, ctx);
    expect(training).toMatchObject({ files: 39, records: 876, rows: 858, rejected: 18 });
    expect(training.failedFiles).toEqual([]);
    const generic = training.entities.find((e) => e.entity === null);
    expect(generic).toMatchObject({
      status: 'trained',
      modelVersion: 'DFP-cloudtrail-generic_user:1',
    });
    const christophe = training.entities.find((e) => e.entity === 'christophe');
    expect(christophe).toMatchObject({
      status: 'skipped',
      reason: 'insufficient history 239 < 300',
    });

    const scoring = await runInference(
      { ...config, trainUsers: 'none', filterThreshold: 0 },
      ctx,
      inputs,
    );
    // Every record is its own row, even hand-written events that agree on every kept column:
    // the origin (file, record index) tells them apart.
    expect(scoring).toMatchObject({ rows: 858, scored: 858, deadLettered: 0, duplicates: 0 });
    expect(scoring.detections).toBe(858);
    const lines = (await readFile(config.output, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(858);
    const first = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(first.model_version).toBe('DFP-cloudtrail-generic_user:1');
    expect(Number.isFinite(first.mean_abs_z)).toBe(true);
    expect(String(first.origin_source)).toContain(join(FIXTURES, 'cloudtrail'));
    expect(Number.isInteger(first.origin_record)).toBe(true);
  });

  it('dead-letters and counts Azure and Duo rows when no model could be trained', async () => {
    for (const [name, rows] of [
      ['azure', 20],
      ['duo', 4],
    ] as const) {
      const dir = await tempDir();
      const inputs = [join(FIXTURES, name)];
      const config = testConfig(dir, { source: getBuiltinSource(name), inputs });
      const ctx = await testContext(dir);
      const training = await runTraining(config, ctx);
      expect(training.rows).toBe(rows);
      expect(training.entities.every((e) => e.status === 'skipped')).toBe(true);
      const scoring = await runInference({ ...config, trainUsers: 'none' }, ctx, inputs);
      expect(scoring).toMatchObject({ rows, scored: 0, deadLettered: rows });
    }
  });
});
