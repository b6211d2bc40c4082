import { Type } from 'typebox';
import type { Http } from '../app.ts';
import type { Metrics } from '../metrics.ts';
import type { Readiness } from '../readiness.ts';

const PartStatus = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  latencyMs: Type.Number(),
  error: Type.Optional(Type.String()),
});

/** `/health`, `/ready` and `/metrics`: the platform's own routes. */
export function registerPlatformRoutes(http: Http, deps: { readiness: Readiness; metrics: Metrics }) {
  http.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['platform'],
        summary: 'Liveness: the process answers',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  http.get(
    '/ready',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['platform'],
        summary: 'Readiness: every part with its status and latency; 503 when a part is down',
        response: {
          200: Type.Object({ status: Type.String(), parts: Type.Record(Type.String(), PartStatus) }),
          503: Type.Object({ status: Type.String(), parts: Type.Record(Type.String(), PartStatus) }),
        },
      },
    },
    async (_req, reply) => {
      const { ready, parts } = await deps.readiness.run();
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'degraded', parts });
    },
  );

  http.get(
    '/metrics',
    { config: { auth: 'public' }, schema: { tags: ['platform'], summary: 'Prometheus metrics' } },
    async (_req, reply) => {
      const text = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(text);
    },
  );
}
