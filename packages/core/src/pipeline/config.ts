/** The one configuration the training and inference pipelines run from. */
import type { TrainUsers } from '../entities/split';
import type { AutoencoderOptions } from '../model';
import type { SourceDefinition } from '../schema/types';
import type { S3Settings } from '../sources/s3';
import type { TrainingWindowOptions } from '../window/rolling-window';

export interface PipelineConfig {
  source: SourceDefinition;
  /** Files, directories or globs to read: training input, or scoring input with trainUsers none. */
  inputs: string[];
  /** Starter mode: files to score after training, in the same run. */
  inferenceInputs: string[];
  trainUsers: TrainUsers;
  skipUsers: string[];
  onlyUsers: string[];
  /** Inclusive file-time bounds, UTC epoch ms; null = open. */
  startTime: number | null;
  endTime: number | null;
  sampleRateS: number;
  period: 'D' | null;
  /** Null disables the batch cache. */
  cacheDir: string | null;
  trackingUri: string;
  filterThreshold: number;
  /** Each feature's |z| is capped at this in `mean_abs_z`; Infinity = no cap (Morpheus). */
  zCap: number;
  /** Detections file (.csv or .jsonl). */
  output: string;
  rejectsFile: string;
  deadLetterFile: string;
  window: Omit<TrainingWindowOptions, 'timestampColumn'>;
  model: Partial<AutoencoderOptions>;
  /** Most models kept in memory while scoring. */
  modelCacheSize: number;
  /** Scoring: how long a model version lookup (and the registry listing) is trusted. */
  modelRefreshMs: number;
  /** Parallel trainers (worker threads). */
  workers: number;
  /** Keep polling the inputs for new files (`--watch_inputs`) every `watchIntervalMs`. */
  watchInputs: boolean;
  watchIntervalMs: number;
  /** Draw a progress bar while training (terminals only). */
  progress: boolean;
  /** Object storage for `s3://` inputs and outputs. */
  s3: S3Settings;
}
