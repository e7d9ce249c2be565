/**
 * Parallel training: one `worker_threads` trainer per core, because the wasm
 * backend is single-threaded in Node (ml-runtime.md §3.5). Jobs and results
 * are serialisable: the table travels as Arrow IPC bytes, the model comes back
 * as `serializeModel` output. When the worker script is not compiled
 * JavaScript (e.g. under ts-jest/swc), jobs run in-process one at a time.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DfpError, ErrorCodes, type ErrorCode, errorMessage } from '../errors';
import { fromIPC } from '../table';
import { type BackendRequest, initBackend } from './backend';
import type { AutoencoderOptions } from './options';
import { type SerializedModel, serializeModel } from './serialize';
import { type EpochInfo, trainAutoencoder } from './train';

export interface TrainingJob {
  /** The training table as Arrow IPC bytes (`toIPC(table)`). */
  table: Uint8Array;
  features: string[];
  options?: Partial<AutoencoderOptions>;
  entity?: string;
  /** Relayed from the worker as they happen. */
  onEpoch?(info: EpochInfo): void;
  onWarning?(message: string, details: Record<string, unknown>): void;
}

export interface TrainerPoolOptions {
  /** Concurrent trainers; default: one per core. */
  size?: number;
  /** Backend each worker initialises; default: `DFP_ML_BACKEND`, else auto. */
  backend?: BackendRequest;
}

export interface TrainerPool {
  readonly size: number;
  /** True when jobs run on the calling thread (no compiled worker script). */
  readonly inProcess: boolean;
  train(job: TrainingJob): Promise<SerializedModel>;
  /** Waits for nothing: running jobs are rejected, workers terminated. */
  close(): Promise<void>;
}

/** What the worker receives. */
export interface WorkerJob {
  id: number;
  table: Uint8Array;
  features: string[];
  options?: Partial<AutoencoderOptions>;
  entity?: string;
  backend?: BackendRequest;
}

/** What the worker sends back. */
export type WorkerMessage =
  | { type: 'epoch'; id: number; info: EpochInfo }
  | { type: 'warning'; id: number; message: string; details: Record<string, unknown> }
  | { type: 'done'; id: number; model: SerializedModel }
  | {
      type: 'error';
      id: number;
      error: { code?: ErrorCode; message: string; details?: Record<string, unknown> };
    };

const WORKER_SCRIPT = join(__dirname, 'trainer-worker.js');

/** Runs one job on this thread; shared by the worker and the in-process fallback. */
export async function runTrainingJob(
  job: WorkerJob,
  relay: (message: WorkerMessage) => void,
): Promise<SerializedModel> {
  await initBackend(job.backend);
  const model = await trainAutoencoder(fromIPC(job.table), job.features, job.options, {
    entity: job.entity,
    onEpoch: (info) => relay({ type: 'epoch', id: job.id, info }),
    onWarning: (message, details) => relay({ type: 'warning', id: job.id, message, details }),
  });
  try {
    return serializeModel(model);
  } finally {
    model.dispose();
  }
}

interface Pending {
  job: TrainingJob;
  work: WorkerJob;
  resolve(model: SerializedModel): void;
  reject(err: unknown): void;
}

function relayTo(pending: Pending, message: WorkerMessage): void {
  if (message.type === 'epoch') pending.job.onEpoch?.(message.info);
  if (message.type === 'warning') pending.job.onWarning?.(message.message, message.details);
}

function rebuildError(
  error: { code?: ErrorCode; message: string; details?: Record<string, unknown> },
  entity: string | undefined,
): DfpError {
  return new DfpError(error.code ?? ErrorCodes.MODEL_TRAINING_FAILED, error.message, {
    details: { entity, ...error.details },
  });
}

export function createTrainerPool(options: TrainerPoolOptions = {}): TrainerPool {
  const size = options.size ?? availableParallelism();
  if (!Number.isInteger(size) || size < 1) {
    throw new DfpError(
      ErrorCodes.CONFIG_INVALID,
      `trainer pool size is ${JSON.stringify(options.size)}; expected an integer ≥ 1`,
    );
  }
  const inProcess = !__filename.endsWith('.js') || !existsSync(WORKER_SCRIPT);
  const queue: Pending[] = [];
  const idle: Worker[] = [];
  const busy = new Map<Worker, Pending>();
  let workers = 0;
  let nextId = 1;
  let closed = false;
  let inProcessRunning = false;

  const fail = (pending: Pending, err: unknown): void => {
    pending.reject(
      err instanceof DfpError
        ? err
        : new DfpError(ErrorCodes.MODEL_TRAINING_FAILED, errorMessage(err), {
            cause: err,
            details: { entity: pending.work.entity },
          }),
    );
  };

  const spawn = (): Worker => {
    const worker = new Worker(WORKER_SCRIPT);
    workers++;
    worker.on('message', (message: WorkerMessage) => {
      const pending = busy.get(worker);
      if (!pending || message.id !== pending.work.id) return;
      if (message.type === 'done') {
        busy.delete(worker);
        idle.push(worker);
        pending.resolve(message.model);
        pump();
      } else if (message.type === 'error') {
        busy.delete(worker);
        idle.push(worker);
        pending.reject(rebuildError(message.error, pending.work.entity));
        pump();
      } else {
        relayTo(pending, message);
      }
    });
    const lost = (reason: string): void => {
      workers--;
      const index = idle.indexOf(worker);
      if (index >= 0) idle.splice(index, 1);
      const pending = busy.get(worker);
      busy.delete(worker);
      if (pending) fail(pending, new Error(`trainer worker ${reason}`));
      if (!closed) pump();
    };
    worker.on('error', (err) => lost(`failed: ${errorMessage(err)}`));
    worker.on('exit', (code) => {
      if (busy.has(worker) || idle.includes(worker)) lost(`exited with code ${code}`);
    });
    return worker;
  };

  const pumpInProcess = (): void => {
    if (inProcessRunning || queue.length === 0) return;
    const pending = queue.shift() as Pending;
    inProcessRunning = true;
    runTrainingJob(pending.work, (message) => relayTo(pending, message))
      .then(pending.resolve, (err) => fail(pending, err))
      .finally(() => {
        inProcessRunning = false;
        if (!closed) pumpInProcess();
      });
  };

  const pump = (): void => {
    if (closed) return;
    if (inProcess) return pumpInProcess();
    while (queue.length > 0) {
      const worker = idle.pop() ?? (workers < size ? spawn() : undefined);
      if (!worker) return;
      const pending = queue.shift() as Pending;
      busy.set(worker, pending);
      worker.postMessage(pending.work);
    }
  };

  return {
    size,
    inProcess,
    train(job) {
      if (closed) {
        return Promise.reject(
          new DfpError(ErrorCodes.MODEL_TRAINING_FAILED, 'trainer pool is closed'),
        );
      }
      return new Promise<SerializedModel>((resolve, reject) => {
        const work: WorkerJob = {
          id: nextId++,
          table: job.table,
          features: job.features,
          options: job.options,
          entity: job.entity,
          backend: options.backend,
        };
        queue.push({ job, work, resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      const stopped = new DfpError(ErrorCodes.MODEL_TRAINING_FAILED, 'trainer pool was closed');
      for (const pending of queue.splice(0)) pending.reject(stopped);
      const all = [...idle, ...busy.keys()];
      for (const pending of busy.values()) pending.reject(stopped);
      busy.clear();
      idle.length = 0;
      await Promise.all(all.map((w) => w.terminate()));
    },
  };
}
