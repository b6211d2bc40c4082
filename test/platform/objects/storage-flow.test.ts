/**
 * The seed's flow over real HTTP, for both stores: register → login → presign upload → PUT the
 * bytes with plain fetch → list → presign download → GET the same bytes → delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../helpers/db.ts';
import { startS3, type TestS3 } from '../../helpers/s3.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const adapters = ['fs', 's3'] as const;

describe.each(backends().flatMap((b) => adapters.map((a) => [b, a] as const)))(
  'storage flow on %s with the %s store',
  (backend, adapter) => {
    let server: TestServer;
    let s3: TestS3 | undefined;
    let auth: { authorization: string };

    const api = async (method: string, url: string, body?: object) => {
      const res = await fetch(server.url + url, {
        method,
        headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return {
        status: res.status,
        body: res.status === 204 ? null : ((await res.json()) as Record<string, unknown>),
      };
    };

    beforeAll(async () => {
      s3 = adapter === 's3' ? await startS3() : undefined;
      server = await startTestServer(backend, { OBJECT_RESCAN_INTERVAL_SECONDS: '0', ...(s3?.env ?? {}) });
      const reg = await fetch(`${server.url}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice1', password: 'alice-password' }),
      });
      expect(reg.status).toBe(201);
      const login = await fetch(`${server.url}/auth/password?u=alice1&p=alice-password`, { method: 'POST' });
      const { access } = (await login.json()) as { access: string };
      auth = { authorization: `Bearer ${access}` };
    });
    afterAll(async () => {
      await server.stop();
      await s3?.stop();
    });

    it('uploads, lists, downloads and deletes through presigned URLs', async () => {
      const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
      const name = 'runs/day 1/job+1 ü.h5';
      const up = await api('POST', `/storage/presign/upload?object_name=${encodeURIComponent(name)}`);
      expect(up.status).toBe(200);
      expect(up.body).toMatchObject({ key: `alice1/${name}`, expires_in: 3600 });
      const uploadUrl = up.body?.url as string;
      if (adapter === 's3') {
        // No checksum of an empty body baked into the URL (AWS and MinIO would refuse the PUT).
        expect(uploadUrl).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum/i);
        expect(uploadUrl.startsWith(s3?.endpoint ?? '')).toBe(true);
      } else {
        expect(uploadUrl.startsWith(`${server.url}/storage/blob/alice1/`)).toBe(true);
      }
      const put = await fetch(uploadUrl, { method: 'PUT', body: bytes });
      expect(put.status).toBe(200);

      const list = await api('GET', '/storage/list');
      expect(list.body?.objects).toEqual([
        { key: `alice1/${name}`, size: bytes.length, last_modified: expect.any(String) as string },
      ]);
      const sub = await api('GET', `/storage/list?prefix=${encodeURIComponent('runs/day 1/')}`);
      expect((sub.body?.objects as unknown[]).length).toBe(1);
      const none = await api('GET', '/storage/list?prefix=other/');
      expect(none.body?.objects).toEqual([]);

      const down = await api('GET', `/storage/presign/download?object_name=${encodeURIComponent(name)}`);
      expect(down.status).toBe(200);
      const got = await fetch(down.body?.url as string);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);

      const del = await api('DELETE', `/storage/objects?object_name=${encodeURIComponent(name)}`);
      expect(del.status).toBe(204);
      expect((await api('GET', '/storage/list')).body?.objects).toEqual([]);
      const gone = await api('GET', `/storage/presign/download?object_name=${encodeURIComponent(name)}`);
      expect(gone.status).toBe(404);
    });

    it('reports the store as ready', async () => {
      const res = await fetch(`${server.url}/ready`);
      expect(
        ((await res.json()) as { parts: Record<string, { status: string }> }).parts.objects?.status,
      ).toBe('up');
    });
  },
);
