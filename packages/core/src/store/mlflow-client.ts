/**
 * A small typed client for the MLflow tracking server's REST API (2.x and
 * 3.x), over fetch. Every call has a timeout; retriable failures (network
 * errors, timeouts, 429 and 5xx) are retried with exponential backoff until a
 * deadline. No npm package covers the model registry and the artifact proxy,
 * so this is our own, kept to what the model store needs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DfpError, ErrorCodes } from '../errors';

export interface MlflowClientOptions {
  /** `http(s)://host:port`, optionally with a path prefix. */
  uri: string;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
  /** Total time for one call including retries. Default 30 s. */
  deadlineMs?: number;
  /** First backoff delay; doubles each retry (with jitter). Default 250 ms. */
  backoffMs?: number;
  /** Bearer token (MLFLOW_TRACKING_TOKEN) or basic auth (MLFLOW_TRACKING_USERNAME/PASSWORD). */
  token?: string;
  username?: string;
  password?: string;
}

/** An error answer from MLflow, with its `error_code` (e.g. RESOURCE_ALREADY_EXISTS). */
export class MlflowError extends DfpError {
  constructor(
    readonly endpoint: string,
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(
      status === 404 && errorCode === 'RESOURCE_DOES_NOT_EXIST'
        ? ErrorCodes.STORE_NOT_FOUND
        : ErrorCodes.STORE_UNREADABLE,
      `MLflow ${endpoint}: ${status} ${errorCode}: ${message}`,
      { retriable: status === 429 || status >= 500, details: { endpoint, status, errorCode } },
    );
    this.name = 'MlflowError';
  }
}

export function isMlflowError(err: unknown, errorCode?: string): err is MlflowError {
  return err instanceof MlflowError && (errorCode === undefined || err.errorCode === errorCode);
}

interface RequestOptions {
  query?: Record<string, string | number | undefined | null>;
  body?: unknown;
  /** Raw bytes to PUT (artifact upload). */
  bytes?: Uint8Array;
  /** Read the answer as bytes (artifact download). */
  binary?: boolean;
}

export class MlflowClient {
  readonly uri: string;
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly backoffMs: number;
  private readonly auth: string | undefined;

  constructor(options: MlflowClientOptions) {
    this.uri = options.uri.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.backoffMs = options.backoffMs ?? 250;
    if (options.token) this.auth = `Bearer ${options.token}`;
    else if (options.username !== undefined) {
      const pair = `${options.username}:${options.password ?? ''}`;
      this.auth = `Basic ${Buffer.from(pair).toString('base64')}`;
    }
  }

  /**
   * Options from the standard MLflow environment variables, plus
   * DFP_MLFLOW_DEADLINE_S (time for one call with its retries).
   */
  static fromEnv(uri: string, env: NodeJS.ProcessEnv = process.env): MlflowClient {
    const ms = (name: string) => (env[name] ? Number(env[name]) * 1000 : undefined);
    return new MlflowClient({
      uri,
      token: env.MLFLOW_TRACKING_TOKEN,
      username: env.MLFLOW_TRACKING_USERNAME,
      password: env.MLFLOW_TRACKING_PASSWORD,
      timeoutMs: ms('MLFLOW_HTTP_REQUEST_TIMEOUT'),
      deadlineMs: ms('DFP_MLFLOW_DEADLINE_S'),
    });
  }

  /** A JSON call to `/api/2.0/mlflow/<endpoint>`. */
  async call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    endpoint: string,
    options: RequestOptions = {},
  ): Promise<T> {
    return (await this.send(method, `/api/2.0/mlflow/${endpoint}`, endpoint, options)) as T;
  }

  /** Uploads bytes through the tracking server's artifact proxy. */
  async putArtifact(path: string, bytes: Uint8Array): Promise<void> {
    await this.send(
      'PUT',
      `/api/2.0/mlflow-artifacts/artifacts/${encodePath(path)}`,
      'artifacts (upload)',
      {
        bytes,
      },
    );
  }

  /** Downloads bytes through the tracking server's artifact proxy. */
  async getArtifact(path: string): Promise<Uint8Array> {
    return (await this.send(
      'GET',
      `/api/2.0/mlflow-artifacts/artifacts/${encodePath(path)}`,
      'artifacts (download)',
      {
        binary: true,
      },
    )) as Uint8Array;
  }

  private async send(
    method: string,
    path: string,
    endpoint: string,
    options: RequestOptions,
  ): Promise<unknown> {
    const url = new URL(this.uri + path);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = {};
    if (this.auth) headers.authorization = this.auth;
    let body: Uint8Array | string | undefined;
    if (options.bytes) {
      headers['content-type'] = 'application/octet-stream';
      body = options.bytes;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }

    const deadline = Date.now() + this.deadlineMs;
    for (let attempt = 0; ; attempt++) {
      let failure: DfpError;
      try {
        const timeout = Math.max(1, Math.min(this.timeoutMs, deadline - Date.now()));
        const res = await fetch(url, {
          method,
          headers,
          body,
          signal: AbortSignal.timeout(timeout),
        });
        if (res.ok) {
          if (options.binary) return new Uint8Array(await res.arrayBuffer());
          const text = await res.text();
          if (text.trim() === '') return {};
          try {
            return JSON.parse(text) as unknown;
          } catch {
            // A login page from a proxy, say: retrying will not help.
            throw new DfpError(
              ErrorCodes.STORE_UNSUPPORTED,
              `MLflow ${endpoint} at ${this.uri}: the answer is not JSON: ${text.slice(0, 120)}`,
              { details: { endpoint } },
            );
          }
        }
        failure = await errorOf(res, endpoint);
      } catch (err) {
        if (err instanceof DfpError) throw err;
        const timedOut = (err as Error).name === 'TimeoutError';
        failure = new DfpError(
          ErrorCodes.STORE_UNREADABLE,
          `MLflow ${endpoint} at ${this.uri}: ` +
            (timedOut ? `no answer within ${this.timeoutMs} ms` : (err as Error).message),
          { retriable: true, cause: err, details: { endpoint } },
        );
      }
      const delay = this.backoffMs * 2 ** attempt * (0.5 + Math.random() / 2);
      if (!failure.retriable || Date.now() + delay >= deadline) throw failure;
      await sleep(delay);
    }
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

async function errorOf(res: Response, endpoint: string): Promise<MlflowError> {
  const text = await res.text().catch(() => '');
  let code = 'HTTP_ERROR';
  let message = text.slice(0, 300) || res.statusText;
  try {
    const json = JSON.parse(text) as { error_code?: string; message?: string };
    if (json.error_code) code = json.error_code;
    if (json.message) message = json.message;
  } catch {
    // Not JSON (a proxy's HTML page, say): keep the text.
  }
  return new MlflowError(endpoint, res.status, code, message);
}
