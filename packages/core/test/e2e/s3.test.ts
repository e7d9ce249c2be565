/**
 * The S3 client against a real S3-compatible server (scripts/services.sh up s3,
 * or MinIO through testcontainers): listing follows every page, globs select
 * keys, filecache:: downloads each object version once, and outputs are new
 * objects that never replace earlier ones.
 */
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Sink } from '../../src/sinks/s3-sink';
import { S3Objects } from '../../src/sources/s3';
import { tempDir } from '../pipeline/helpers';
import { s3Server, uniqueSuffix } from '../support/services';

async function putMany(objects: S3Objects, bucket: string, keys: string[], body: string) {
  for (let i = 0; i < keys.length; i += 32) {
    await Promise.all(
      keys
        .slice(i, i + 32)
        .map((Key) =>
          objects.client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body })),
        ),
    );
  }
}

describe('e2e > s3 objects', () => {
  let objects: S3Objects;
  let bucket: string;

  beforeAll(async () => {
    const env = await s3Server();
    objects = new S3Objects({ endpoint: env.AWS_ENDPOINT_URL });
    bucket = `dfp-s3-${uniqueSuffix()}`;
    await objects.client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(() => objects?.destroy());

  it('follows every listing page past 1,000 keys and matches globs over keys', async () => {
    const keys = Array.from(
      { length: 1150 },
      (_, i) => `many/DUO_2022-08-${String(1 + (i % 28)).padStart(2, '0')}_${i}.json`,
    );
    await putMany(objects, bucket, [...keys, 'many/readme.txt', 'manyother/x.json'], '[]');
    expect(await objects.list(`s3://${bucket}/many/*.json`)).toHaveLength(1150);
    // Pages of 400 keys (some servers answer 1,000 at most, some more): three pages.
    const paged = new S3Objects({ endpoint: objects.settings.endpoint, pageSize: 400 });
    const found = await paged.list(`s3://${bucket}/many/*.json`);
    expect(found).toHaveLength(1150);
    expect(paged.stats.listPages).toBe(3);
    paged.destroy();
    expect(new Set(found.map((o) => o.key))).toEqual(new Set(keys));
    expect(found.every((o) => o.size === 2 && o.etag.length > 0)).toBe(true);
    // A prefix ending in / is a folder: everything under it, the .txt too.
    expect(await objects.list(`s3://${bucket}/many/`)).toHaveLength(1151);
    const day = await objects.list(`s3://${bucket}/many/DUO_2022-08-0[1-3]_*.json`);
    expect(day.length).toBe(keys.filter((k) => /08-0[1-3]_/.test(k)).length);
  }, 120_000);

  it('filecache:: downloads an object version once, across runs', async () => {
    const cacheDir = await tempDir('dfp-s3-cache-');
    await putMany(objects, bucket, ['cached/a.json', 'cached/b.json'], '[{"v":1}]');
    const endpoint = objects.settings.endpoint;
    const first = new S3Objects({ endpoint }, cacheDir);
    const uris = (await first.list(`filecache::s3://${bucket}/cached/*.json`)).map(
      (o) => `filecache::${o.uri}`,
    );
    for (const uri of uris) expect((await first.read(uri)).toString()).toBe('[{"v":1}]');
    expect(first.stats).toMatchObject({ gets: 2, cacheHits: 0 });

    const second = new S3Objects({ endpoint }, cacheDir);
    await second.list(`s3://${bucket}/cached/*.json`);
    for (const uri of uris) expect((await second.read(uri)).toString()).toBe('[{"v":1}]');
    expect(second.stats).toMatchObject({ gets: 0, cacheHits: 2 });

    // A new version of an object (another ETag) is downloaded again.
    await putMany(objects, bucket, ['cached/a.json'], '[{"v":2}]');
    const third = new S3Objects({ endpoint }, cacheDir);
    await third.list(`s3://${bucket}/cached/*.json`);
    expect((await third.read(uris[0])).toString()).toBe('[{"v":2}]');
    expect(third.stats).toMatchObject({ gets: 1, cacheHits: 0 });
    first.destroy();
    second.destroy();
    third.destroy();
  });

  it('writes outputs as new objects per day, never replacing earlier ones', async () => {
    const rows = [
      { t: '2022-08-30T01:00:00.000Z', n: 1 },
      { t: '2022-08-31T01:00:00.000Z', n: 2 },
      { t: '2022-08-30T02:00:00.000Z', n: 3 },
    ];
    const options = {
      name: 'dfp-detections-duo',
      dayOf: (r: Record<string, unknown>) => String(r.t).slice(0, 10),
    };
    const a = new S3Sink(objects, `s3://${bucket}/out/`, options);
    await a.write(rows);
    await a.flush();
    // A second run (a restart) with the same rows adds objects; it replaces none.
    const b = new S3Sink(objects, `s3://${bucket}/out/`, options);
    await b.write(rows);
    await b.flush();
    const listed = await objects.list(`s3://${bucket}/out/`);
    expect(listed).toHaveLength(4);
    expect(listed.filter((o) => o.key.startsWith('out/dt=2022-08-30/'))).toHaveLength(2);
    const day30 = await objects.read(a.objects[0]);
    expect(
      day30
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).n),
    ).toEqual([1, 3]);
  });

  it('keeps rows written while a flush is under way for the next flush', async () => {
    const options = {
      name: 'dfp-dead-letters-duo',
      dayOf: (r: Record<string, unknown>) => String(r.t).slice(0, 10),
    };
    const sink = new S3Sink(objects, `s3://${bucket}/late/`, options);
    await sink.write([{ t: '2022-08-30T01:00:00.000Z', n: 1 }]);
    const flushing = sink.flush();
    await sink.write([{ t: '2022-08-30T02:00:00.000Z', n: 2 }]);
    await flushing;
    await sink.flush();
    const numbers = [];
    for (const uri of sink.objects) {
      const text = (await objects.read(uri)).toString().trim();
      numbers.push(...text.split('\n').map((l) => JSON.parse(l).n as number));
    }
    expect(numbers.sort()).toEqual([1, 2]);
  });

  it('names the object and the status when a read fails', async () => {
    await expect(objects.read(`s3://${bucket}/no/such.json`)).rejects.toThrow(
      new RegExp(`S3 read s3://${bucket}/no/such.json failed after 1 attempt.*404`),
    );
  });
});
