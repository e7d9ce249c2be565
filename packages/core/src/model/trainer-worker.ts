/**
 * Entry point of a trainer worker thread (see trainer-pool.ts). Trains one job
 * at a time and posts the serialised model back, transferring the weights.
 */
import { parentPort } from 'node:worker_threads';
import { DfpError, errorMessage } from '../errors';
import { type WorkerJob, type WorkerMessage, runTrainingJob } from './trainer-pool';

const port = parentPort;
if (!port) throw new Error('trainer-worker.js must run as a worker thread');

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

port.on('message', (job: WorkerJob) => {
  runTrainingJob(job, (message) => post(message))
    .then((model) => {
      post({ type: 'done', id: job.id, model }, [model.weights.buffer as ArrayBuffer]);
    })
    .catch((err: unknown) => {
      const error =
        err instanceof DfpError
          ? { code: err.code, message: err.message, details: err.details }
          : { message: errorMessage(err) };
      try {
        post({ type: 'error', id: job.id, error });
      } catch {
        // Details that cannot be cloned: send the message alone.
        post({ type: 'error', id: job.id, error: { code: error.code, message: error.message } });
      }
    });
});
