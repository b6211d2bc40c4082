/**
 * The seed's response envelope `{code, data, errors}` for the whole archery scope: successes,
 * our errors, database rule violations, schema validation and unknown routes alike.
 */
import type { FastifyError } from 'fastify';
import type { Http, RouteAuth } from '../../platform/app.ts';
import { isDatabaseError, toAppError } from '../../platform/errors.ts';
import type { ArcheryService } from './service.ts';

export interface Envelope<T> {
  code: number;
  data: T;
  errors: string[];
}

export function ok<T>(data: T, code = 200): Envelope<T> {
  return { code, data, errors: [] };
}

/** What every route file gets: the service and who may read and write. */
export interface RouteContext {
  service: ArcheryService;
  auth: { read: RouteAuth; write: RouteAuth; socket: RouteAuth };
}

/**
 * Installs the envelope error and not-found handlers on the app's (encapsulated) scope, so
 * that the platform's `{detail, code}` shape stays for the other apps.
 */
export function useEnvelope(scope: Http) {
  scope.setErrorHandler((error: FastifyError, req, reply) => {
    if (error.validation) {
      const where = error.validationContext ?? 'body';
      const errors = error.validation.map((v) => `${where}${v.instancePath}: ${v.message ?? 'invalid'}`);
      return reply.status(422).send({ code: 422, data: null, errors });
    }
    if (typeof error.statusCode === 'number' && error.statusCode < 500 && error.code?.startsWith('FST_')) {
      return reply
        .status(error.statusCode)
        .send({ code: error.statusCode, data: null, errors: [error.message] });
    }
    const e = toAppError(error);
    if (e.status >= 500) req.log.error({ err: e.cause ?? e }, 'request failed');
    const errors = [e.message];
    // A rule the database enforced: its own sentence says which values broke it (our
    // constraint and trigger messages, never connection details or SQL).
    if (isDatabaseError(error) && error.code.startsWith('23')) errors.push(error.message);
    if (e.headers) void reply.headers(e.headers);
    return reply.status(e.status).send({ code: e.status, data: null, errors });
  });
  scope.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ code: 404, data: null, errors: [`no route ${req.method} ${req.url.split('?')[0]}`] }),
  );
}
