/**
 * A service's main work (a Kafka stream or a watch) in the background: its report goes
 * into the metrics, and a failure settles `failed`, so that the service stops and its
 * supervisor restarts it rather than leave a process up doing nothing.
 */
import { errorMessage } from '../errors';
import type { Logger } from '../logging';
import type { RunReport } from '../pipeline/report';
import type { ServiceMetrics } from './metrics';

export class MainWork {
  readonly failed: Promise<Error>;
  private fail: (err: Error) => void = () => undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly metrics: ServiceMetrics,
    private readonly logger: Logger,
  ) {
    this.failed = new Promise<Error>((resolve) => (this.fail = resolve));
  }

  start(name: string, work: (signal: AbortSignal) => Promise<RunReport>): void {
    this.logger.info({ work: name }, 'main work starting');
    this.running = work(this.abort.signal).then(
      (report) => this.metrics.observeReport(report),
      (err: unknown) => {
        this.logger.error({ err: errorMessage(err) }, 'main work failed; the service stops');
        this.fail(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  /** Aborts the work and waits for its batch in flight. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }
}
