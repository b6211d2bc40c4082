import { Writable } from 'node:stream';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Http } from '../../src/platform/app.ts';
import { conflict, notFound, unavailable } from '../../src/platform/errors.ts';
import { createHttp } from '../../src/platform/http/create-http.ts';
import { createLogger } from '../../src/platform/log.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import type { Database } from '../../src/platform/db/port.ts';

const fakePool = { poolStats: () => ({ total: 0, idle: 0, waiting: 0 }) } as unknown as Database;

describe('HTTP errors', () => {
  let http: Http;
  const logged: string[] = [];
  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _e, cb) {
        logged.push(chunk.toString());
        cb();
      },
    });
    http = await createHttp({
      log: createLogger({ level: 'info', destination }),
      metrics: createMetrics(fakePool),
      version: 'test',
    });
    const pub = { config: { auth: 'public' as const } };
    http.get('/missing', pub, async () => {
      throw notFound('widget');
    });
    http.get('/conflict', pub, async () => {
      throw conflict('name taken');
    });
    http.get('/busy', pub, async () => {
      throw unavailable('try later', 3);
    });
    http.get('/crash', pub, async () => {
      throw new Error('secret internal detail');
    });
    http.post(
      '/things',
      {
        ...pub,
        schema: {
          body: Type.Object({ name: Type.String({ minLength: 2 }) }, { additionalProperties: false }),
        },
      },
      async (req) => ({ name: req.body.name }),
    );
    await http.ready();
  });
  afterAll(async () => {
    await http.close();
  });

  it.each([
    { url: '/missing', status: 404, body: { detail: 'widget not found', code: 'not_found' } },
    { url: '/conflict', status: 409, body: { detail: 'name taken', code: 'conflict' } },
    { url: '/busy', status: 503, body: { detail: 'try later', code: 'unavailable' } },
    { url: '/crash', status: 500, body: { detail: 'internal server error', code: 'internal' } },
  ])('GET $url → $status', async ({ url, status, body }) => {
    const res = await http.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual(body);
  });

  it('sends Retry-After with 503', async () => {
    const res = await http.inject({ method: 'GET', url: '/busy' });
    expect(res.headers['retry-after']).toBe('3');
  });

  it('logs the cause of a 500 but never returns it', async () => {
    const res = await http.inject({ method: 'GET', url: '/crash' });
    expect(res.body).not.toContain('secret internal detail');
    expect(logged.join('')).toContain('secret internal detail');
  });

  it.each([
    { payload: { name: 'x' }, loc: ['body', 'name'] },
    { payload: { name: 'ok', extra: 1 }, loc: ['body'] },
  ])('rejects invalid input with a FastAPI-style 422: $payload', async ({ payload, loc }) => {
    const res = await http.inject({ method: 'POST', url: '/things', payload });
    expect(res.statusCode).toBe(422);
    const body = res.json<{ detail: { loc: string[] }[]; code: string }>();
    expect(body.code).toBe('validation_failed');
    expect(body.detail[0]?.loc).toEqual(loc);
  });

  it('rejects malformed JSON with 400', async () => {
    const res = await http.inject({
      method: 'POST',
      url: '/things',
      payload: '{"name":',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toHaveProperty('detail');
  });

  it('refuses to register a route that does not declare auth', async () => {
    const other = await createHttp({
      log: createLogger({ level: 'silent' }),
      metrics: createMetrics(fakePool),
      version: 'test',
    });
    expect(() => other.get('/undeclared', async () => 'x')).toThrow(/does not declare config.auth/);
    await other.close();
  });
});
