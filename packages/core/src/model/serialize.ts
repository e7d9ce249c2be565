/**
 * Model artifacts: a plain-JSON metadata document and the weights as one
 * float32 little-endian buffer. The metadata carries a weight manifest (name,
 * shape, byte offset, byte length of every tensor), so a loader can check the
 * buffer before trusting it. Loading validates the document's structure and
 * throws MODEL_INVALID saying what is wrong; a loaded model scores exactly
 * (bitwise) like the one that was saved.
 */
import { DfpError, ErrorCodes } from '../errors';
import { activeBackend } from './backend';
import {
  type Autoencoder,
  FORMAT_VERSION,
  type ModelFeature,
  type ModelMetadata,
  createAutoencoder,
  modelWeights,
} from './autoencoder';
import { type FeatureKind, embeddingSize } from './features';
import { type ParamSpec, networkShape, paramSpecs } from './network';
import { resolveOptions } from './options';

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  byteOffset: number;
  byteLength: number;
}

export type SerializedMetadata = ModelMetadata & { weights: WeightEntry[] };

export interface SerializedModel {
  metadata: SerializedMetadata;
  weights: Uint8Array;
}

const BYTES_PER_FLOAT = 4;
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function invalid(
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): DfpError {
  return new DfpError(ErrorCodes.MODEL_INVALID, `model artifact is invalid: ${message}`, {
    cause,
    details,
  });
}

function toLittleEndian(bytes: Uint8Array): Uint8Array {
  if (littleEndian) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    out[i] = bytes[i + 3];
    out[i + 1] = bytes[i + 2];
    out[i + 2] = bytes[i + 1];
    out[i + 3] = bytes[i];
  }
  return out;
}

/** Metadata (JSON-safe) and weights of a live model. */
export function serializeModel(model: Autoencoder): SerializedModel {
  const tensors = modelWeights(model);
  const specs = paramSpecsOf(model.metadata);
  const entries: WeightEntry[] = [];
  let offset = 0;
  specs.forEach((spec, i) => {
    const byteLength = tensors[i].size * BYTES_PER_FLOAT;
    entries.push({ ...spec, dtype: 'float32', byteOffset: offset, byteLength });
    offset += byteLength;
  });
  const weights = new Uint8Array(offset);
  tensors.forEach((t, i) => {
    const values = t.dataSync() as Float32Array;
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    weights.set(toLittleEndian(bytes), entries[i].byteOffset);
  });
  // A deep copy, so later edits of either side cannot leak into the other.
  const metadata = JSON.parse(JSON.stringify({ ...model.metadata, weights: entries }));
  return { metadata, weights };
}

function paramSpecsOf(metadata: ModelMetadata): ParamSpec[] {
  const categoricals = metadata.features.filter((f) => f.kind === 'categorical').map((f) => f.name);
  return paramSpecs(metadata.network, categoricals);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid(`${where} is ${JSON.stringify(value)}, expected a finite number`, { where });
  }
  return value;
}

const KINDS: FeatureKind[] = ['numeric', 'binary', 'categorical'];

function checkFeature(raw: unknown, i: number): ModelFeature {
  const where = `features[${i}]`;
  if (!isRecord(raw) || typeof raw.name !== 'string' || !KINDS.includes(raw.kind as FeatureKind)) {
    throw invalid(`${where} needs a string name and a kind (${KINDS.join(', ')})`, { where });
  }
  const calibration = raw.calibration;
  if (!isRecord(calibration)) throw invalid(`${where}.calibration is missing`, { where });
  const cal = {
    mean: finite(calibration.mean, `${where}.calibration.mean`),
    std: finite(calibration.std, `${where}.calibration.std`),
  };
  if (cal.std <= 0) throw invalid(`${where}.calibration.std must be > 0`, { where });
  const name = raw.name;
  if (raw.kind === 'numeric') {
    const std = finite(raw.std, `${where}.std`);
    if (std <= 0) throw invalid(`${where}.std must be > 0`, { where });
    return {
      name,
      kind: 'numeric',
      mean: finite(raw.mean, `${where}.mean`),
      std,
      calibration: cal,
    };
  }
  if (raw.kind === 'binary') return { name, kind: 'binary', calibration: cal };
  const categories = raw.categories;
  if (!Array.isArray(categories) || categories.some((c) => typeof c !== 'string')) {
    throw invalid(`${where}.categories must be an array of strings`, { where });
  }
  const embeddingDim = finite(raw.embeddingDim, `${where}.embeddingDim`);
  if (embeddingDim !== embeddingSize(categories.length + 1)) {
    throw invalid(
      `${where}.embeddingDim ${embeddingDim} does not fit ${categories.length} categories`,
      {
        where,
      },
    );
  }
  return { name, kind: 'categorical', categories: [...categories], embeddingDim, calibration: cal };
}

