/**
 * The model store interface shared by the local directory store and (later)
 * MLflow. A registered model has numbered versions; each version holds one
 * artifact (model metadata document + weights) and tags.
 */

export interface ModelArtifact {
  /** JSON document describing the model (features, scalers, calibration...). */
  metadata: unknown;
  /** Raw weights, float32 little-endian, laid out as the metadata says. */
  weights: Uint8Array;
}

export interface VersionTags {
  /** First and last event time of the training window (UTC ISO 8601). */
  start: string;
  end: string;
  /** Rows in the training window. */
  count: string;
  [key: string]: string;
}

export type VersionStatus = 'READY' | 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION';

export interface ModelVersionInfo {
  name: string;
  version: number;
  status: VersionStatus;
  tags: VersionTags;
  /** Creation time, UTC epoch ms. */
  createdAt: number;
}

/** What a registration is about, for stores that keep training runs (MLflow). */
export interface RegisterContext {
  source: string;
  /** Null for the generic model. */
  entity: string | null;
}

export interface ModelStore {
  /** Where the store lives, e.g. `file:/abs/dir` or `http://mlflow:5000`. */
  readonly uri: string;
  /** Registers a new version of `name` (creating the model when needed). */
  register(
    name: string,
    artifact: ModelArtifact,
    tags: VersionTags,
    context?: RegisterContext,
  ): Promise<ModelVersionInfo>;
  /** The newest READY version, or null when the model has none. */
  latest(name: string): Promise<ModelVersionInfo | null>;
  /** The artifact of a version. */
  load(name: string, version: number): Promise<ModelArtifact>;
  /** Names of every registered model. */
  list(): Promise<string[]>;
  /** Every version of a model, oldest first. */
  versions(name: string): Promise<ModelVersionInfo[]>;
}
