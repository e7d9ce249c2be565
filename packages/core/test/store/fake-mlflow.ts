/**
 * A scripted stand-in for an MLflow tracking server, for unit tests of the
 * REST client: a route table `(method, path) -> handler` on 127.0.0.1 port 0
 * that records every request it receives. Paths without a leading `/` are
 * MLflow endpoints under `/api/2.0/mlflow/`; a path ending in `*` matches any
 * path with that prefix. Unscripted routes answer 404 ENDPOINT_NOT_FOUND.
 */
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const API = '/api/2.0/mlflow/';
export const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts/';

export interface FakeRequest {
  method: string;
  /** URL path without the query, as sent (percent-encoded). */
  path: string;
  /** `METHOD endpoint`, the endpoint relative to `/api/2.0/mlflow/` where it is one. */
  call: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
  /** Arrival time, epoch ms. */
  at: number;
}

export type FakeReply =
  | { status?: number; json?: unknown; text?: string; bytes?: Uint8Array }
  /** Accept the request and never answer it. */
  | { hang: true };

export type Handler = (req: FakeRequest) => FakeReply | Promise<FakeReply>;

/** An MLflow-style error answer. */
export function mlflowError(status: number, errorCode: string, message = errorCode): FakeReply {
  return { status, json: { error_code: errorCode, message } };
}

function routeKey(method: string, path: string): string {
  return `${method} ${path.startsWith('/') ? path : API + path}`;
}

export class FakeMlflow {
  readonly requests: FakeRequest[] = [];
  /** Files behind the artifact proxy, by path relative to the proxy root. */
  readonly artifacts = new Map<string, Buffer>();
  private readonly routes = new Map<string, Handler>();

  private readonly server: Server;
  private address = '';

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        void this.handle(req.method ?? 'GET', req.url ?? '/', req.headers, body)
          .then((reply) => {
            if ('hang' in reply) return;
            const status = reply.status ?? 200;
            if (reply.bytes !== undefined) {
              res.writeHead(status, { 'content-type': 'application/octet-stream' });
              res.end(Buffer.from(reply.bytes));
            } else if (reply.text !== undefined) {
              res.writeHead(status, { 'content-type': 'text/html' });
              res.end(reply.text);
            } else {
              res.writeHead(status, { 'content-type': 'application/json' });
              res.end(JSON.stringify(reply.json ?? {}));
            }
          })
          .catch((err: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(`fake handler failed: ${String(err)}`);
          });
      });
    });
  }

  /** `http://127.0.0.1:<port>`. */
  get uri(): string {
    return this.address;
  }

  static async start(): Promise<FakeMlflow> {
    const fake = new FakeMlflow();
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.address = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Scripts a route; a later call for the same route replaces it. */
  on(method: string, path: string, handler: Handler): this {
    this.routes.set(routeKey(method, path), handler);
    return this;
  }

  /** Serves PUT and GET under the artifact proxy from `artifacts`. */
  serveArtifacts(): this {
    this.on('PUT', `${ARTIFACTS}*`, (req) => {
      this.artifacts.set(decodeURIComponent(req.path.slice(ARTIFACTS.length)), req.body);
      return { json: {} };
    });
    this.on('GET', `${ARTIFACTS}*`, (req) => {
      const file = this.artifacts.get(decodeURIComponent(req.path.slice(ARTIFACTS.length)));
      return file ? { bytes: file } : mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', req.path);
    });
    return this;
  }

  /** `METHOD endpoint` of every request so far, in arrival order. */
  calls(): string[] {
    return this.requests.map((r) => r.call);
  }

  /** The requests to one `METHOD endpoint`. */
  sent(call: string): FakeRequest[] {
    return this.requests.filter((r) => r.call === call);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(
    method: string,
    url: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): Promise<FakeReply> {
    const parsed = new URL(url, 'http://fake');
    const path = parsed.pathname;
    let json: unknown;
    if (String(headers['content-type']).startsWith('application/json')) {
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        json = undefined;
      }
    }
    const req: FakeRequest = {
      method,
      path,
      call: `${method} ${path.startsWith(API) ? path.slice(API.length) : path}`,
      query: Object.fromEntries(parsed.searchParams),
      headers,
      body,
      json,
      at: Date.now(),
    };
    this.requests.push(req);
    let handler = this.routes.get(`${method} ${path}`);
    if (!handler) {
      for (const [key, h] of this.routes) {
        if (key.endsWith('*') && `${method} ${path}`.startsWith(key.slice(0, -1))) handler = h;
      }
    }
    if (!handler) return mlflowError(404, 'ENDPOINT_NOT_FOUND', `no route ${method} ${path}`);
    return handler(req);
  }
}