/** Validates a parsed metadata document and returns it typed. */
export function parseMetadata(raw: unknown): SerializedMetadata {
  let doc = raw;
  if (typeof doc === 'string' || doc instanceof Uint8Array) {
    const text = typeof doc === 'string' ? doc : new TextDecoder().decode(doc);
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw invalid(`metadata is not valid JSON (${(err as Error).message})`, {}, err);
    }
  }
  if (!isRecord(doc)) throw invalid('metadata must be a JSON object');
  if (doc.formatVersion !== FORMAT_VERSION) {
    throw invalid(
      `unknown formatVersion ${JSON.stringify(doc.formatVersion)}; this build reads version ` +
        `${FORMAT_VERSION} (retrain the model or upgrade)`,
      { formatVersion: doc.formatVersion },
    );
  }
  if (!Array.isArray(doc.features) || doc.features.length === 0) {
    throw invalid('features must be a non-empty array');
  }
  const features = doc.features.map(checkFeature);
  const kinds = features.map((f) => KINDS.indexOf(f.kind));
  if (kinds.some((k, i) => i > 0 && k < kinds[i - 1])) {
    throw invalid('features must be ordered numeric, then binary, then categorical');
  }
  if (!isRecord(doc.options)) throw invalid('options are missing');
  let options;
  try {
    options = resolveOptions(doc.options);
  } catch (err) {
    throw invalid(`options: ${(err as Error).message}`, {}, err);
  }
  if (!isRecord(doc.training)) throw invalid('training summary is missing');
  // The network follows from features and options; a stored one must agree.
  const network = networkShape(features, options);
  if (JSON.stringify(doc.network) !== JSON.stringify(network)) {
    throw invalid('network does not match the features and options');
  }
  if (!Array.isArray(doc.weights)) throw invalid('weights manifest is missing');
  return {
    ...(doc as unknown as SerializedMetadata),
    features,
    options,
    network,
  };
}

/** Index of the first NaN or ±Infinity, or −1. */
function firstNonFinite(values: Float32Array): number {
  // x − x is 0 for every finite x and NaN otherwise: one cheap pass, then a search.
  let acc = 0;
  for (let k = 0; k < values.length; k++) acc += values[k] - values[k];
  if (acc === 0) return -1;
  return values.findIndex((v) => !Number.isFinite(v));
}

/** Rebuilds a model from `serializeModel` output (e.g. read back from a store). */
export function deserializeModel(artifact: {
  metadata: unknown;
  weights: Uint8Array;
}): Autoencoder {
  if (activeBackend() === undefined) {
    // Creating tensors now would silently pick tfjs's default (often the slow cpu backend).
    throw new DfpError(
      ErrorCodes.MODEL_BACKEND_UNAVAILABLE,
      'no ML backend is initialised; await initBackend() once at startup before loading models',
    );
  }
  if (!isRecord(artifact)) throw invalid('artifact must be { metadata, weights }');
  const metadata = parseMetadata(artifact.metadata);
  const weights = artifact.weights;
  if (!(weights instanceof Uint8Array)) throw invalid('weights must be a Uint8Array');

  const expected = paramSpecsOf(metadata);
  const manifest = metadata.weights;
  if (manifest.length !== expected.length) {
    throw invalid(
      `weights manifest lists ${manifest.length} tensors, the network has ${expected.length}`,
    );
  }
  const views: Float32Array[] = [];
  expected.forEach((spec, i) => {
    const entry = manifest[i] as Partial<WeightEntry> | undefined;
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (
      !isRecord(entry) ||
      entry.name !== spec.name ||
      JSON.stringify(entry.shape) !== JSON.stringify(spec.shape) ||
      entry.dtype !== 'float32' ||
      entry.byteLength !== size * BYTES_PER_FLOAT ||
      typeof entry.byteOffset !== 'number' ||
      !Number.isInteger(entry.byteOffset) ||
      entry.byteOffset < 0
    ) {
      throw invalid(
        `weights manifest entry ${i} should be ${spec.name} float32 [${spec.shape.join(', ')}]`,
        { entry: i },
      );
    }
    const end = entry.byteOffset + entry.byteLength;
    if (end > weights.byteLength) {
      throw invalid(
        `weights are truncated: ${spec.name} needs bytes ${entry.byteOffset}–${end}, ` +
          `the buffer has ${weights.byteLength}`,
        { tensor: spec.name, needed: end, actual: weights.byteLength },
      );
    }
    // Copy: the tensor must not alias the caller's buffer, and offsets may be unaligned.
    const bytes = toLittleEndian(weights.slice(entry.byteOffset, end));
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, size);
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      throw invalid(`weight tensor ${spec.name} holds a non-finite value at ${bad}`, {
        tensor: spec.name,
      });
    }
    views.push(values);
  });
  const total = manifest.reduce((sum, e) => sum + e.byteLength, 0);
  if (total !== weights.byteLength) {
    throw invalid(
      `weights buffer has ${weights.byteLength} bytes, the manifest describes ${total}`,
    );
  }
  const plain: ModelMetadata = {
    formatVersion: metadata.formatVersion,
    features: metadata.features,
    network: metadata.network,
    options: metadata.options,
    training: metadata.training,
  };
  // Tensors are made when the model first needs them (ONNX Runtime scoring never does).
  return createAutoencoder(plain, { values: views, shapes: expected.map((e) => [...e.shape]) });
}
