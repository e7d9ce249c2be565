/**
 * Entry point of the ONNX Runtime worker thread (see onnx-sessions.ts): holds
 * the sessions of the models in use and runs them one request at a time,
 * transferring each run's head output back.
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../errors';
import {
  type OrtSession,
  type SessionReply,
  type SessionRequest,
  openSession,
  requireOrt,
  wholeBuffer,
} from './onnx-sessions';

const port = parentPort;
if (!port) throw new Error('onnx-worker.js must run as a worker thread');

const ort = requireOrt();
const sessions = new Map<number, OrtSession>();
let nextSession = 1;

function post(reply: SessionReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(reply, transfer);
}

async function handle(request: SessionRequest): Promise<void> {
  switch (request.type) {
    case 'open': {
      const session = await openSession(ort, request.bytes, request.threads);
      const id = nextSession++;
      sessions.set(id, session);
      post({ id: request.id, ok: true, session: id });
      return;
    }
    case 'run': {
      const session = sessions.get(request.session);
      if (!session) throw new Error(`no ONNX Runtime session ${request.session} in the worker`);
      // ONNX Runtime owns the memory of its outputs: the copy is what travels back.
      const head = wholeBuffer((await session.run(request.feeds)).slice());
      post({ id: request.id, ok: true, head }, [head.buffer as ArrayBuffer]);
      return;
    }
    case 'shutdown': {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map((session) => session.release()));
      post({ id: request.id, ok: true });
      // Nothing else keeps the thread alive: it ends once the reply is sent.
      port?.close();
      return;
    }
    case 'release': {
      const session = sessions.get(request.session);
      sessions.delete(request.session);
      await session?.release();
      post({ id: request.id, ok: true });
      return;
    }
  }
}

port.on('message', (request: SessionRequest) => {
  handle(request).catch((err: unknown) =>
    post({ id: request.id, ok: false, message: errorMessage(err) }),
  );
});
