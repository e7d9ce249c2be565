/** Small steps shared by training and inference. */
import { applyPreprocessSchema } from '../schema/engine';
import type { RecordReject, SourceDefinition } from '../schema/types';
import { type Table, columnNames, columnOf, withColumns } from '../table';
import { batchFiles, dateFiles, type FileBatch } from '../batching/file-batcher';
import { DfpError, ErrorCodes } from '../errors';
import { openSink } from '../sinks/open';
import type { RowSink } from '../sinks/types';
import type { Logger } from '../logging';
import type { PipelineConfig } from './config';
import { type S3Objects, s3Objects } from '../sources/s3';
import { expandInputs, inputInfo } from './inputs';
import type { LoadedBatch } from './load';
import type { RunReport } from './report';

/** The window with the preprocessing schema's columns written over or added to it. */
export function preprocess(window: Table, source: SourceDefinition): Table {
  const processed = applyPreprocessSchema(window, source.preprocess);
  return withColumns(
    window,
    columnNames(processed).map((name) => columnOf(processed, name)),
  );
}

/** Input files grouped into batches, after the time window and sampling. */
export async function planBatches(
  config: PipelineConfig,
  inputs: string[],
): Promise<{ files: number; batches: FileBatch[] }> {
  return planFileBatches(config, await expandInputs(inputs, objectsOf(config)));
}

/** The S3 client of a configuration (made on first use, shared). */
export function objectsOf(config: PipelineConfig): S3Objects {
  return s3Objects(config.s3 ?? {}, config.cacheDir);
}

/** Files grouped into batches, after the time window and sampling. */
export async function planFileBatches(
  config: PipelineConfig,
  paths: string[],
): Promise<{ files: number; batches: FileBatch[] }> {
  const objects = objectsOf(config);
  const dated = await dateFiles(paths, async (p) => (await inputInfo(p, objects)).mtimeMs);
  const batches = batchFiles(dated, {
    startTime: config.startTime,
    endTime: config.endTime,
    sampleRateS: config.sampleRateS,
    period: config.period,
  });
  if (batches.length === 0) {
    const times = dated.map((f) => f.time).sort((a, b) => a - b);
    const iso = (ms: number | null, open: string) =>
      ms === null ? open : new Date(ms).toISOString();
    const span = `${iso(times[0], '?')} .. ${iso(times[times.length - 1], '?')}`;
    const window = `${iso(config.startTime, '-inf')} .. ${
      config.endTime === null ? '+inf' : new Date(config.endTime).toISOString()
    }`;
    throw new DfpError(
      ErrorCodes.INPUT_NO_FILES,
      `none of the ${paths.length} input files falls in the time window ${window} ` +
        `(their dates span ${span}); adjust --start_time/--duration`,
    );
  }
  return { files: batches.reduce((n, b) => n + b.files.length, 0), batches };
}

/** Adds a loaded batch's counts to the report and writes its rejects. */
export async function accountBatch(
  report: RunReport,
  batch: LoadedBatch,
  rejectsSink: RowSink,
  logger?: Logger,
): Promise<void> {
  report.batches += 1;
  if (batch.fromCache) report.cachedBatches += 1;
  report.records += batch.records;
  report.rows += batch.table.numRows;
  report.rejected += batch.rejects.length;
  report.warnings += batch.warnings.length;
  for (const w of batch.warnings) {
    report.warningKinds[w.message] = (report.warningKinds[w.message] ?? 0) + 1;
  }
  report.emptyFiles.push(...batch.emptyFiles);
  report.failedFiles.push(...batch.failedFiles);
  for (const f of batch.emptyFiles) logger?.warn({ file: f.path }, 'empty file skipped');
  if (batch.failedFiles.length > 0) {
    // A whole file that could not be read is a reject too, so the rejects file is complete.
    for (const f of batch.failedFiles)
      logger?.error({ file: f.path, reason: f.reason }, 'file not read');
    await rejectsSink.write(
      batch.failedFiles.map((f) => ({
        source: f.path,
        index: null,
        field: null,
        reason: f.reason,
        record: null,
      })),
    );
    report.outputs.rejects = rejectsSink.currentPath;
  }
  if (batch.rejects.length > 0) {
    await rejectsSink.write(batch.rejects.map(rejectRow));
    report.outputs.rejects = rejectsSink.currentPath;
  }
  await rejectsSink.flush?.();
}

/** The detections, rejects and dead-letter sinks a configuration names (files or S3). */
export function sinkFor(
  config: PipelineConfig,
  kind: 'detections' | 'rejects' | 'dead-letters',
): RowSink {
  const ts = config.source.timestampColumn;
  const path =
    kind === 'detections'
      ? config.output
      : kind === 'rejects'
        ? config.rejectsFile
        : config.deadLetterFile;
  return openSink(
    {
      path,
      name: `dfp-${kind}-${config.source.name}`,
      timeOf: (row) =>
        kind === 'dead-letters' ? (row.row as Record<string, unknown> | undefined)?.[ts] : row[ts],
    },
    () => objectsOf(config),
  );
}

function rejectRow(reject: RecordReject): Record<string, unknown> {
  return {
    source: reject.source,
    index: reject.index,
    field: reject.field,
    reason: reject.reason,
    record: reject.record ?? null,
  };
}

/** Window key for an entity; the generic model's key can never be an entity id. */
export function windowKey(entity: string | null): string {
  return entity === null ? '\u0000generic' : `e:${entity}`;
}
