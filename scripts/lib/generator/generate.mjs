// Orchestrates one run: people -> per-source entities -> moments -> records -> files + labels.

import path from 'node:path';

import { humanMoments, planIncidents, planNovelty, serviceMoments } from './activity.mjs';
import { azureSource } from './azure.mjs';
import { cloudTrailSource } from './cloudtrail.mjs';
import { duoSource } from './duo.mjs';
import {
  byTime,
  folderNames,
  hasExistingOutput,
  removeExistingOutput,
  writeLabels,
  writePhase,
} from './output.mjs';
import { buildPopulation } from './people.mjs';
import { streamFor } from './random.mjs';
import { buildCalendar, parseStartDate, phaseOf } from './time.mjs';

export const SOURCES = { duo: duoSource, azure: azureSource, cloudtrail: cloudTrailSource };

export const DEFAULTS = {
  out: 'data',
  seed: 42,
  sources: ['duo', 'azure', 'cloudtrail'],
  users: 25,
  start: '2022-08-01',
  trainingDays: 29,
  inferenceDays: 2,
  force: false,
};

export function normaliseOptions(options = {}) {
  const merged = { ...DEFAULTS, ...options };
  const sources = typeof merged.sources === 'string' ? merged.sources.split(',') : merged.sources;
  for (const name of sources) {
    if (!SOURCES[name]) throw new Error(`unknown source "${name}" (use duo, azure, cloudtrail)`);
  }
  for (const key of ['users', 'trainingDays', 'inferenceDays']) {
    if (!Number.isInteger(merged[key]) || merged[key] < 1) {
      throw new Error(`${key} must be a positive integer, got ${merged[key]}`);
    }
  }
  if (merged.users < 2) throw new Error('users must be at least 2');
  return { ...merged, sources: [...new Set(sources)], seed: String(merged.seed) };
}

/** Generates every requested source; returns one summary per source. */
export function generate(options) {
  const opts = normaliseOptions(options);
  const calendar = buildCalendar(parseStartDate(opts.start), opts.trainingDays, opts.inferenceDays);
  const people = buildPopulation(opts.seed, opts.users);
  return opts.sources.map((name) => {
    const source = SOURCES[name];
    const outDir = path.resolve(opts.out);
    if (hasExistingOutput(outDir, source)) {
      if (!opts.force) return { source: name, skipped: true, outDir };
      removeExistingOutput(outDir, source);
    }
    return generateSource(source, { ...opts, outDir, calendar, people });
  });
}

function generateSource(source, { seed, users, outDir, calendar, people }) {
  const entities = source.buildEntities(people, seed, users);
  const humans = entities.filter((entity) => entity.person);
  const { plans, anomalyPreferred } = planNovelty(
    humans,
    calendar,
    streamFor(seed, `${source.name}/plan`),
  );
  const services = entities.filter((entity) => !entity.person);
  const normal = normalRecords(source, { seed, calendar, plans, services });
  const anomalies = anomalyRecords(source, {
    seed,
    calendar,
    entities,
    preferred: anomalyPreferred,
    normalInference: normal.filter((item) => item.tMs >= calendar.trainingEndMs).length,
  });

  const all = [...normal, ...anomalies].map((item, seq) => ({ ...item, seq })).sort(byTime);
  const training = all.filter((item) => phaseOf(calendar, item.tMs) === 'training');
  const inference = all.filter((item) => phaseOf(calendar, item.tMs) === 'inference');
  const names = folderNames(source);
  const fileRng = streamFor(seed, `${source.name}/files`);
  const files = {
    training: writePhase({
      source,
      dir: path.join(outDir, names.training),
      items: training,
      fromMs: calendar.startMs,
      toMs: calendar.trainingEndMs,
      rng: fileRng,
    }),
    inference: writePhase({
      source,
      dir: path.join(outDir, names.inference),
      items: inference,
      fromMs: calendar.trainingEndMs,
      toMs: calendar.endMs,
      rng: fileRng,
    }),
  };
  writeLabels(path.join(outDir, names.labels), inference);
  return summarise(source, { outDir, names, entities, training, inference, files });
}

/** Everyday activity; each entity has its own streams so entities never disturb each other. */
function normalRecords(source, { seed, calendar, plans, services }) {
  const streams = (entity) => ({
    moments: streamFor(seed, `${source.name}/moments/${entity.id}`),
    render: streamFor(seed, `${source.name}/render/${entity.id}`),
  });
  const records = [];
  for (const plan of plans) {
    const rng = streams(plan.entity);
    const options = { burstFollow: source.burstFollow };
    const moments = humanMoments(plan, calendar, rng.moments, options);
    records.push(...renderAll(source, moments, rng.render));
  }
  for (const entity of services) {
    const rng = streams(entity);
    records.push(...renderAll(source, serviceMoments(entity, calendar, rng.moments), rng.render));
  }
  return records;
}

/** Injected incidents, all inside the inference days. */
function anomalyRecords(source, { seed, calendar, entities, preferred, normalInference }) {
  const incidents = planIncidents({
    kinds: source.incidentKinds,
    entities,
    preferred,
    calendar,
    normalCount: normalInference,
    rng: streamFor(seed, `${source.name}/incidents`),
  });
  return incidents.flatMap((incident, index) => {
    const spec = source.incidentKinds.find((k) => k.kind === incident.kind);
    const rng = streamFor(seed, `${source.name}/incident/${index}`);
    return spec
      .render(incident, calendar, rng)
      .map((item) => ({ ...item, label: 'anomaly', kind: incident.kind }));
  });
}

function renderAll(source, moments, rng) {
  return moments.map((moment) => ({ label: 'normal', ...source.renderMoment(moment, rng) }));
}

function summarise(source, { outDir, names, entities, training, inference, files }) {
  const perEntity = new Map(entities.map((entity) => [entity.id, 0]));
  for (const item of training) perEntity.set(item.entity, perEntity.get(item.entity) + 1);
  const counts = [...perEntity.values()];
  const anomalyKinds = {};
  const benignKinds = {};
  for (const item of inference) {
    const bucket = item.label === 'anomaly' ? anomalyKinds : benignKinds;
    bucket[item.kind] = (bucket[item.kind] ?? 0) + 1;
  }
  const anomalies = Object.values(anomalyKinds).reduce((sum, n) => sum + n, 0);
  return {
    source: source.name,
    skipped: false,
    outDir,
    folders: {
      training: path.join(outDir, names.training),
      inference: path.join(outDir, names.inference),
    },
    labels: path.join(outDir, names.labels),
    entities: entities.length,
    files,
    records: { training: training.length, inference: inference.length },
    anomalies,
    anomalyShare: inference.length > 0 ? anomalies / inference.length : 0,
    anomalyKinds,
    inferenceKinds: benignKinds,
    trainingPerEntity: { min: Math.min(...counts), max: Math.max(...counts) },
  };
}
