/**
 * Object storage through @aws-sdk/client-s3, for AWS and S3-compatible stores
 * (MinIO and others, with an endpoint override and path-style addressing).
 *
 * Inputs are named `s3://bucket/key`, with globs over keys
 * (`s3://logs/duo/2022-08-*.json`); `filecache::s3://…` keeps a local copy of
 * each object in the cache directory, keyed by its ETag, so that a second run
 * downloads nothing. Listing follows every page and fails on a malformed one;
 * reads are retried on transient errors within a deadline.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import picomatch from 'picomatch';
import { DfpError, ErrorCodes, errorMessage } from '../errors';

export interface S3Settings {
  /** Endpoint override (MinIO and other S3-compatible stores); else AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (`http://host/bucket/key`); default: on when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Time after which no new attempt of a call starts. Default 120 s. */
  deadlineMs?: number;
  /**
   * Longest silence on a connection (no bytes either way) before the attempt is abandoned
   * and retried; a server that accepts and never answers would otherwise hang a read for ever
   * (the SDK sets no limit). Default 30 s. Connecting has its own limit of 10 s.
   */
  socketTimeoutMs?: number;
  /** Keys asked for per listing page (S3 gives at most 1,000). */
  pageSize?: number;
}

export interface ObjectInfo {
  uri: string;
  bucket: string;
  key: string;
  size: number;
  etag: string;
  lastModified: number;
}

export interface S3Location {
  bucket: string;
  key: string;
}

const FILECACHE = 'filecache::';

/**
 * The SDK, loaded on first use: runs without S3 never load it (nor see the warnings
 * it prints on some Node.js versions).
 */
function sdk(): typeof import('@aws-sdk/client-s3') {
  return require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
}
const GLOB_CHARS = /[*?[\]{}]/;

/** True for `s3://…` and `filecache::s3://…`. */
export function isS3Uri(value: string): boolean {
  return /^(filecache::)?s3:\/\//i.test(value);
}

/** `s3://bucket/key` (any `filecache::` prefix removed) as bucket and key. */
export function parseS3Uri(uri: string): S3Location & { cached: boolean } {
  const cached = uri.toLowerCase().startsWith(FILECACHE);
  const bare = cached ? uri.slice(FILECACHE.length) : uri;
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(bare);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,62}$/.test(m[1])) {
    throw new DfpError(
      ErrorCodes.CONFIG_INVALID,
      `${uri} is not an S3 location: write s3://bucket/key or s3://bucket/prefix/*.json`,
      { details: { uri } },
    );
  }
  return { bucket: m[1], key: m[2] ?? '', cached };
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** HTTP status or error name of an SDK error that is worth retrying. */
function retriable(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  const name = e.name ?? '';
  return (
    /Timeout|Throttl|Network|ECONN|EPIPE|socket|premature|aborted/i.test(name) ||
    /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|socket hang up|premature close/i.test(
      errorMessage(err),
    ) ||
    ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '')
  );
}

export class S3Objects {
  private made: S3Client | null = null;
  private readonly clientConfig: S3ClientConfig;
  /** Object downloads and cache hits, for reports and tests. */
  readonly stats = { gets: 0, cacheHits: 0, puts: 0, listPages: 0 };
  /** Metadata from the last listing, so that dating and caching need no HEAD request. */
  private readonly known = new Map<string, ObjectInfo>();
  private readonly deadlineMs: number;

  constructor(
    readonly settings: S3Settings = {},
    private readonly cacheDir: string | null = null,
  ) {
    const endpoint = settings.endpoint || undefined;
    const config: S3ClientConfig = {
      region: settings.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION,
      forcePathStyle: settings.forcePathStyle ?? Boolean(endpoint),
      maxAttempts: 4,
      // Inactivity on the socket, body included: a long download that keeps moving is fine.
      requestHandler: {
        connectionTimeout: 10_000,
        socketTimeout: settings.socketTimeoutMs ?? 30_000,
      },
      ...(endpoint ? { endpoint } : {}),
    };
    if (!config.region) config.region = 'us-east-1';
    this.clientConfig = config;
    this.deadlineMs = settings.deadlineMs ?? 120_000;
  }

  /** The SDK client, made on first use. */
  get client(): S3Client {
    this.made ??= new (sdk().S3Client)(this.clientConfig);
    return this.made;
  }

