/**
 * Starts a service from the environment: settings validated (exit 2 with every
 * problem listed), model backend and store opened, HTTP listening on DFP_PORT,
 * main work started. SIGTERM or SIGINT stops taking requests, finishes those
 * in flight and the main work's batch, and exits 0.
 */
import { join } from 'node:path';
import { DfpError, errorMessage } from '../errors';
import { createLogger } from '../logging';
import {
  type BackendRequest,
  createTrainerPool,
  initBackend,
  scoringEngine,
  setScoringEngine,
  stopSessionWorker,
} from '../model';
import type { PipelineContext } from '../pipeline/train';
import { LocalModelStore } from '../store/local-store';
import { openModelStore } from '../store/open';
import { buildInferenceService } from './inference-app';
import { type ServiceKind, loadServiceSettings } from './settings';
import { buildTrainingService } from './training-app';

export async function runService(kind: ServiceKind): Promise<number> {
  let settings;
  try {
    settings = await loadServiceSettings(kind);
  } catch (err) {
    process.stderr.write(`dfp-${kind}: ${errorMessage(err)}\n`);
    return 2;
  }
  const logger = createLogger({ level: settings.logLevel }).child({ service: `dfp-${kind}` });
  const config = settings.pipeline;
  try {
    const backend = await initBackend(settings.mlBackend as BackendRequest);
    setScoringEngine(settings.scoringEngine);
    scoringEngine();
    const store = openModelStore(config.trackingUri);
    const pool =
      kind === 'training'
        ? createTrainerPool({ size: config.workers, backend: settings.mlBackend as BackendRequest })
        : undefined;
    const spool =
      store instanceof LocalModelStore
        ? undefined
        : new LocalModelStore(join(config.cacheDir ?? '.cache/dfp', 'unregistered-models'));
    // Pipeline stages (reading, scoring, training, stores, Kafka) log as one component.
    const ctx: PipelineContext = {
      logger: logger.child({ component: 'pipeline' }),
      store,
      pool,
      spool,
    };
    const service =
      kind === 'training'
        ? await buildTrainingService(settings, ctx, logger)
        : await buildInferenceService(settings, ctx, logger);
    const address = await service.app.listen({ host: settings.host, port: settings.port });
    logger.info(
      {
        address,
        backend,
        store: store.uri,
        work: settings.mainWork,
        auth: settings.apiToken !== null,
      },
      'service ready',
    );
    service.start();
    const failure = await new Promise<Error | null>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        logger.info({ signal }, 'stopping: finishing requests and the batch in flight');
        resolve(null);
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      void service.failed.then(resolve);
    });
    await service.stop();
    await pool?.close();
    // ONNX Runtime's thread ended in order: killed by the exit, it can abort the process.
    await stopSessionWorker();
    logger.info('stopped');
    if (failure) {
      process.stderr.write(`dfp-${kind}: main work failed: ${errorMessage(failure)}\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof DfpError) logger.error({ code: err.code }, err.message);
    else logger.error({ err }, 'service failed');
    process.stderr.write(`dfp-${kind}: ${errorMessage(err)}\n`);
    return 1;
  }
}
