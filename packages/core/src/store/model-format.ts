/**
 * How a model is laid out as files, in every store: an `MLmodel` document
 * naming our flavor, `model.json` (the metadata document: features, scalers,
 * categories, calibration, hyper-parameters) and `weights.bin` (float32).
 * Any process with `@dfp/core` can load it; loading checks the flavor and its
 * format version and refuses what it cannot read.
 */
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DfpError, ErrorCodes } from '../errors';
import type { ModelArtifact } from './types';

export const FLAVOR = 'dfp_autoencoder';
export const FLAVOR_FORMAT_VERSION = 1;
export const MLMODEL_FILE = 'MLmodel';
export const METADATA_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
/** Folder of the model inside a run's artifacts. */
export const ARTIFACT_PATH = 'model';

function packageVersion(): string {
  try {
    // Two levels up from src/store or dist/store is the package root.
    return (require(join(__dirname, '..', '..', 'package.json')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export const PACKAGE_VERSION = packageVersion();

export interface PackedModel {
  [MLMODEL_FILE]: string;
  [METADATA_FILE]: string;
  [WEIGHTS_FILE]: Uint8Array;
}

/** The files of a model. */
export function packModel(
  artifact: ModelArtifact,
  info: { runId?: string; createdAt?: Date } = {},
): PackedModel {
  const mlmodel = {
    artifact_path: ARTIFACT_PATH,
    flavors: {
      [FLAVOR]: {
        format_version: FLAVOR_FORMAT_VERSION,
        package: '@dfp/core',
        package_version: PACKAGE_VERSION,
        metadata: METADATA_FILE,
        weights: WEIGHTS_FILE,
      },
    },
    ...(info.runId ? { run_id: info.runId } : {}),
    utc_time_created: (info.createdAt ?? new Date()).toISOString(),
  };
  return {
    [MLMODEL_FILE]: toYaml(mlmodel),
    [METADATA_FILE]: JSON.stringify(artifact.metadata),
    [WEIGHTS_FILE]: artifact.weights,
  };
}

function invalid(origin: string, why: string, cause?: unknown): DfpError {
  return new DfpError(ErrorCodes.MODEL_INVALID, `cannot load model ${origin}: ${why}`, {
    cause,
    details: { model: origin },
  });
}

/** Checks the MLmodel document and returns the artifact; `origin` names the model in errors. */
export function unpackModel(
  files: { mlmodel: string; metadata: string; weights: Uint8Array },
  origin: string,
): ModelArtifact {
  let doc: unknown;
  try {
    doc = parseYaml(files.mlmodel);
  } catch (err) {
    throw invalid(origin, `MLmodel is not YAML (${(err as Error).message})`, err);
  }
  const flavors = (doc as { flavors?: Record<string, unknown> } | null)?.flavors;
  const flavor = flavors?.[FLAVOR] as { format_version?: unknown } | undefined;
  if (!flavor) {
    const found = flavors ? Object.keys(flavors).join(', ') || 'none' : 'none';
    throw invalid(origin, `MLmodel has no ${FLAVOR} flavor (found: ${found})`);
  }
  if (flavor.format_version !== FLAVOR_FORMAT_VERSION) {
    throw invalid(
      origin,
      `${FLAVOR} format version ${String(flavor.format_version)} is not supported ` +
        `(this @dfp/core ${PACKAGE_VERSION} reads version ${FLAVOR_FORMAT_VERSION}); ` +
        'upgrade @dfp/core or retrain the model',
    );
  }
  let metadata: unknown;
  try {
    metadata = JSON.parse(files.metadata);
  } catch (err) {
    throw invalid(origin, `${METADATA_FILE} is not JSON (${(err as Error).message})`, err);
  }
  return { metadata, weights: files.weights };
}
