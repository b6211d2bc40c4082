/** Passwords, tokens, keys and URL signatures never reach the log, whatever the route. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/platform/log.ts';
import { account } from '../../helpers/auth.ts';
import { backends } from '../../helpers/db.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

describe.each(backends())('secrets in logs on %s', (backend) => {
  let server: TestServer;
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });

  beforeAll(async () => {
    server = await startTestServer(
      backend,
      { MINIO_EVENT_TOKEN: 'webhook-token-never-logged', OBJECT_RESCAN_INTERVAL_SECONDS: '0' },
      createLogger({ level: 'trace', destination }),
    );
  });
  afterAll(async () => {
    await server.stop();
  });

  it('keeps every secret out of the log output', async () => {
    const secrets: string[] = ['correct-horse-battery', 'wrong-password-xyz', 'webhook-token-never-logged'];
    const json = { 'content-type': 'application/json' };
    const reg = await fetch(`${server.url}/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'logger1', password: 'correct-horse-battery' }),
    });
    const first = (await reg.json()) as { access: string; refresh: string };
    const login = await fetch(`${server.url}/auth/password?u=logger1&p=correct-horse-battery`, {
      method: 'POST',
    });
    const pair = (await login.json()) as { access: string; refresh: string };
    await fetch(`${server.url}/auth/password?u=logger1&p=wrong-password-xyz`, { method: 'POST' });
    await fetch(`${server.url}/auth/password`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'logger1', password: 'wrong-password-xyz' }),
    });
    const rotated = await fetch(`${server.url}/auth/refresh?rid=${encodeURIComponent(pair.refresh)}`, {
      method: 'POST',
    });
    const pair2 = (await rotated.json()) as { access: string; refresh: string };
    // Reuse: logged as a warning, without the token.
    await fetch(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ refresh: pair.refresh }),
    });
    secrets.push(first.access, first.refresh, pair.access, pair.refresh, pair2.access, pair2.refresh);

    const admin = await account(server, 'admin1', 'admin');
    secrets.push(admin.access, admin.refresh);
    const key = await fetch(`${server.url}/auth/api-keys`, {
      method: 'POST',
      headers: { ...json, ...admin.headers },
      body: JSON.stringify({ username: 'logger1', name: 'k' }),
    });
    const apiKey = ((await key.json()) as { key: string }).key;
    secrets.push(apiKey);
    await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${apiKey}` } });
    await fetch(`${server.url}/auth/me?access_token=${pair2.access}`);

    const up = await fetch(`${server.url}/storage/presign/upload?object_name=x.h5`, {
      method: 'POST',
      headers: admin.headers,
    });
    const url = ((await up.json()) as { url: string }).url;
    secrets.push(new URL(url).searchParams.get('signature') ?? 'missing');
    await fetch(url, { method: 'PUT', body: 'data' });
    await fetch(`${server.url}/minio-event`, {
      method: 'POST',
      headers: { ...json, authorization: 'Bearer webhook-token-never-logged' },
      body: JSON.stringify({ Records: [] }),
    });

    const log = lines.join('');
    // The requests were logged (so this test looks at something), with the secrets masked.
    expect(log).toContain('/auth/password?u=logger1&p=***');
    expect(log).toContain('/auth/refresh?rid=***');
    expect(log).toContain('signature=***');
    expect(log).toContain('token family revoked');
    for (const secret of secrets) expect(log, `leaked ${secret.slice(0, 12)}…`).not.toContain(secret);
  });
});
