/**
 * Protocol corner cases of the S3 client that a real server will not produce
 * on demand, served by a small HTTP stub: a truncated listing page without a
 * continuation token, transient 503s on reads, and a server that never answers.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Objects } from '../../src/sources/s3';

function listing(keys: string[], truncated: boolean, token?: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>' +
    `<IsTruncated>${truncated}</IsTruncated>` +
    (token ? `<NextContinuationToken>${token}</NextContinuationToken>` : '') +
    keys
      .map(
        (k) =>
          `<Contents><Key>${k}</Key><Size>2</Size><ETag>"e"</ETag>` +
          '<LastModified>2022-08-30T00:00:00.000Z</LastModified></Contents>',
      )
      .join('') +
    '</ListBucketResult>'
  );
}

describe('sources > s3 protocol quirks', () => {
  let server: Server;
  let endpoint: string;
  let handler: (url: URL) => { status: number; body: string };

  beforeAll(async () => {
    // The SDK signs every request; the stub does not check what with.
    process.env.AWS_ACCESS_KEY_ID ??= 'stub';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'stub';
    server = createServer((req, res) => {
      const { status, body } = handler(new URL(req.url ?? '/', 'http://x'));
      res.writeHead(status, { 'content-type': 'application/xml' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('follows continuation tokens, and refuses a truncated page that gives none', async () => {
    handler = (url) =>
      url.searchParams.get('continuation-token') === 'p2'
        ? { status: 200, body: listing(['logs/b.json'], false) }
        : { status: 200, body: listing(['logs/a.json'], true, 'p2') };
    const objects = new S3Objects({ endpoint, region: 'us-east-1' });
    expect((await objects.list('s3://bkt/logs/*.json')).map((o) => o.key)).toEqual([
      'logs/a.json',
      'logs/b.json',
    ]);
    handler = () => ({ status: 200, body: listing(['logs/a.json'], true) });
    await expect(objects.list('s3://bkt/logs/*.json')).rejects.toThrow(
      /listing of s3:\/\/bkt\/logs\/ page 1 is truncated but gives no continuation token/,
    );
    objects.destroy();
  });

  it('retries transient read failures within the deadline, not a missing key', async () => {
    let calls = 0;
    handler = () => {
      calls += 1;
      return calls <= 5
        ? { status: 503, body: '<Error><Code>SlowDown</Code></Error>' }
        : { status: 200, body: '[{"a":1}]' };
    };
    const objects = new S3Objects({ endpoint, region: 'us-east-1', deadlineMs: 30_000 });
    expect((await objects.read('s3://bkt/logs/a.json')).toString()).toBe('[{"a":1}]');
    expect(calls).toBe(6);

    calls = 0;
    handler = () => {
      calls += 1;
      return { status: 404, body: '<Error><Code>NoSuchKey</Code></Error>' };
    };
    await expect(objects.read('s3://bkt/logs/gone.json')).rejects.toThrow(/HTTP 404/);
    expect(calls).toBe(1);
    objects.destroy();
  }, 60_000);

  it('abandons a request the server never answers, and fails by the deadline', async () => {
    // Accepts connections and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const objects = new S3Objects({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      deadlineMs: 1_000,
      socketTimeoutMs: 300,
    });
    const started = Date.now();
    try {
      await expect(objects.read('s3://bkt/logs/a.json')).rejects.toThrow(/S3 .*failed after/);
      // At most the SDK's own 4 attempts of 300 ms, plus backoff, per attempt of ours.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      objects.destroy();
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  }, 60_000);

  it('says what is wrong with a location that is not S3', () => {
    const objects = new S3Objects({ endpoint });
    expect(() => objects.list('s3://Bad_Bucket/x')).rejects.toThrow(/not an S3 location/);
    objects.destroy();
  });
});
