import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { account } from '../helpers/auth.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Outside dev mode the archery routes need tokens: reads a user, writes a device key or an
 * admin; refusals still come in the seed envelope.
 */
describe('archery without dev mode', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { ARCH_STATS_DEV_MODE: 'false' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('refuses anonymous calls in the envelope and serves signed-in ones', async () => {
    const anonymous = await server.http.inject({ method: 'GET', url: '/api/v0/session' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ code: 401, data: null });

    const user = await account(server, 'archer1');
    const read = await server.http.inject({ method: 'GET', url: '/api/v0/session', headers: user.headers });
    expect(read.json()).toEqual({ code: 200, data: [], errors: [] });
    const write = await server.http.inject({
      method: 'POST',
      url: '/api/v0/session',
      headers: user.headers,
      payload: { location: 'x' },
    });
    expect(write.statusCode).toBe(403);

    const admin = await account(server, 'coach1', 'admin');
    const created = await server.http.inject({
      method: 'POST',
      url: '/api/v0/session',
      headers: admin.headers,
      payload: { location: 'x' },
    });
    expect(created.statusCode).toBe(201);
  });

  it('refuses an anonymous socket', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v0/ws/shot`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    // Closing a socket that never opened emits an error; it is expected here.
    ws.on('error', () => undefined);
    ws.terminate();
    expect(status).toBe(401);
  });
});
