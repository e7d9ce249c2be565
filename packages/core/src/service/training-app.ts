/**
 * The training service: `POST /train` starts a training run over given inputs
 * and returns its id; `GET /runs/:id` reports its progress and summary. Runs
 * go one at a time, in order. `DFP_TRAIN_SCHEDULE_S` retrains the configured
 * inputs periodically; configured Kafka topics or watched inputs are trained
 * on continuously as the service's main work.
 */
import { randomUUID } from 'node:crypto';
import { resolve, sep } from 'node:path';
import { isS3Uri } from '../sources/s3';
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import type { TrainUsers } from '../entities/split';
import { expandInputs } from '../pipeline/inputs';
import { runKafkaTraining } from '../pipeline/kafka-training';
import type { RunReport } from '../pipeline/report';
import { objectsOf } from '../pipeline/stages';
import { type PipelineContext, Trainer } from '../pipeline/train';
import { runWatch } from '../pipeline/watch';
import type { Service } from './inference-app';
import { ServiceMetrics } from './metrics';
import { observeWhileRunning, readinessChecks, streamObserver } from './checks';
import { MainWork } from './main-work';
import { buildServer, requireToken } from './server';
import type { ServiceSettings } from './settings';

interface Run {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  trigger: 'request' | 'schedule';
  inputs: string[];
  trainUsers: TrainUsers;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  error: string | null;
  report: RunReport | null;
}

const MAX_RUNS_KEPT = 200;

/** S3 locations, and paths inside one of the allowed folders (after resolving `..`). */
export function inputAllowed(input: string, roots: readonly string[]): boolean {
  if (isS3Uri(input)) return true;
  const path = resolve(input);
  return roots.some(
    (root) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep),
  );
}

export async function buildTrainingService(
  settings: ServiceSettings,
  ctx: PipelineContext,
  logger: Logger,
): Promise<Service> {
  const config = settings.pipeline;
  const metrics = new ServiceMetrics('training');
  const app = await buildServer(settings, metrics, logger, readinessChecks(settings, ctx));
  const runs = new Map<string, Run>();
  const queue: Run[] = [];
  let active: Promise<void> | null = null;

  const execute = async (run: Run) => {
    run.status = 'running';
    run.startedAt = new Date().toISOString();
    const started = Date.now();
    const trainer = new Trainer({ ...config, inputs: run.inputs, trainUsers: run.trainUsers }, ctx);
    run.report = trainer.report;
    try {
      await trainer.processFiles(await expandInputs(run.inputs, objectsOf(config)));
      const failed = trainer.report.entities.some((e) => e.status === 'failed');
      const empty = trainer.report.rows === 0;
      run.status = failed || empty ? 'failed' : 'succeeded';
      if (failed) run.error = 'some entities failed to train; see report.entities';
      else if (empty) run.error = 'no usable records in the inputs; see report.failedFiles';
    } catch (err) {
      run.status = 'failed';
      run.error = errorMessage(err);
      logger
        .child({ component: 'training-runs' })
        .error({ run: run.id, err: run.error }, 'training run failed');
    }
    run.endedAt = new Date().toISOString();
    metrics.trainingRuns.inc({ status: run.status });
    metrics.trainingDuration.observe((Date.now() - started) / 1000);
    metrics.observeReport(trainer.report);
  };
  const pump = () => {
    if (active) return;
    const next = queue.shift();
    if (!next) return;
    active = execute(next).finally(() => {
      active = null;
      pump();
    });
  };
  const enqueue = (inputs: string[], trainUsers: TrainUsers, trigger: Run['trigger']): Run => {
    const run: Run = {
      id: randomUUID(),
      status: 'queued',
      trigger,
      inputs,
      trainUsers,
      queuedAt: new Date().toISOString(),
      startedAt: null,
      endedAt: null,
      error: null,
      report: null,
    };
    runs.set(run.id, run);
    // Old finished runs make room; a queued or running one is never dropped.
    for (const [id, r] of runs) {
      if (runs.size <= MAX_RUNS_KEPT) break;
      if (r.status === 'succeeded' || r.status === 'failed') runs.delete(id);
    }
    queue.push(run);
    pump();
    return run;
  };

  app.post(
    '/train',
    {
      onRequest: requireToken(settings),
      schema: {
        description: 'Starts a training run over the given inputs (files, globs, s3://)',
        tags: ['training'],
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['inputs'],
          additionalProperties: false,
          properties: {
            inputs: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
            train_users: { type: 'string', enum: ['all', 'generic', 'individual'] },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { inputs: string[]; train_users?: TrainUsers };
      const outside = body.inputs.filter((i) => !inputAllowed(i, settings.trainInputRoots));
      if (outside.length > 0) {
        return reply.code(400).send({
          error: 'input_not_allowed',
          message:
            `inputs outside DFP_TRAIN_INPUT_ROOTS (${settings.trainInputRoots.join(', ')}): ` +
            outside.join(', '),
        });
      }
      const run = enqueue(body.inputs, body.train_users ?? config.trainUsers, 'request');
      return reply.code(202).send({ id: run.id, status: run.status, url: `/runs/${run.id}` });
    },
  );

  app.get(
    '/runs',
    {
      onRequest: requireToken(settings, true),
      schema: { description: 'Recent training runs, newest first', tags: ['training'] },
    },
    async () => ({
      runs: [...runs.values()].reverse().map((r) => ({
        id: r.id,
        status: r.status,
        trigger: r.trigger,
        queuedAt: r.queuedAt,
        endedAt: r.endedAt,
        error: r.error,
      })),
    }),
  );

  app.get(
    '/runs/:id',
    {
      onRequest: requireToken(settings, true),
      schema: { description: 'Progress and summary of a training run', tags: ['training'] },
    },
    async (request, reply) => {
      const run = runs.get((request.params as { id: string }).id);
      if (!run) return reply.code(404).send({ error: 'not_found', message: 'no such run' });
      const r = run.report;
      return {
        ...run,
        progress: r
          ? {
              files: r.files,
              batches: r.batches,
              rows: r.rows,
              models_trained: r.entities.filter((e) => e.status === 'trained').length,
            }
          : null,
      };
    },
  );

  const main = new MainWork(metrics, logger.child({ component: 'main-work' }));
  let schedule: NodeJS.Timeout | undefined;
  return {
    app,
    failed: main.failed,
    start() {
      if (settings.trainScheduleMs !== null && config.inputs.length > 0) {
        schedule = setInterval(() => {
          // A retrain waits for the previous one rather than piling up.
          if (queue.length === 0 && !active) enqueue(config.inputs, config.trainUsers, 'schedule');
        }, settings.trainScheduleMs);
      }
      if (settings.mainWork === 'none') return;
      main.start(settings.mainWork, (signal) =>
        settings.mainWork === 'kafka' && settings.kafka
          ? runKafkaTraining(config, ctx, settings.kafka, signal, streamObserver(metrics))
          : (async () => {
              const worker = new Trainer(config, ctx);
              const stopObserving = observeWhileRunning(metrics, worker.report);
              try {
                return await runWatch(config, worker, 'training', signal, logger);
              } finally {
                stopObserving();
              }
            })(),
      );
    },
    async stop() {
      clearInterval(schedule);
      await app.close();
      queue.length = 0;
      await Promise.all([main.stop(), active]);
    },
  };
}
