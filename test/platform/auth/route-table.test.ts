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