  /** Objects whose keys match a pattern: `s3://b/prefix/*.json`, a key, or a prefix ending in /. */
  async list(pattern: string): Promise<ObjectInfo[]> {
    const { bucket, key } = parseS3Uri(pattern);
    const globAt = key.search(GLOB_CHARS);
    let prefix: string;
    let match: (k: string) => boolean;
    if (globAt >= 0) {
      prefix = key.slice(0, key.lastIndexOf('/', globAt) + 1);
      const isMatch = picomatch(key, { dot: true });
      match = (k) => isMatch(k);
    } else if (key === '' || key.endsWith('/')) {
      // A "folder": every object under it, as a local directory input gives its files.
      prefix = key;
      match = (k) => !k.endsWith('/');
    } else {
      prefix = key;
      match = (k) => k === key || k.startsWith(`${key}/`);
    }
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    let page = 0;
    do {
      page += 1;
      const res = await this.call(`list ${s3Uri(bucket, prefix)} (page ${page})`, () =>
        this.client.send(
          new (sdk().ListObjectsV2Command)({
            Bucket: bucket,
            Prefix: prefix,
            ContinuationToken: token,
            ...(this.settings.pageSize ? { MaxKeys: this.settings.pageSize } : {}),
          }),
        ),
      );
      this.stats.listPages += 1;
      for (const [i, o] of (res.Contents ?? []).entries()) {
        if (!o.Key || o.Size === undefined) {
          throw new DfpError(
            ErrorCodes.INPUT_MALFORMED,
            `listing of ${s3Uri(bucket, prefix)} page ${page}: entry ${i} has no key or size`,
            { details: { bucket, prefix, page } },
          );
        }
        if (!match(o.Key)) continue;
        const info: ObjectInfo = {
          uri: s3Uri(bucket, o.Key),
          bucket,
          key: o.Key,
          size: o.Size,
          etag: (o.ETag ?? '').replace(/"/g, ''),
          lastModified: o.LastModified?.getTime() ?? 0,
        };
        this.known.set(info.uri, info);
        out.push(info);
      }
      if (res.IsTruncated && !res.NextContinuationToken) {
        // A truncated page without a way to the next one would silently cut the listing.
        throw new DfpError(
          ErrorCodes.INPUT_MALFORMED,
          `listing of ${s3Uri(bucket, prefix)} page ${page} is truncated but gives no ` +
            'continuation token; refusing to use a partial listing',
          { details: { bucket, prefix, page } },
        );
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** Size, ETag and modification time of an object (from the last listing when known). */
  async info(uri: string): Promise<ObjectInfo> {
    const { bucket, key } = parseS3Uri(uri);
    const bare = s3Uri(bucket, key);
    const known = this.known.get(bare);
    if (known) return known;
    const res = await this.call(`head ${bare}`, () =>
      this.client.send(new (sdk().HeadObjectCommand)({ Bucket: bucket, Key: key })),
    );
    const info: ObjectInfo = {
      uri: bare,
      bucket,
      key,
      size: res.ContentLength ?? 0,
      etag: (res.ETag ?? '').replace(/"/g, ''),
      lastModified: res.LastModified?.getTime() ?? 0,
    };
    this.known.set(bare, info);
    return info;
  }

  /** An object's bytes; `filecache::` locations come from (and go to) the local copy. */
  async read(uri: string): Promise<Buffer> {
    const { bucket, key, cached } = parseS3Uri(uri);
    const bare = s3Uri(bucket, key);
    let local: string | null = null;
    if (cached && this.cacheDir !== null) {
      const info = await this.info(bare);
      const digest = createHash('sha256').update(`${bare}\n${info.etag}`).digest('hex');
      local = join(this.cacheDir, 's3', bucket, digest.slice(0, 40));
      try {
        const bytes = await readFile(local);
        this.stats.cacheHits += 1;
        return bytes;
      } catch {
        // Not cached yet.
      }
    }
    const bytes = await this.call(`read ${bare}`, async () => {
      const res = await this.client.send(
        new (sdk().GetObjectCommand)({ Bucket: bucket, Key: key }),
      );
      if (!res.Body) throw new Error('the response has no body');
      // The whole body is read inside the retried call: a connection cut mid-body is retried too.
      return Buffer.from(await res.Body.transformToByteArray());
    });
    this.stats.gets += 1;
    if (local) {
      await mkdir(join(local, '..'), { recursive: true });
      const tmp = `${local}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, local);
    }
    return bytes;
  }

  /**
   * Writes a new object. `ifNoneMatch` asks the store to refuse when the key
   * exists, so that an earlier object is never overwritten.
   */
  async put(uri: string, body: Buffer | string, contentType: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    await this.call(
      `write ${uri}`,
      () =>
        this.client.send(
          new (sdk().PutObjectCommand)({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: contentType,
            IfNoneMatch: '*',
          }),
        ),
      ErrorCodes.SINK_WRITE_FAILED,
    );
    this.stats.puts += 1;
  }

  /** Runs an S3 call, retrying transient failures with backoff until the deadline. */
  private async call<T>(
    what: string,
    fn: () => Promise<T>,
    code: string = ErrorCodes.INPUT_UNREADABLE,
  ): Promise<T> {
    const deadline = Date.now() + this.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const again = retriable(err) && Date.now() + 250 * 2 ** attempt < deadline;
        if (!again) {
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata
            ?.httpStatusCode;
          throw new DfpError(
            code as (typeof ErrorCodes)[keyof typeof ErrorCodes],
            `S3 ${what} failed after ${attempt} attempt(s): ${errorMessage(err)}` +
              (status ? ` (HTTP ${status})` : ''),
            { cause: err, retriable: retriable(err), details: { what, status } },
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** attempt)));
      }
    }
  }

  /** Lists at most one key of a bucket: does the bucket answer with these credentials? */
  async probe(bucket: string): Promise<void> {
    await this.call(`list s3://${bucket}/`, () =>
      this.client.send(new (sdk().ListObjectsV2Command)({ Bucket: bucket, MaxKeys: 1 })),
    );
  }

  destroy(): void {
    this.made?.destroy();
  }
}

const shared = new Map<string, S3Objects>();

/** One client per settings and cache folder, shared by every stage of a process. */
export function s3Objects(settings: S3Settings = {}, cacheDir: string | null = null): S3Objects {
  const key = JSON.stringify([settings, cacheDir]);
  let objects = shared.get(key);
  if (!objects) {
    objects = new S3Objects(settings, cacheDir);
    shared.set(key, objects);
  }
  return objects;
}
