import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../helpers/db.ts';
import { account } from '../../helpers/auth.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

describe.each(backends())('accounts and tokens on %s', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(backend, { LOGIN_MAX_FAILURES_PER_USER: '3' });
  });
  afterAll(async () => {
    await server.stop();
  });

  const post = (url: string, payload?: object, headers?: Record<string, string>) =>
    server.http.inject({ method: 'POST', url, ...(payload ? { payload } : {}), headers });

  it('registers, signs in with JSON and with ?u=&p=, and answers /auth/me', async () => {
    const reg = await post('/auth/register', { username: 'alice1', password: 'correct horse' });
    expect(reg.statusCode).toBe(201);
    expect(Object.keys(reg.json()).sort()).toEqual(['access', 'refresh']);

    const dup = await post('/auth/register', { username: 'ALICE1', password: 'correct horse' });
    expect(dup.statusCode).toBe(409);

    const json = await post('/auth/password', { username: 'alice1', password: 'correct horse' });
    expect(json.statusCode).toBe(200);
    const query = await post('/auth/password?u=alice1&p=correct%20horse');
    expect(query.statusCode).toBe(200);

    const me = await server.http.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${query.json<{ access: string }>().access}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ username: 'alice1', role: 'user', via: 'jwt' });
  });

  it.each([
    { payload: { username: 'abc', password: 'long enough' }, status: 422 },
    { payload: { username: 'bob12', password: 'short' }, status: 422 },
    { payload: { username: 'bob/12', password: 'long enough' }, status: 400 },
    { payload: { username: 'bob12', password: 'long enough', admin: true }, status: 422 },
  ])('refuses registration $payload.username → $status', async ({ payload, status }) => {
    expect((await post('/auth/register', payload)).statusCode).toBe(status);
  });

  it('gives the same 401 for a wrong password and an unknown user', async () => {
    await post('/auth/register', { username: 'carol1', password: 'carol-pass' });
    const wrong = await post('/auth/password', { username: 'carol1', password: 'nope-nope' });
    const unknown = await post('/auth/password', { username: 'nobody1', password: 'nope-nope' });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
  });

  it('rotates refresh tokens and revokes the family when a spent one comes back', async () => {
    const first = (await post('/auth/register', { username: 'dave12', password: 'dave-pass' })).json<{
      refresh: string;
    }>();
    const second = await post('/auth/refresh', { refresh: first.refresh });
    expect(second.statusCode).toBe(200);
    const pair2 = second.json<{ access: string; refresh: string }>();
    expect(pair2.refresh).not.toBe(first.refresh);

    // The seed's ?rid= form rotates too.
    const third = await post(`/auth/refresh?rid=${encodeURIComponent(pair2.refresh)}`);
    expect(third.statusCode).toBe(200);
    const pair3 = third.json<{ refresh: string }>();

    // Reuse of a spent token: 401, and the newest token of the family is dead too.
    const reuse = await post('/auth/refresh', { refresh: first.refresh });
    expect(reuse.statusCode).toBe(401);
    expect((await post('/auth/refresh', { refresh: pair3.refresh })).statusCode).toBe(401);
    const { rows } = await server.core.db.query<{ revoked: number; total: number }>(
      `SELECT count(*) FILTER (WHERE revoked_at IS NOT NULL)::int AS revoked, count(*)::int AS total
       FROM platform_refresh_tokens t JOIN platform_users u ON u.id = t.user_id WHERE u.username = 'dave12'`,
    );
    expect(rows[0]).toEqual({ revoked: 3, total: 3 });
    expect((await post('/auth/refresh', { refresh: 'made-up' })).statusCode).toBe(401);
    expect((await post('/auth/refresh')).statusCode).toBe(401);
  });

  it('logs out: the refresh token stops working', async () => {
    const s = await account(server, 'erin12');
    const out = await post('/auth/logout', { refresh: s.refresh }, s.headers);
    expect(out.statusCode).toBe(204);
    expect((await post('/auth/refresh', { refresh: s.refresh })).statusCode).toBe(401);
  });

  it('throttles failed logins per user, even with the right password afterwards', async () => {
    await post('/auth/register', { username: 'frank1', password: 'frank-pass' });
    for (let i = 0; i < 3; i++) {
      expect((await post('/auth/password', { username: 'frank1', password: 'wrong-pass' })).statusCode).toBe(
        401,
      );
    }
    const limited = await post('/auth/password', { username: 'frank1', password: 'frank-pass' });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another user from the same address is not affected (the address limit is higher).
    expect((await post('/auth/password', { username: 'carol1', password: 'carol-pass' })).statusCode).toBe(
      200,
    );
  });

  it('issues API keys to admins only; a key authenticates as its account until revoked', async () => {
    const admin = await account(server, 'admin1', 'admin');
    const user = await account(server, 'gina12');
    await server.core.auth.createUser('sensor1', null, 'device');

    const denied = await post('/auth/api-keys', { username: 'sensor1', name: 'lab' }, user.headers);
    expect(denied.statusCode).toBe(403);
    const created = await post('/auth/api-keys', { username: 'sensor1', name: 'lab' }, admin.headers);
    expect(created.statusCode).toBe(201);
    const { id, key } = created.json<{ id: string; key: string }>();
    expect(key).toMatch(/^ck_[0-9a-f]{16}_/);

    const me = await server.http.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(me.json()).toMatchObject({ username: 'sensor1', role: 'device', via: 'api_key' });
    // The secret is only ever shown once.
    const list = await server.http.inject({ method: 'GET', url: '/auth/api-keys', headers: admin.headers });
    expect(list.body).not.toContain(key.slice(20));
    expect(await server.core.auth.verifyApiKey(id, key.slice(20))).toMatchObject({
      username: 'sensor1',
    });

    const del = await server.http.inject({
      method: 'DELETE',
      url: `/auth/api-keys/${id}`,
      headers: admin.headers,
    });
    expect(del.statusCode).toBe(204);
    const after = await server.http.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(after.statusCode).toBe(401);
  });

  it('refuses bad and tampered tokens', async () => {
    const s = await account(server, 'hank12');
    const tampered = s.access.slice(0, -2) + (s.access.endsWith('AA') ? 'BB' : 'AA');
    for (const token of [tampered, 'garbage', 'ck_0123456789abcdef_' + 'x'.repeat(43)]) {
      const res = await server.http.inject({
        method: 'GET',
        url: '/auth/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(401);
    }
  });
});
