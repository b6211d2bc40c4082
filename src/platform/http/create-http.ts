import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyError } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Http } from '../app.ts';
import { toAppError } from '../errors.ts';
import { lazyCompilers } from './lazy-compilers.ts';
import type { Metrics } from '../metrics.ts';

export interface HttpOptions {
  log: Logger;
  metrics: Metrics;
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  version: string;
}

/** Routes added by plugins (Swagger UI) that are public by nature. */
const PLUGIN_ROUTE = /^\/docs(\/|$)/;

/**
 * Builds the Fastify instance every app mounts on: request ids, redacted pino logs, TypeBox
 * validation that rejects unknown properties, the OpenAPI document, one error handler and
 * HTTP metrics. Every route must declare `config.auth`.
 */
export async function createHttp(opts: HttpOptions): Promise<Http> {
  const compilers = lazyCompilers();
  const app = Fastify({
    schemaController: { compilersFactory: compilers.compilersFactory },
    loggerInstance: opts.log,
    bodyLimit: opts.bodyLimit ?? 10 * 1024 * 1024,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true },
    ajv: {
      // Reject unknown properties instead of silently dropping them; coerce query strings.
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorate('compileSchemas', () => compilers.compileAll());

  app.addHook('onRoute', (route) => {
    if (PLUGIN_ROUTE.test(route.url)) return;
    if (route.config?.auth === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} does not declare config.auth`);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  app.addHook('onResponse', async (req, reply) => {
    opts.metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((error: FastifyError, req, reply) => {
    if (error.validation) {
      // FastAPI-compatible shape: the seed systems' clients read `detail`.
      return reply.status(422).send({
        detail: error.validation.map((v) => ({
          loc: [error.validationContext ?? 'body', ...v.instancePath.split('/').filter(Boolean)],
          msg: v.message ?? 'invalid',
          type: v.keyword,
        })),
        code: 'validation_failed',
      });
    }
    if (typeof error.statusCode === 'number' && error.statusCode < 500 && error.code?.startsWith('FST_')) {
      // Fastify's own client errors (bad JSON, body too large, unsupported media type).
      return reply.status(error.statusCode).send({ detail: error.message, code: error.code.toLowerCase() });
    }
    const e = toAppError(error);
    if (e.status >= 500) req.log.error({ err: e.cause ?? e }, 'request failed');
    if (e.headers) void reply.headers(e.headers);
    return reply.status(e.status).send({ detail: e.message, code: e.code, ...e.extra });
  });

  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ detail: `no route ${req.method} ${req.url.split('?')[0]}`, code: 'not_found' }),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Conflux',
        version: opts.version,
        description: 'Five backends on one platform: grid, bench, archery, trials and evals.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or ck_ API key' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // WebSocket routes (`{ websocket: true }`) for the live channel and app sockets.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());

  return app as unknown as Http;
}
