/**
 * TensorFlow.js backend selection. `tensorflow` (native, from the optional
 * `@tensorflow/tfjs-node-gpu`) is loaded through a runtime require inside
 * try/catch, so CPU-only machines and the TypeScript build never need it.
 * `wasm` is the recommended CPU backend; `cpu` (pure JS) is a slow last resort.
 * See shared/reference/ml-runtime.md.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { DfpError, ErrorCodes } from '../errors';

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendRequest, 'auto'>;

/** Environment variable naming the backend when the caller names none. */
export const BACKEND_ENV = 'DFP_ML_BACKEND';

const INSTALL_HINT: Record<BackendName, string> = {
  tensorflow:
    'install @tensorflow/tfjs-node-gpu@4.22.0 with its libtensorflow (CUDA 11.2, cuDNN 8.1), ' +
    `or set ${BACKEND_ENV}=wasm`,
  wasm: `install @tensorflow/tfjs-backend-wasm@4.22.0, or set ${BACKEND_ENV}=cpu`,
  cpu: 'reinstall @tensorflow/tfjs@4.22.0',
};

let active: BackendName | undefined;
let pending: Promise<BackendName> | undefined;

function requestedFromEnv(): BackendRequest | undefined {
  const raw = process.env[BACKEND_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = raw.trim().toLowerCase();
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new DfpError(
      ErrorCodes.CONFIG_INVALID,
      `${BACKEND_ENV} is ${JSON.stringify(raw)}; expected one of ${BACKENDS.join(', ')}`,
      { details: { env: BACKEND_ENV, value: raw } },
    );
  }
  return value as BackendRequest;
}

async function load(name: BackendName): Promise<void> {
  if (name === 'tensorflow') {
    // The native binding registers the `tensorflow` backend when it loads.
    createRequire(__filename)('@tensorflow/tfjs-node-gpu');
  } else if (name === 'wasm') {
    // In Node the wasm binaries are read from the package's own dist folder.
    await import('@tensorflow/tfjs-backend-wasm');
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}

async function choose(requested: BackendRequest): Promise<BackendName> {
  if (requested !== 'auto') {
    try {
      await load(requested);
      return requested;
    } catch (err) {
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new DfpError(
        ErrorCodes.MODEL_BACKEND_UNAVAILABLE,
        `ML backend ${requested} cannot be loaded (${why}); ${INSTALL_HINT[requested]}`,
        { cause: err, details: { backend: requested } },
      );
    }
  }
  const failures: string[] = [];
  for (const candidate of ['tensorflow', 'wasm', 'cpu'] as const) {
    try {
      await load(candidate);
      return candidate;
    } catch (err) {
      failures.push(
        `${candidate}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      );
    }
  }
  throw new DfpError(
    ErrorCodes.MODEL_BACKEND_UNAVAILABLE,
    `no ML backend could be loaded (${failures.join('; ')}); ${INSTALL_HINT.wasm}`,
    { details: { failures } },
  );
}

/**
 * Selects and initialises the backend and returns its name. With no argument,
 * `DFP_ML_BACKEND` decides, else `auto` (tensorflow, then wasm, then cpu).
 * An explicit backend that cannot load throws MODEL_BACKEND_UNAVAILABLE rather
 * than falling back. Calling again is cheap: `auto` keeps whatever is active,
 * and naming a different backend switches to it.
 */
export async function initBackend(requested?: BackendRequest): Promise<string> {
  const wanted = requested ?? requestedFromEnv() ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(wanted)) {
    throw new DfpError(
      ErrorCodes.CONFIG_INVALID,
      `ML backend ${JSON.stringify(wanted)} is unknown; expected one of ${BACKENDS.join(', ')}`,
      { details: { backend: wanted } },
    );
  }
  while (pending) await pending.catch(() => undefined);
  if (active !== undefined && (wanted === 'auto' || wanted === active)) return active;

  pending = choose(wanted);
  try {
    active = await pending;
    return active;
  } finally {
    pending = undefined;
  }
}

/** The backend chosen by `initBackend`, if any. */
export function activeBackend(): string | undefined {
  return active;
}

/** Live TensorFlow.js tensors in this process (leak checks, diagnostics). */
export function liveTensorCount(): number {
  return tf.memory().numTensors;
}
