/**
 * The HTTP side shared by the training and inference services (fastify):
 * health, readiness, Prometheus metrics, OpenAPI documentation, bearer-token
 * protection of every endpoint that changes state, and errors that say what
 * was wrong.
 */
import { timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { isDfpError } from '../errors';
import type { Logger } from '../logging';
import type { ServiceMetrics } from './metrics';
import type { ServiceSettings } from './settings';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * An onRequest hook (it runs before the body is read) that lets a request through only
 * with the service's bearer token. `reads`: for endpoints that only read (model names,
 * run details), open when no token is configured.
 */
export function requireToken(settings: ServiceSettings, reads = false) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (settings.apiToken === null) {
      if (reads) return;
      return reply.code(403).send({
        error: 'forbidden',
        message: 'DFP_API_TOKEN is not set, so endpoints that change state are disabled',
      });
    }
    const header = request.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m || !sameToken(m[1].trim(), settings.apiToken)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="dfp"').send({
        error: 'unauthorized',
        message: 'a valid "Authorization: Bearer <token>" is needed',
      });
    }
  };
}

async function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function buildServer(
  settings: ServiceSettings,
  metrics: ServiceMetrics,
  logger: Logger,
  readiness: ReadinessCheck[],
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    bodyLimit: settings.bodyLimitBytes,
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: `DFP ${settings.kind} service`,
        version: '0.1.0',
        description:
          'Digital Fingerprinting: per-entity autoencoders over authentication and ' +
          'cloud-audit logs. Endpoints that change state need "Authorization: Bearer <token>".',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
    },
  });
  // While closing, answers tell clients to drop the connection, so that a kept-alive socket
  // does not hold the shutdown open until its idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.setErrorHandler((err, request, reply) => {
    const error = err as Error & { statusCode?: number; code?: string };
    if (isDfpError(error)) {
      // Our own errors: the request's fault (bad input, bad option), or the server's
      // (a store or sink that does not answer).
      const serverSide = /STORE_|SINK_|BACKEND/.test(error.code);
      return reply.code(serverSide ? 503 : 400).send({ error: error.code, message: error.message });
    }
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ error: error.code ?? 'error', message: error.message });
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get(
    '/healthz',
    { schema: { description: 'The process is up', tags: ['operations'] } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        description: 'Ready when the model store and, if used, Kafka and S3 answer',
        tags: ['operations'],
      },
    },
    async (_request, reply) => {
      const checks: Record<string, string> = {};
      let ready = true;
      await Promise.all(
        readiness.map(async ({ name, check }) => {
          try {
            await withTimeout(check(), 5_000);
            checks[name] = 'ok';
          } catch (err) {
            ready = false;
            checks[name] = (err as Error).message;
          }
        }),
      );
      return reply.code(ready ? 200 : 503).send({ ready, checks });
    },
  );
  app.get(
    '/metrics',
    { schema: { description: 'Prometheus metrics', tags: ['operations'] } },
    async (_request, reply) =>
      reply
        .header('content-type', metrics.registry.contentType)
        .send(await metrics.registry.metrics()),
  );
  return app;
}
