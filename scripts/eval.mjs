#!/usr/bin/env node
/**
 * `pnpm eval`: detection quality on labelled generated data, per source.
 *
 * For each source: generate a month of training logs and two labelled
 * inference days (scripts/generate-sample-data.mjs, seeded), train every
 * entity's model and the generic one, score every inference row
 * (`--filter_threshold 0`, so each row's scores are written), then compare
 * with the labels. One JSON line per source on stdout: recall per anomaly
 * kind, precision, false-positive rate on normal rows and ROC AUC of
 * mean_abs_z, side by side with a plain per-entity never-seen-before rule on
 * the same rows; a table on stderr. Both are also compared at one alert budget:
 * the recall each reaches while flagging at most --budget_fpr (2%) of normal rows.
 *
 *   node scripts/eval.mjs [--sources duo,azure,cloudtrail] [--users 25] [--seed dfp-sample]
 *     [--threshold 2.0] [--budget_fpr 0.02] [--work .cache/eval] [--full_scores DIR]
 *     [-- <dfp options>]
 *
 * Options after `--` go to every `dfp` run (e.g. `-- --epochs 10 --learning_rate 0.01`),
 * which is how hyper-parameters are compared. --full_scores keeps every row's
 * scores as DIR/<source>-scores.jsonl.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluate, readRows } from './evaluate.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'packages/core/dist');
const require = createRequire(join(ROOT, 'packages/core/package.json'));

function parseOptions() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        sources: { type: 'string', default: 'duo,azure,cloudtrail' },
        users: { type: 'string', default: '25' },
        seed: { type: 'string' },
        threshold: { type: 'string', default: '2.0' },
        budget_fpr: { type: 'string', default: '0.02' },
        work: { type: 'string', default: join(ROOT, '.cache/eval') },
        full_scores: { type: 'string' },
      },
    });
  } catch (err) {
    process.stderr.write(`eval: ${err.message}\n`);
    process.exit(2);
  }
}

const { values: args, positionals: dfpArgs } = parseOptions();

function log(message) {
  process.stderr.write(`eval: ${message}\n`);
}

const SOURCES = ['duo', 'azure', 'cloudtrail'];

/** A bad option or a failed step, already explained: one line, no stack trace. */
class EvalError extends Error {
  constructor(message, exitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Checks every option before anything runs (exit status 2 when one is wrong). */
function checkOptions() {
  const sources = args.sources.split(',').map((s) => s.trim());
  const unknown = sources.filter((s) => !SOURCES.includes(s));
  if (unknown.length > 0 || sources.length === 0) {
    throw new EvalError(`unknown source ${unknown.join(', ')}; use ${SOURCES.join(', ')}`, 2);
  }
  if (!/^\d+$/.test(args.users) || Number(args.users) < 2) {
    throw new EvalError(`--users must be a whole number ≥ 2, got ${args.users}`, 2);
  }
  const threshold = Number(args.threshold);
  if (args.threshold.trim() === '' || !Number.isFinite(threshold) || threshold < 0) {
    throw new EvalError(`--threshold must be a number ≥ 0, got ${args.threshold}`, 2);
  }
  const budget = Number(args.budget_fpr);
  if (args.budget_fpr.trim() === '' || !(budget >= 0 && budget <= 1)) {
    throw new EvalError(`--budget_fpr must be a number from 0 to 1, got ${args.budget_fpr}`, 2);
  }
  return { sources, threshold, budget };
}

/** Runs a child whose stderr the user already sees; a failure becomes one line. */
function runStep(what, argv) {
  try {
    execFileSync(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    const why = err.status !== null ? `exit status ${err.status}` : `signal ${err.signal}`;
    throw new EvalError(`${what} failed (${why}); its own message is above`, 1);
  }
}

/** Generated logs for one source, made once per settings and reused. */
function dataFor(work, source) {
  const data = join(work, `data-u${args.users}-s${args.seed ?? 'default'}`);
  if (!existsSync(join(data, 'labels', `${source}-labels.jsonl`))) {
    log(`generating ${source} logs for ${args.users} entities in ${data}`);
    runStep(`generating ${source} logs`, [
      join(ROOT, 'scripts/generate-sample-data.mjs'),
      '--out',
      data,
      '--sources',
      source,
      '--users',
      args.users,
      ...(args.seed ? ['--seed', args.seed] : []),
    ]);
  }
  return data;
}

/** Trains and scores every inference row; returns the scores file and timings. */
function trainAndScore(work, source, data) {
  const tag = createHash('sha256')
    .update(JSON.stringify([source, data, dfpArgs]))
    .digest('hex');
  const run = join(work, 'runs', `${source}-${tag.slice(0, 12)}`);
  rmSync(run, { recursive: true, force: true });
  mkdirSync(run, { recursive: true });
  const scores = join(run, 'scores.jsonl');
  const started = performance.now();
  runStep(`dfp on ${source} (training, then scoring every row)`, [
    join(DIST, 'cli/main.js'),
    `--source=${source}`,
    '--train_users=all',
    `--input_file=${join(data, `${source}-training-data`)}`,
    `--inference_file=${join(data, `${source}-inference-data`)}`,
    `--tracking_uri=file:${join(run, 'models')}`,
    `--cache_dir=${join(run, 'cache')}`,
    `--output=${scores}`,
    '--filter_threshold=0',
    '--log_level=WARNING',
    '--no_progress',
    ...dfpArgs,
  ]);
  return { scores, seconds: (performance.now() - started) / 1000, run };
}

/** Reads a source's decoded records (entity, categorical features) through the core package. */
async function decoded(sourceName, dir) {
  const { loadSourceDefinition } = require(join(DIST, 'schema/loader.js'));
  const { loadBatch } = require(join(DIST, 'pipeline/load.js'));
  const { getStrings, hasColumn } = require(join(DIST, 'table/index.js'));
  const source = await loadSourceDefinition(sourceName);
  const files = readdirSync(dir)
    .sort()
    .map((f) => join(dir, f));
  const { table } = await loadBatch(files, source, null);
  // The rule looks at every categorical feature and at the inputs of the
  // distinct-count features (location, application, source IP).
  const stringFeatures = source.preprocess.columns
    .filter((c) => source.features.includes(c.name) && c.type === 'string')
    .map((c) => c.name);
  const distinctInputs = source.preprocess.columns
    .filter((c) => c.kind === 'distinct_increment')
    .map((c) => c.input);
  const columns = [...new Set([...stringFeatures, ...distinctInputs])].filter((c) =>
    hasColumn(table, c),
  );
  return {
    source,
    columns,
    entities: getStrings(table, source.entityColumn),
    values: columns.map((c) => getStrings(table, c)),
    ids: source.eventIdColumn ? getStrings(table, source.eventIdColumn) : [],
  };
}

/**
 * The never-seen-before rule: a row's score is how many of its categorical
 * values its entity never had in training; it is flagged when that is ≥ 1.
 */
async function neverSeenBefore(sourceName, data, labels, budget) {
  const training = await decoded(sourceName, join(data, `${sourceName}-training-data`));
  const seen = new Map();
  training.entities.forEach((entity, r) => {
    if (entity === null) return;
    let sets = seen.get(entity);
    if (!sets) seen.set(entity, (sets = training.columns.map(() => new Set())));
    training.values.forEach((col, c) => sets[c].add(col[r]));
  });
  const inference = await decoded(sourceName, join(data, `${sourceName}-inference-data`));
  const rows = inference.entities.map((entity, r) => {
    const sets = seen.get(entity);
    let novel = 0;
    inference.values.forEach((col, c) => {
      if (!sets || !sets[c].has(col[r])) novel += 1;
    });
    return { detection_id: `${sourceName}:${inference.ids[r]}`, mean_abs_z: novel };
  });
  return { ...evaluate(rows, labels, 1, budget), features: training.columns };
}

function fixed(x, digits = 3) {
  return x === null || Number.isNaN(x) ? null : Number(x.toFixed(digits));
}

function summary(result) {
  return {
    roc_auc: fixed(result.rocAuc),
    recall: fixed(result.recall),
    precision: fixed(result.precision),
    false_positive_rate: fixed(result.falsePositiveRate, 4),
    recall_by_kind: result.recallByKind,
    recall_at_fpr_budget: fixed(result.recallAtBudget),
  };
}

async function main() {
  const work = resolve(args.work);
  mkdirSync(work, { recursive: true });
  const { sources, threshold, budget } = checkOptions();
  const table = [];
  for (const source of sources) {
    const data = dataFor(work, source);
    const labels = readRows(join(data, 'labels', `${source}-labels.jsonl`));
    log(`${source}: training every entity and the generic model, scoring every inference row`);
    const { scores, seconds } = trainAndScore(work, source, data);
    const model = evaluate(readRows(scores), labels, threshold, budget);
    const rule = await neverSeenBefore(source, data, labels, budget);
    if (model.rocAuc === null || model.unknownIds > 0) {
      throw new Error(
        `${source}: ${labels.length} labelled rows but the scores cover ` +
          `${model.rows - (model.rocAuc === null ? 1 : 0)} (unknown ids ${model.unknownIds}); ` +
          `see ${scores}`,
      );
    }
    if (args.full_scores) {
      mkdirSync(args.full_scores, { recursive: true });
      copyFileSync(scores, join(args.full_scores, `${source}-scores.jsonl`));
    }
    const line = {
      figure: 'quality',
      source,
      rows: model.rows,
      anomalies: model.anomalies,
      threshold,
      fpr_budget: budget,
      model: summary(model),
      never_seen_before: { ...summary(rule), features: rule.features },
      train_and_score_s: fixed(seconds, 1),
      entities: Number(args.users),
      dfp_options: dfpArgs,
    };
    process.stdout.write(JSON.stringify(line) + '\n');
    table.push(line);
  }
  const pad = (v, n) => String(v).padEnd(n);
  log('');
  const atBudget = `recall@${(100 * budget).toFixed(1)}%FPR`;
  log(
    `${pad('source', 11)}${pad('', 18)}${pad('AUC', 7)}${pad('recall', 8)}${pad('FPR', 8)}` +
      atBudget,
  );
  for (const t of table) {
    for (const [name, s] of [
      ['autoencoder', t.model],
      ['never-seen-before', t.never_seen_before],
    ]) {
      log(
        `${pad(t.source, 11)}${pad(name, 18)}${pad(s.roc_auc, 7)}` +
          `${pad(s.recall, 8)}${pad(s.false_positive_rate, 8)}${s.recall_at_fpr_budget}`,
      );
    }
  }
}

main().catch((err) => {
  if (err instanceof EvalError) {
    process.stderr.write(`eval: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`eval: ${err.stack ?? err}\n`);
  process.exit(1);
});
