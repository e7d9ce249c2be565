/**
 * Where ONNX Runtime sessions run. In a compiled build they run on one worker
 * thread of their own, so that the network's arithmetic overlaps with the
 * decoding, history and output work of the calling thread; its intra-op pool
 * takes the cores but one (at least one), leaving one to the pipeline. When the
 * worker script is not compiled JavaScript (e.g. under ts-jest/swc), or
 * `DFP_ONNX_WORKER=0`, sessions run on the calling thread with every core.
 * Both places run the same session code (`openSession`), so scores are the same.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DfpError, ErrorCodes, errorMessage } from '../errors';

type Ort = typeof import('onnxruntime-node');

/** One input of a run, as plain arrays (they travel to the worker without copying). */
export interface FeedArray {
  type: 'float32' | 'int32';
  data: Float32Array | Int32Array;
  dims: number[];
}

export type Feeds = Record<string, FeedArray>;

/** A session over one model: the `head` output of each run. */
export interface OrtSession {
  run(feeds: Feeds): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Opens a session on this thread (used by the worker, and by the in-process fallback). */
export async function openSession(
  ort: Ort,
  bytes: Uint8Array,
  threads: number | undefined,
): Promise<OrtSession> {
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
  });
  return {
    async run(feeds) {
      const tensors: Record<string, import('onnxruntime-node').Tensor> = {};
      for (const [name, f] of Object.entries(feeds)) {
        tensors[name] = new ort.Tensor(f.type, f.data, f.dims);
      }
      const result = await session.run(tensors);
      return result.head.data as Float32Array;
    },
    release: () => session.release(),
  };
}

/* ------------------------------------------------------------------------ */
/* The messages between this thread and the session worker. */

export type SessionRequest =
  | { type: 'open'; id: number; bytes: Uint8Array; threads: number }
  | { type: 'run'; id: number; session: number; feeds: Feeds }
  | { type: 'release'; id: number; session: number }
  /** Release every session and let the thread end on its own. */
  | { type: 'shutdown'; id: number };

export type SessionReply =
  | { id: number; ok: true; session?: number; head?: Float32Array }
  | { id: number; ok: false; message: string };

/** A request before the host numbers it (`Omit` applied to each member of the union). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type RequestBody = WithoutId<SessionRequest>;
/** A reply that is not an error (errors are thrown by `call`). */
type Answer = Extract<SessionReply, { ok: true }>;

const WORKER_SCRIPT = join(__dirname, 'onnx-worker.js');
export const ONNX_WORKER_ENV = 'DFP_ONNX_WORKER';

/** Intra-op threads of the worker's sessions: every core but the pipeline's one. */
function workerThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

interface Pending {
  resolve(reply: SessionReply): void;
  reject(err: unknown): void;
}

/** The session worker: started on first use, restarted after it stops. */
class SessionHost {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Bumped whenever a worker stops: sessions of an earlier generation are gone. */
  generation = 0;

  private start(): Worker {
    const worker = new Worker(WORKER_SCRIPT);
    const stopped = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.generation += 1;
      const err = new DfpError(
        ErrorCodes.MODEL_BACKEND_UNAVAILABLE,
        `the ONNX Runtime worker stopped (${why}); its models are loaded again on next use`,
        { details: { lost: true } },
      );
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('message', (reply: SessionReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      p.resolve(reply);
    });
    worker.on('error', (err) => stopped(errorMessage(err)));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    // An idle worker must not keep the process alive; a waited-for reply must.
    worker.unref();
    return worker;
  }

  warm(): void {
    this.worker ??= this.start();
  }

  /**
   * Ends the worker in order: its sessions released, then the thread left to finish on its
   * own. Killing a thread that holds ONNX Runtime sessions (worker.terminate(), or
   * process.exit with the worker alive) can abort the whole process in the addon's cleanup
   * ("terminate called after throwing an instance of 'Napi::Error'"), now and then.
   */
  async stop(timeoutMs = 10_000): Promise<'none' | 'in order' | 'terminated'> {
    const worker = this.worker;
    if (!worker) return 'none';
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const late = (ms: number) =>
      new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), ms).unref());
    try {
      const asked = this.call({ type: 'shutdown' }).then(() => {
        // Until it has ended, the thread keeps the process alive (the reply unref'd it).
        worker.ref();
        return exited;
      });
      if ((await Promise.race([asked, late(timeoutMs)])) !== 'late') return 'in order';
    } catch {
      // The worker had stopped already, or failed to shut down: end it below.
    }
    if (this.worker === worker) await worker.terminate();
    return 'terminated';
  }

  async call(request: RequestBody, transfer: ArrayBuffer[] = []): Promise<Answer> {
    this.worker ??= this.start();
    const worker = this.worker;
    const id = this.nextId++;
    const reply = new Promise<SessionReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    worker.ref();
    worker.postMessage({ ...request, id }, transfer);
    const answer = await reply;
    if (!answer.ok) throw new DfpError(ErrorCodes.MODEL_INVALID, answer.message);
    return answer;
  }
}

