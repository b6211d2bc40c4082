import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(backends())('platform routes on %s', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(backend);
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each([
    { url: '/health', status: 200, contains: '"status":"ok"' },
    { url: '/ready', status: 200, contains: '"database":{"status":"up"' },
    { url: '/openapi.json', status: 200, contains: '"openapi":"3.0.3"' },
    { url: '/docs', status: 200, contains: '' },
    { url: '/metrics', status: 200, contains: 'db_pool_connections{state="total"}' },
    { url: '/nope', status: 404, contains: '"code":"not_found"' },
  ])('GET $url → $status', async ({ url, status, contains }) => {
    const res = await server.http.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(status);
    expect(res.body).toContain(contains);
  });

  it('compiles the schema of every route of every app (compiled on first use otherwise)', () => {
    expect(() => server.http.compileSchemas()).not.toThrow();
  });

  it('answers over real HTTP with a request id', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/[0-9a-f-]{36}/);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('counts requests in /metrics', async () => {
    await server.http.inject({ method: 'GET', url: '/health' });
    const res = await server.http.inject({ method: 'GET', url: '/metrics' });
    expect(res.body).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} \d+/,
    );
  });
});
