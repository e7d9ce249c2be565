#!/usr/bin/env node
/**
 * Compares scored rows with the generator's labels and prints detection quality:
 * recall per anomaly kind, precision, false-positive rate on normal rows, and
 * ROC AUC of mean_abs_z (when every row was written, e.g. --filter_threshold 0).
 *
 *   node scripts/evaluate.mjs --scores out/scores.jsonl --labels data/labels/duo-labels.jsonl \
 *     [--threshold 2.0]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Minimal RFC 4180 reader: quoted cells, doubled quotes, newlines in quotes. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (ch !== '\r') cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

export function readRows(path) {
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.csv')) return parseCsv(text);
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/** ROC AUC by the rank-sum statistic (ties share ranks). */
export function rocAuc(scores, positives) {
  const order = scores.map((s, i) => [s, i]).sort((a, b) => a[0] - b[0]);
  const ranks = new Array(scores.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = rank;
    i = j + 1;
  }
  let pos = 0;
  let rankSum = 0;
  positives.forEach((p, i) => {
    if (p) {
      pos++;
      rankSum += ranks[i];
    }
  });
  const neg = scores.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * The highest recall reachable with a false-positive rate of at most `maxFpr`:
 * the threshold is swept over the scores (a row is flagged when its score is at
 * least the threshold, ties flagged together). Compares detectors at one alert
 * budget, whatever their own thresholds are.
 */
export function recallAtFpr(scores, positives, maxFpr) {
  const order = scores.map((s, i) => [s, positives[i]]).sort((a, b) => b[0] - a[0]);
  const pos = positives.filter(Boolean).length;
  const neg = positives.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  let tp = 0;
  let fp = 0;
  let best = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j][0] === order[i][0]) {
      if (order[j][1]) tp++;
      else fp++;
      j++;
    }
    if (fp / neg > maxFpr) break;
    best = tp / pos;
    i = j;
  }
  return best;
}

/** Quality figures of scored rows against labels, matched on the event id. */
export function evaluate(scoredRows, labels, threshold, budgetFpr) {
  const byId = new Map(labels.map((l) => [String(l.id), l]));
  const scored = new Map();
  for (const row of scoredRows) {
    const id = String(row.detection_id ?? '').replace(/^[^:]*:/, '');
    scored.set(id, Number(row.mean_abs_z));
  }
  const kinds = {};
  let tp = 0;
  let fp = 0;
  let normals = 0;
  let anomalies = 0;
  const allScores = [];
  const allLabels = [];
  for (const label of labels) {
    const score = scored.get(String(label.id));
    const flagged = score !== undefined && score >= threshold;
    if (label.label === 'anomaly') {
      anomalies++;
      const k = (kinds[label.kind] ??= { total: 0, found: 0 });
      k.total++;
      if (flagged) {
        k.found++;
        tp++;
      }
    } else {
      normals++;
      if (flagged) fp++;
    }
    if (score !== undefined) {
      allScores.push(score);
      allLabels.push(label.label === 'anomaly');
    }
  }
  const complete = allScores.length === labels.length;
  return {
    rows: labels.length,
    anomalies,
    threshold,
    recall: anomalies ? tp / anomalies : NaN,
    precision: tp + fp ? tp / (tp + fp) : NaN,
    falsePositiveRate: normals ? fp / normals : NaN,
    rocAuc: complete ? rocAuc(allScores, allLabels) : null,
    ...(budgetFpr === undefined
      ? {}
      : { recallAtBudget: complete ? recallAtFpr(allScores, allLabels, budgetFpr) : null }),
    recallByKind: Object.fromEntries(
      Object.entries(kinds).map(([k, v]) => [k, `${v.found}/${v.total}`]),
    ),
    unknownIds: [...scored.keys()].filter((id) => !byId.has(id)).length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      scores: { type: 'string' },
      labels: { type: 'string' },
      threshold: { type: 'string', default: '2.0' },
    },
  });
  if (!values.scores || !values.labels) {
    console.error(
      'usage: evaluate.mjs --scores <csv|jsonl> --labels <labels.jsonl> [--threshold 2.0]',
    );
    process.exit(2);
  }
  const result = evaluate(
    readRows(values.scores),
    readRows(values.labels),
    Number(values.threshold),
  );
  console.log(JSON.stringify(result, null, 2));
}