let host: SessionHost | undefined;

class WorkerSession implements OrtSession {
  constructor(
    private readonly server: SessionHost,
    private readonly id: number,
    private readonly generation: number,
  ) {}

  async run(feeds: Feeds): Promise<Float32Array> {
    if (this.server.generation !== this.generation) {
      throw new DfpError(
        ErrorCodes.MODEL_BACKEND_UNAVAILABLE,
        'the ONNX Runtime worker was restarted; this model is loaded again on next use',
        { details: { lost: true } },
      );
    }
    const owned: Feeds = {};
    for (const [name, f] of Object.entries(feeds))
      owned[name] = { ...f, data: wholeBuffer(f.data) };
    const transfer = Object.values(owned).map((f) => f.data.buffer as ArrayBuffer);
    const reply = await this.server.call({ type: 'run', session: this.id, feeds: owned }, transfer);
    return reply.head as Float32Array;
  }

  async release(): Promise<void> {
    if (this.server.generation !== this.generation) return;
    await this.server.call({ type: 'release', session: this.id });
  }
}

/** Whether an error says the session went with its worker (a new one can be made). */
export function isLostSession(err: unknown): boolean {
  return err instanceof DfpError && err.details.lost === true;
}

/** Whether sessions run on the worker thread (compiled build, not switched off). */
export function sessionsOnWorker(): boolean {
  const env = process.env[ONNX_WORKER_ENV]?.trim().toLowerCase() ?? '';
  if (!['', '1', 'true', '0', 'false'].includes(env)) {
    throw new DfpError(
      ErrorCodes.CONFIG_INVALID,
      `${ONNX_WORKER_ENV} is ${JSON.stringify(process.env[ONNX_WORKER_ENV])}; ` +
        'expected 1 or true (sessions on a worker thread, the default) or 0 or false',
      { details: { value: process.env[ONNX_WORKER_ENV] } },
    );
  }
  if (env === '0' || env === 'false') return false;
  return __filename.endsWith('.js') && existsSync(WORKER_SCRIPT);
}

/**
 * Starts the session worker ahead of the first model (loading ONNX Runtime there
 * takes a tenth of a second or more), so that it is ready when scoring begins.
 */
export function startSessionWorker(): void {
  if (!sessionsOnWorker()) return;
  host ??= new SessionHost();
  host.warm();
}

/**
 * Stops the session worker in order (see SessionHost.stop): call it before the process exits.
 * Its sessions are gone, and the models that had one open make a new one (on a new worker)
 * when next used. A no-op when no worker was started.
 */
export async function stopSessionWorker(): Promise<'none' | 'in order' | 'terminated'> {
  return (await host?.stop()) ?? 'none';
}

/** Where sessions run and with how many intra-op threads (as the benchmark reports it). */
export function sessionPlacement(): { thread: 'worker' | 'calling'; intraOpThreads: number } {
  return sessionsOnWorker()
    ? { thread: 'worker', intraOpThreads: workerThreads() }
    : { thread: 'calling', intraOpThreads: availableParallelism() };
}

/** A session over the model `bytes`, on the worker thread when there is one. */
export async function createSession(ort: Ort, bytes: Uint8Array): Promise<OrtSession> {
  if (!sessionsOnWorker()) return openSession(ort, bytes, undefined);
  host ??= new SessionHost();
  const server = host;
  const generation = server.generation;
  const owned = wholeBuffer(bytes);
  const reply = await server.call({ type: 'open', bytes: owned, threads: workerThreads() }, [
    owned.buffer as ArrayBuffer,
  ]);
  return new WorkerSession(server, reply.session as number, generation);
}

/** The view itself when it spans its whole buffer (so that can be transferred), else a copy. */
export function wholeBuffer<T extends Uint8Array | Float32Array | Int32Array>(view: T): T {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength
    ? view
    : (view.slice() as T);
}

/** Loads onnxruntime-node (in the worker, where the module is required afresh). */
export function requireOrt(): Ort {
  return createRequire(__filename)('onnxruntime-node') as Ort;
}
