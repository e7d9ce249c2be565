// Writes records into delivery files (one per ~3 h slot) and the inference labels.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { buildSlots, cloudTrailStamp, fileStamp, isoMs } from './time.mjs';

export function folderNames(source) {
  return {
    training: `${source.name}-training-data`,
    inference: `${source.name}-inference-data`,
    labels: path.join('labels', `${source.name}-labels.jsonl`),
  };
}

/** True when either of the source's data folders exists and holds something. */
export function hasExistingOutput(outDir, source) {
  const names = folderNames(source);
  return [names.training, names.inference].some((name) => {
    const dir = path.join(outDir, name);
    return fs.existsSync(dir) && fs.readdirSync(dir).length > 0;
  });
}

export function removeExistingOutput(outDir, source) {
  const names = folderNames(source);
  for (const name of [names.training, names.inference, names.labels]) {
    fs.rmSync(path.join(outDir, name), { recursive: true, force: true });
  }
}

export function byTime(a, b) {
  return a.tMs - b.tMs || a.sub - b.sub || a.seq - b.seq;
}

/**
 * Writes one phase (training or inference) of a source; `items` are sorted by time.
 * Returns the number of files written.
 */
export function writePhase({ source, dir, items, fromMs, toMs, rng }) {
  fs.mkdirSync(dir, { recursive: true });
  const slots = buildSlots(fromMs, toMs, rng);
  let cursor = 0;
  let files = 0;
  for (const slot of slots) {
    const start = cursor;
    while (cursor < items.length && items[cursor].tMs < slot.endMs) cursor += 1;
    const records = items.slice(start, cursor).map((item) => item.record);
    files +=
      source.format === 'cloudtrail'
        ? writeCloudTrailSlot(source, dir, slot, records, rng)
        : writeJsonArray(
            path.join(dir, `${source.filePrefix}_${fileStamp(slot.nameMs)}.json`),
            records,
          );
  }
  return files;
}

/** One record per line inside the array keeps the files valid JSON and easy to grep. */
function writeJsonArray(file, records) {
  const body =
    records.length === 0 ? '[]' : `[\n${records.map((r) => JSON.stringify(r)).join(',\n')}\n]`;
  fs.writeFileSync(file, `${body}\n`);
  return 1;
}

/** A trail delivers one object per region per interval, and nothing for an idle region. */
function writeCloudTrailSlot(source, dir, slot, records, rng) {
  const regions = [...new Set(records.map((r) => r.awsRegion))].sort();
  for (const region of regions) {
    const Records = records.filter((r) => r.awsRegion === region);
    const name =
      `${source.accountId}_CloudTrail_${region}_${cloudTrailStamp(slot.nameMs)}_` +
      `${rng.base62(16)}.json.gz`;
    const gz = zlib.gzipSync(JSON.stringify({ Records }), { level: 6 });
    fs.writeFileSync(path.join(dir, name), gz);
  }
  return regions.length;
}

export function writeLabels(file, items) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lines = items.map((item) =>
    JSON.stringify({
      id: item.id,
      entity: item.entity,
      time: isoMs(item.tMs),
      label: item.label,
      kind: item.kind,
    }),
  );
  fs.writeFileSync(file, lines.length > 0 ? `${lines.join('\n')}\n` : '');
}
