/** The model store named by `--tracking_uri`. */
import { LocalModelStore } from './local-store';
import { MlflowClient } from './mlflow-client';
import { MlflowModelStore } from './mlflow-store';
import type { ModelStore } from './types';

/**
 * `http(s)://…` is an MLflow tracking server (with `--serve-artifacts`);
 * `file:<dir>` or a plain path is the embedded local store.
 */
export function openModelStore(
  trackingUri: string,
  env: NodeJS.ProcessEnv = process.env,
): ModelStore {
  if (/^https?:\/\//i.test(trackingUri)) {
    return new MlflowModelStore(MlflowClient.fromEnv(trackingUri, env));
  }
  const dir = trackingUri.startsWith('file:')
    ? trackingUri.slice('file:'.length).replace(/^\/\/(?=\/)/, '')
    : trackingUri;
  return new LocalModelStore(dir);
}
