/**
 * Enforces each route's `config.auth` and sets `req.principal`. Credentials come from
 * `Authorization: Bearer <JWT | ck_ key | service token>`; browsers' WebSocket and EventSource
 * cannot set headers, so `?access_token=` / `?token=` are accepted as well (redacted from logs).
 */
import type { FastifyRequest } from 'fastify';
import type { Http, RouteAuth } from '../app.ts';
import { forbidden, unauthorized } from '../errors.ts';
import type { Principal } from './port.ts';
import type { AuthService } from './service.ts';

/** One row of the route table, collected as routes are added (the route-table test walks it). */
export interface RouteEntry {
  method: string;
  url: string;
  auth: RouteAuth | undefined;
}

function bearerOf(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? (m[1] as string) : null;
  }
  const query = req.query as Record<string, unknown> | undefined;
  // `?token=` too: the live channel's documented name for browsers' WebSocket/EventSource.
  const token = query?.access_token ?? query?.token;
  // Taken out of the query so that routes' strict query schemas do not refuse them.
  if (query) {
    delete query.access_token;
    delete query.token;
  }
  return typeof token === 'string' && token !== '' ? token : null;
}

/** Whether `p` may call a route declaring `need` (throws 401/403 otherwise). */
export function authorize(need: RouteAuth, p: Principal | null): void {
  if (need === 'public') return;
  if (p === null) throw unauthorized();
  const ok =
    need === 'user' ||
    p.role === 'admin' ||
    (need === 'device' && (p.role === 'device' || p.via === 'api_key' || p.via === 'service')) ||
    (need === 'service' && p.via === 'service');
  if (!ok) throw forbidden(`this route needs the ${need} role`);
}

/** Installs the hook and returns the route table it keeps. Call before any route is added. */
export function installAuth(http: Http, auth: AuthService): RouteEntry[] {
  const routes: RouteEntry[] = [];
  http.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods)
      routes.push({ method: String(method), url: route.url, auth: route.config?.auth });
    // The OpenAPI document shows which routes need a bearer credential.
    if (route.config?.auth !== undefined && route.config.auth !== 'public' && route.schema) {
      route.schema.security ??= [{ bearer: [] }];
    }
  });
  http.addHook('onRequest', async (req) => {
    // Unknown URLs (404) have no config: treat them as public so they answer 404, not 401.
    const need = req.routeOptions.config?.auth ?? 'public';
    const bearer = bearerOf(req);
    let principal: Principal | null = null;
    if (bearer !== null) {
      principal =
        (need === 'service' ? auth.servicePrincipal(bearer) : null) ?? (await auth.authenticate(bearer));
      // A stale token on a public route (e.g. /auth/refresh) is ignored rather than refused.
      if (principal === null && need !== 'public') throw unauthorized('invalid or expired token');
    } else {
      principal = auth.anonymous();
    }
    if (principal) req.principal = principal;
    authorize(need, principal);
  });
  return routes;
}
