/**
 * The inference service: `POST /score` scores log records sent in the request
 * and answers with every record's scores and the detections among them;
 * `GET /models` lists the models in the store; the configured Kafka topics or
 * watched inputs are scored in the background as the service's main work.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { getNumbers, withColumns } from '../table';
import type { Logger } from '../logging';
import { Scorer } from '../pipeline/infer';
import { runKafkaInference } from '../pipeline/kafka-inference';
import type { PipelineContext } from '../pipeline/train';
import { runWatch } from '../pipeline/watch';
import { ORIGIN_COLUMNS, decodeRecords } from '../schema/decode';
import type { SinkRow } from '../sinks/types';
import { ServiceMetrics } from './metrics';
import { observeWhileRunning, readinessChecks, streamObserver } from './checks';
import { MainWork } from './main-work';
import { buildServer, requireToken } from './server';
import type { ServiceSettings } from './settings';

/** Rows handed to a sink, kept for the request being answered. */
class Collector {
  rows: SinkRow[] = [];
  written = 0;
  readonly currentPath = 'response';
  async write(rows: SinkRow[]) {
    this.rows.push(...rows);
    this.written += rows.length;
  }
}

/** Runs one piece of work at a time, in arrival order. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export interface Service {
  app: FastifyInstance;
  /**
   * Settles when the main work (Kafka, watch) fails: the process should stop, so that
   * its supervisor restarts it, rather than stay up doing nothing.
   */
  failed: Promise<Error>;
  /** Starts the main work (Kafka or watch) in the background. */
  start(): void;
  /** Stops taking requests, finishes those in flight and the main work's batch, then resolves. */
  stop(): Promise<void>;
}

export async function buildInferenceService(
  settings: ServiceSettings,
  ctx: PipelineContext,
  logger: Logger,
): Promise<Service> {
  const config = settings.pipeline;
  const metrics = new ServiceMetrics('inference');
  const app = await buildServer(settings, metrics, logger, readinessChecks(settings, ctx));
  const detections = new Collector();
  const deadLetters = new Collector();
  // Every row is kept (threshold 0) so the answer has each record's scores.
  const scorer = new Scorer({ ...config, filterThreshold: 0 }, ctx, { detections, deadLetters });
  const lock = new Mutex();
  const observeCache = metrics.cacheObserver();
  let requestNo = 0;

  app.post(
    '/score',
    {
      onRequest: requireToken(settings),
      schema: {
        description:
          'Scores log records (a JSON array, or {"records": [...]}) and returns the scores of ' +
          'each and the detections among them',
        tags: ['scoring'],
        security: [{ bearer: [] }],
        // The shape is checked in the handler: a schema here would let the validator coerce
        // a bare value into an array.
      },
    },
    async (request, reply) => {
      const body = request.body as unknown;
      const records = Array.isArray(body)
        ? body
        : body && typeof body === 'object' && Array.isArray((body as { records?: unknown }).records)
          ? (body as { records: unknown[] }).records
          : null;
      if (!records) {
        return reply.code(400).send({
          error: 'bad_request',
          message: 'the body must be a JSON array of log records, or {"records": [...]}',
        });
      }
      const label = `request ${++requestNo}`;
      return lock.run(async () => {
        detections.rows = [];
        deadLetters.rows = [];
        const report = scorer.report;
        const before = {
          scored: report.scored,
          duplicates: report.duplicates,
          detections: report.detections,
        };
        const decoded = decodeRecords(records, config.source, label, { origin: true });
        report.records += records.length;
        report.rejected += decoded.rejects.length;
        report.rows += decoded.table.numRows;
        // A record's origin is its content, not its place in this request: the same record
        // sent again (a client's retry) is then a repeat, not a new event that would inflate
        // its entity's logcount.
        const positions = new Map<string, number[]>();
        let table = decoded.table;
        if (table.numRows > 0) {
          const at = getNumbers(table, ORIGIN_COLUMNS.index);
          const ids = Array.from(at, (i) => {
            const digest = createHash('sha256').update(JSON.stringify(records[i])).digest('hex');
            const id = `request:${digest.slice(0, 32)}`;
            positions.set(id, [...(positions.get(id) ?? []), i]);
            return id;
          });
          table = withColumns(table, [
            { name: ORIGIN_COLUMNS.source, type: 'string', values: ids },
            { name: ORIGIN_COLUMNS.index, type: 'int', values: ids.map(() => 0) },
          ]);
          await scorer.scoreTable(table);
        }
        const threshold = config.filterThreshold;
        const scores = detections.rows
          .flatMap((row) =>
            (positions.get(String(row[ORIGIN_COLUMNS.source])) ?? []).map((record) => ({
              record,
              entity: row[config.source.entityColumn],
              mean_abs_z: row.mean_abs_z,
              max_abs_z: row.max_abs_z,
              detection: (row.mean_abs_z as number) >= threshold,
              model_version: row.model_version,
              detection_id: row.detection_id,
            })),
          )
          .sort((a, b) => a.record - b.record);
        const found = detections.rows.filter((r) => (r.mean_abs_z as number) >= threshold);
        // The scorer counted every row it kept; only those at the threshold are detections.
        report.detections = before.detections + found.length;
        metrics.observeReport(report);
        observeCache(scorer.cacheStats());
        return {
          records: records.length,
          scored: report.scored - before.scored,
          duplicates: report.duplicates - before.duplicates,
          threshold,
          scores,
          detections: found,
          rejected: decoded.rejects.map((r) => ({
            record: r.index,
            field: r.field,
            reason: r.reason,
          })),
          dead_lettered: deadLetters.rows.map((r) => ({
            entity: r.entity,
            reason: r.reason,
            records: positions.get(
              String((r.row as Record<string, unknown>)[ORIGIN_COLUMNS.source]),
            ),
          })),
        };
      });
    },
  );

  app.get(
    '/models',
    {
      onRequest: requireToken(settings, true),
      schema: { description: 'Models in the store and their newest versions', tags: ['models'] },
    },
    async () => {
      const prefix = `DFP-${config.source.name}-`;
      const names = (await ctx.store.list()).filter((n) => n.startsWith(prefix)).sort();
      const models = await Promise.all(
        names.map(async (name) => {
          const latest = await ctx.store.latest(name);
          return { name, version: latest?.version ?? null, tags: latest?.tags ?? {} };
        }),
      );
      return { store: ctx.store.uri, source: config.source.name, models };
    },
  );

  const main = new MainWork(metrics, logger.child({ component: 'main-work' }));
  return {
    app,
    failed: main.failed,
    start() {
      if (settings.mainWork === 'none') return;
      main.start(settings.mainWork, (signal) =>
        settings.mainWork === 'kafka' && settings.kafka
          ? runKafkaInference(config, ctx, settings.kafka, signal, streamObserver(metrics))
          : (async () => {
              const worker = new Scorer(config, ctx);
              const stopObserving = observeWhileRunning(metrics, worker.report, () =>
                worker.cacheStats(),
              );
              try {
                return await runWatch(config, worker, 'inference', signal, logger);
              } finally {
                stopObserving();
                worker.close();
              }
            })(),
      );
    },
    async stop() {
      await app.close();
      await main.stop();
      scorer.close();
    },
  };
}
