/**
 * The per-entity autoencoder: backend selection, training, scoring and
 * (de)serialisation. The only part of the code base that imports TensorFlow.js.
 */
export { BACKENDS, BACKEND_ENV, activeBackend, initBackend, liveTensorCount } from './backend';
export type { BackendName, BackendRequest } from './backend';
export { ACTIVATIONS, DEFAULT_AUTOENCODER_OPTIONS, OPTIMIZERS, resolveOptions } from './options';
export type { Activation, AutoencoderOptions, OptimizerName } from './options';
export {
  MISSING_CATEGORY,
  OTHER_CATEGORY,
  categoriesOf,
  embeddingSize,
  encodeRows,
  fitFeatures,
} from './features';
export type {
  BinaryFeature,
  CategoricalFeature,
  EncodedRows,
  FeatureKind,
  FeatureSpec,
  NumericFeature,
} from './features';
export { MIN_STD, fitStandard, populationStats, roundHalfEven } from './scalers';
export type { StandardParams } from './scalers';
export { applySwapNoise, swapCount } from './swap-noise';
export { createRng } from './rng';
export type { Rng } from './rng';
export { FORMAT_VERSION } from './autoencoder';
export type {
  Autoencoder,
  LossCalibration,
  ModelFeature,
  ModelMetadata,
  ScoreOptions,
  TrainingSummary,
} from './autoencoder';
export { trainAutoencoder } from './train';
export {
  SCORING_ENGINES,
  SCORING_ENGINE_ENV,
  onnxModelBytes,
  prepareScoring,
  scoringEngine,
  sessionPlacement,
  sessionsOnWorker,
  setScoringEngine,
  stopSessionWorker,
} from './onnx';
export type { ScoringEngineRequest } from './onnx';
export type { EpochInfo, TrainingHooks } from './train';
export { deserializeModel, parseMetadata, serializeModel } from './serialize';
export type { SerializedMetadata, SerializedModel, WeightEntry } from './serialize';
export { createTrainerPool } from './trainer-pool';
export type { TrainerPool, TrainerPoolOptions, TrainingJob } from './trainer-pool';
