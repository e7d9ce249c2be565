#!/usr/bin/env node
// Seeded generator of synthetic Duo, Azure AD sign-in and CloudTrail logs in their native shapes,
// laid out like the Morpheus DFP example data, plus per-record labels for the inference days.
// Plain Node >= 20, no dependencies; the same options always produce the same bytes.

import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { DEFAULTS, generate } from './lib/generator/generate.mjs';

const USAGE = `Usage: node scripts/generate-sample-data.mjs [options]

  --out DIR             output folder (default ${DEFAULTS.out})
  --seed N              random seed (default ${DEFAULTS.seed})
  --sources LIST        comma-separated: duo,azure,cloudtrail (default all)
  --users N             entities per source (default ${DEFAULTS.users})
  --start YYYY-MM-DD    first training day, UTC (default ${DEFAULTS.start})
  --training-days N     days of training data (default ${DEFAULTS.trainingDays})
  --inference-days N    days right after training to hold out (default ${DEFAULTS.inferenceDays})
  --force               replace a source's existing output (its two data folders and labels)
  --help                show this help

Writes <out>/<source>-training-data/, <out>/<source>-inference-data/ and
<out>/labels/<source>-labels.jsonl (one line per inference record).`;

const INTEGER_FLAGS = {
  users: 'users',
  'training-days': 'trainingDays',
  'inference-days': 'inferenceDays',
};
const STRING_FLAGS = { out: 'out', seed: 'seed', sources: 'sources', start: 'start' };

export function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i].replace(/^--/, '').split(/=(.*)/s, 2);
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument "${argv[i]}"`);
    if (flag === 'force') options.force = true;
    else if (flag === 'help') options.help = true;
    else if (flag in INTEGER_FLAGS || flag in STRING_FLAGS) {
      const value = inline ?? argv[(i += 1)];
      if (value === undefined) throw new Error(`--${flag} needs a value`);
      if (flag in STRING_FLAGS) options[STRING_FLAGS[flag]] = value;
      else options[INTEGER_FLAGS[flag]] = parseInteger(flag, value);
    } else {
      throw new Error(`unknown option --${flag}`);
    }
  }
  return options;
}

function parseInteger(flag, value) {
  if (!/^\d+$/.test(value)) throw new Error(`--${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

/** Generates the data set; returns one summary object per requested source. */
export function generateSampleData(options = {}) {
  return generate(options);
}

export function formatSummary(summaries) {
  const lines = [];
  for (const s of summaries) {
    if (s.skipped) {
      lines.push(`${s.source}: output already present under ${s.outDir}; skipped (use --force)`);
      continue;
    }
    const kinds = Object.entries(s.anomalyKinds)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    lines.push(
      `${s.source}: ${s.entities} entities; ` +
        `files ${s.files.training} training + ${s.files.inference} inference; ` +
        `records ${s.records.training} + ${s.records.inference}; ` +
        `training records per entity ${s.trainingPerEntity.min}-${s.trainingPerEntity.max}`,
      `  anomalies ${s.anomalies} (${(s.anomalyShare * 100).toFixed(1)}% of inference): ${kinds}`,
      `  written to ${displayPath(s.outDir)}/` +
        `{${path.basename(s.folders.training)},${path.basename(s.folders.inference)},` +
        `${path.relative(s.outDir, s.labels)}}`,
    );
  }
  return lines.join('\n');
}

function displayPath(dir) {
  const relative = path.relative(process.cwd(), dir);
  return relative === '' ? '.' : relative.startsWith('..') ? dir : relative;
}

function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const started = Date.now();
  try {
    const summaries = generateSampleData(options);
    console.log(formatSummary(summaries));
    console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    console.error(`generate-sample-data: ${error.message}`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main();
}
