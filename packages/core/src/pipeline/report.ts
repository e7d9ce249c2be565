/** Run summaries: what was read, rejected, trained, scored and detected. */
import type { FileProblem } from './load';

export interface EntityOutcome {
  /** Entity id, or null for the generic model. */
  entity: string | null;
  status: 'trained' | 'skipped' | 'failed';
  reason?: string;
  modelVersion?: string;
  rows?: number;
  epochs?: number;
  finalLoss?: number;
  durationMs?: number;
  /** Time spent fitting (without preprocessing and registration). */
  trainingMs?: number;
}

/** What a Kafka consumer saw. */
export interface StreamStats {
  /** Messages handled (each holds one record or several). */
  messages: number;
  /** Times the consumer (re)joined its group. */
  groupJoins: number;
  /** Partitions whose offset was out of range and was reset, in order. */
  offsetResets: { topic: string; partition: number; to: 'earliest' | 'latest' }[];
}

/** What a watcher saw. */
export interface WatchStats {
  polls: number;
  /** Files and objects processed (recorded in the ledger). */
  processed: number;
  /** Attempts that failed and were left for the next poll (e.g. unreadable for a while). */
  retried: number;
  /** Files given up after `maxAttempts` failures of the same version (recorded as failed). */
  givenUp: number;
  /** Of those processed, dated before one processed earlier. */
  late: number;
  /** Left for a later poll because they were still changing. */
  deferred: number;
}

export interface RunReport {
  mode: 'training' | 'inference';
  source: string;
  files: number;
  batches: number;
  cachedBatches: number;
  emptyFiles: FileProblem[];
  failedFiles: FileProblem[];
  /** Records found in the inputs. */
  records: number;
  /** Records turned into rows. */
  rows: number;
  rejected: number;
  warnings: number;
  /** Warning counts by message with the record-specific parts left out. */
  warningKinds: Record<string, number>;
  /** Rows dropped because the same row had already been read. */
  duplicates: number;
  /** Rows of entities left out by --skip_user / --only_user. */
  filtered: number;
  /** Training. */
  entities: EntityOutcome[];
  trainingRows: number;
  trainingMs: number;
  /** Inference. */
  scored: number;
  deadLettered: number;
  detections: number;
  scoringMs: number;
  /** Where things were written. */
  outputs: { detections?: string; rejects?: string; deadLetters?: string };
  /** Kafka runs only. */
  stream?: StreamStats;
  /** `--watch_inputs` runs only. */
  watch?: WatchStats;
}

export function emptyReport(mode: RunReport['mode'], source: string): RunReport {
  return {
    mode,
    source,
    files: 0,
    batches: 0,
    cachedBatches: 0,
    emptyFiles: [],
    failedFiles: [],
    records: 0,
    rows: 0,
    rejected: 0,
    warnings: 0,
    warningKinds: {},
    duplicates: 0,
    filtered: 0,
    entities: [],
    trainingRows: 0,
    trainingMs: 0,
    scored: 0,
    deadLettered: 0,
    detections: 0,
    scoringMs: 0,
    outputs: {},
  };
}

/** True when some part of the run failed (a file, an entity's training, rows not scored). */
export function hasFailures(report: RunReport): boolean {
  return (
    report.failedFiles.length > 0 ||
    report.deadLettered > 0 ||
    report.entities.some((e) => e.status === 'failed')
  );
}

function entityLabel(entity: string | null): string {
  return entity === null ? 'generic model (all entities)' : entity;
}

/** A human summary, a line per fact. */
export function formatReport(report: RunReport): string {
  const lines: string[] = [];
  const title = report.mode === 'training' ? 'Training' : 'Inference';
  lines.push(`${title} summary (${report.source})`);
  lines.push(
    `  files: ${report.files} in ${report.batches} batch(es), ${report.cachedBatches} from cache` +
      (report.emptyFiles.length ? `, ${report.emptyFiles.length} empty skipped` : '') +
      (report.failedFiles.length ? `, ${report.failedFiles.length} FAILED` : ''),
  );
  for (const f of report.failedFiles) lines.push(`    failed: ${f.path}: ${f.reason}`);
  for (const f of report.emptyFiles) lines.push(`    empty: ${f.path}`);
  if (report.watch) {
    const w = report.watch;
    lines.push(
      `  watch: ${w.polls} polls, ${w.processed} files processed (${w.late} late), ` +
        `${w.deferred} deferred while still changing, ${w.retried} retried, ` +
        `${w.givenUp} given up`,
    );
  }
  if (report.stream) {
    const { stream } = report;
    lines.push(
      `  stream: ${stream.messages} messages, ${stream.groupJoins} group join(s), ` +
        `${stream.offsetResets.length} offset(s) out of range`,
    );
    for (const r of stream.offsetResets) {
      lines.push(`    offset out of range on ${r.topic}/${r.partition}: reset to ${r.to}`);
    }
  }
  lines.push(
    `  records: ${report.records} read, ${report.rows} used, ${report.rejected} rejected` +
      (report.duplicates ? `, ${report.duplicates} duplicate rows ignored` : '') +
      (report.filtered ? `, ${report.filtered} rows of skipped entities` : '') +
      (report.warnings ? `, ${report.warnings} warnings` : ''),
  );
  const kinds = Object.entries(report.warningKinds).sort((a, b) => b[1] - a[1]);
  for (const [message, count] of kinds.slice(0, 5)) lines.push(`    warning x${count}: ${message}`);
  if (kinds.length > 5) lines.push(`    … and ${kinds.length - 5} other kinds of warning`);
  if (report.rejected > 0 && report.outputs.rejects) {
    lines.push(`    rejects written to ${report.outputs.rejects}`);
  }
  if (report.mode === 'training') {
    const trained = report.entities.filter((e) => e.status === 'trained');
    const skipped = report.entities.filter((e) => e.status === 'skipped');
    const failed = report.entities.filter((e) => e.status === 'failed');
    const rate = report.trainingMs > 0 ? (report.trainingRows / report.trainingMs) * 1000 : 0;
    lines.push(
      `  models: ${trained.length} trained, ${skipped.length} skipped, ${failed.length} failed` +
        ` (${report.trainingRows} rows x epochs in ${(report.trainingMs / 1000).toFixed(1)} s,` +
        ` ${Math.round(rate)} rows/s)`,
    );
    for (const e of trained) {
      lines.push(
        `    trained ${entityLabel(e.entity)}: ${e.modelVersion}, ` +
          `${e.rows} rows, ${e.epochs} epochs`,
      );
    }
    for (const e of skipped) lines.push(`    skipped ${entityLabel(e.entity)}: ${e.reason}`);
    for (const e of failed) lines.push(`    FAILED ${entityLabel(e.entity)}: ${e.reason}`);
  } else {
    const rate = report.scoringMs > 0 ? (report.scored / report.scoringMs) * 1000 : 0;
    lines.push(
      `  scored: ${report.scored} rows (${Math.round(rate)} rows/s), ` +
        `${report.deadLettered} dead-lettered, ${report.detections} detections`,
    );
    if (report.detections > 0 && report.outputs.detections) {
      lines.push(`  detections: ${report.outputs.detections}`);
    } else {
      lines.push('  detections: none, so no detections file was written');
    }
    if (report.deadLettered > 0 && report.outputs.deadLetters) {
      lines.push(`  dead letters: ${report.outputs.deadLetters}`);
    }
  }
  return lines.join('\n');
}
