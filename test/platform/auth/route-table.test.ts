/**
 * Walks the route table: every route declares who may call it, a route that forgets is refused,
 * and every non-public route turns away an anonymous caller with 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createHttp } from '../../../src/platform/http/create-http.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import { backends, freshDatabase, silentLog } from '../../helpers/db.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const AUTHS = ['public', 'user', 'admin', 'device', 'service'];

describe.each(backends())('route table on %s', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(backend, { MINIO_EVENT_TOKEN: 'shared-webhook-token' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('has every route declaring its auth', () => {
    expect(server.routes.length).toBeGreaterThan(10);
    for (const r of server.routes) expect(AUTHS, `${r.method} ${r.url}`).toContain(r.auth);
  });

  it('answers 401 to anonymous calls of every non-public route', async () => {
    const guarded = server.routes.filter((r) => r.auth !== 'public' && r.method !== 'HEAD');
    expect(guarded.length).toBeGreaterThan(5);
    for (const r of guarded) {
      const url = r.url.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x');
      const res = await server.http.inject({ method: r.method as 'GET', url });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      expect(res.json<{ code: string }>().code).toBe('unauthorized');
    }
  });

  it('answers 401 to a bad token on every non-public route', async () => {
    for (const r of server.routes.filter((x) => x.auth !== 'public' && x.method !== 'HEAD')) {
      const url = r.url.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x');
      const res = await server.http.inject({
        method: r.method as 'GET',
        url,
        headers: { authorization: 'Bearer not-a-token' },
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
    }
  });
});

describe('route declarations', () => {
  it('refuses a route that does not declare config.auth', async () => {
    const fresh = await freshDatabase('pglite');
    const http = await createHttp({ log: silentLog, metrics: createMetrics(fresh.db), version: 'test' });
    try {
      expect(() => http.get('/forgot', async () => 'x')).toThrow(/does not declare config.auth/);
    } finally {
      await http.close();
      await fresh.dispose();
    }
  });

  it.each([
    [{ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), AUTH_MODE: 'open' }, /AUTH_MODE: open is refused/],
    [{ NODE_ENV: 'production' }, /JWT_SECRET: must be set/],
    [{ JWT_SECRET: 'short' }, /JWT_SECRET: must be at least 32/],
  ])('refuses an unsafe auth configuration %#', (env, message) => {
    expect(() => loadConfig(env, '/tmp')).toThrow(message);
  });
});

describe('AUTH_MODE=open', () => {
  it('lets anonymous callers act as the local admin, and still honours tokens', async () => {
    const server = await startTestServer('pglite', {
      AUTH_MODE: 'open',
      OBJECT_RESCAN_INTERVAL_SECONDS: '0',
    });
    try {
      const me = await server.http.inject({ method: 'GET', url: '/auth/me' });
      expect(me.json()).toMatchObject({ username: 'local', role: 'admin', via: 'open' });
      const up = await server.http.inject({
        method: 'POST',
        url: '/storage/presign/upload?object_name=a.h5',
      });
      expect(up.json()).toMatchObject({ key: 'local/a.h5' });
      const bad = await server.http.inject({
        method: 'GET',
        url: '/auth/me',
        headers: { authorization: 'Bearer nonsense' },
      });
      expect(bad.statusCode).toBe(401);
    } finally {
      await server.stop();
    }
  });
});

describe('tokens in the query string', () => {
  it('accepts ?access_token= and ?token= (for browsers’ WebSocket/EventSource) on strict routes', async () => {
    const server = await startTestServer('pglite', { OBJECT_RESCAN_INTERVAL_SECONDS: '0' });
    try {
      await server.core.auth.createUser('query1', 'query-password', 'user');
      const login = await server.http.inject({
        method: 'POST',
        url: '/auth/password?u=query1&p=query-password',
      });
      const { access } = login.json<{ access: string }>();
      for (const param of ['access_token', 'token']) {
        // /storage/list has a strict query schema: the token must not count as an unknown field.
        const res = await server.http.inject({
          method: 'GET',
          url: `/storage/list?prefix=a/&${param}=${access}`,
        });
        expect(res.statusCode, param).toBe(200);
      }
      const bad = await server.http.inject({ method: 'GET', url: '/storage/list?token=bad' });
      expect(bad.statusCode).toBe(401);
    } finally {
      await server.stop();
    }
  });
});

describe('OpenAPI document', () => {
  it('marks every non-public route as needing a bearer credential', async () => {
    const server = await startTestServer('pglite', { OBJECT_RESCAN_INTERVAL_SECONDS: '0' });
    try {
      const doc = (await server.http.inject({ method: 'GET', url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, { security?: unknown }>>;
      }>();
      expect(doc.paths['/auth/me']?.get?.security).toEqual([{ bearer: [] }]);
      expect(doc.paths['/storage/list']?.get?.security).toEqual([{ bearer: [] }]);
      expect(doc.paths['/auth/register']?.post?.security).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});
