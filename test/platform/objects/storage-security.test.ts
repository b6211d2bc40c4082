/** Malformed keys, cross-user access, and the embedded store's signed URLs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsStore } from '../../../src/platform/objects/fs-store.ts';
import { encodeKey } from '../../../src/platform/objects/keys.ts';
import { account, type Session } from '../../helpers/auth.ts';
import { backends } from '../../helpers/db.ts';
import { startS3, type TestS3 } from '../../helpers/s3.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const BAD_NAMES = [
  '../bob12/secret.h5',
  'a/../../bob12/x',
  'a/..',
  '..',
  './x',
  '/etc/passwd',
  'a\\..\\b',
  'a\u0000b',
  'line\nbreak',
  'tab\there',
  'a//b',
  'folder/',
  'x'.repeat(1020),
];

describe.each(backends().flatMap((b) => (['fs', 's3'] as const).map((a) => [b, a] as const)))(
  'storage security on %s with the %s store',
  (backend, adapter) => {
    let server: TestServer;
    let s3: TestS3 | undefined;
    let alice: Session;
    let bob: Session;
    let admin: Session;

    const call = (s: Session, method: 'GET' | 'POST' | 'DELETE', url: string) =>
      server.http.inject({ method, url, headers: s.headers });

    beforeAll(async () => {
      s3 = adapter === 's3' ? await startS3() : undefined;
      server = await startTestServer(backend, {
        OBJECT_RESCAN_INTERVAL_SECONDS: '0',
        OBJECTS_MAX_SIZE: '1000',
        ...(s3?.env ?? {}),
      });
      [alice, bob, admin] = [
        await account(server, 'alice1'),
        await account(server, 'bob12'),
        await account(server, 'admin1', 'admin'),
      ];
      await server.core.objects.put('alice1/private.h5', Buffer.from('alice data'));
      await server.core.objects.put('bob12/mine.txt', Buffer.from('bob data'));
    });
    afterAll(async () => {
      await server.stop();
      await s3?.stop();
    });

    it.each(BAD_NAMES.map((n) => [JSON.stringify(n).slice(0, 40), n]))(
      'refuses object_name %s with 400 everywhere',
      async (_label, name) => {
        const q = `object_name=${encodeURIComponent(name)}`;
        for (const [method, url] of [
          ['POST', `/storage/presign/upload?${q}`],
          ['GET', `/storage/presign/download?${q}`],
          ['DELETE', `/storage/objects?${q}`],
        ] as const) {
          const res = await call(alice, method, url);
          expect(res.statusCode, `${method} ${url}`).toBe(400);
        }
      },
    );

    it('keeps users to their own prefix', async () => {
      const list = await call(bob, 'GET', '/storage/list');
      expect(list.json<{ objects: { key: string }[] }>().objects.map((o) => o.key)).toEqual([
        'bob12/mine.txt',
      ]);
      // A prefix cannot climb out either: it is always under the caller's name.
      const climb = await call(bob, 'GET', '/storage/list?prefix=../alice1/');
      expect(climb.statusCode).toBe(400);
      const sneaky = await call(bob, 'GET', '/storage/list?prefix=alice1');
      expect(sneaky.json<{ objects: unknown[] }>().objects).toEqual([]);
      // Bob's own name space: alice's object is not there.
      expect((await call(bob, 'GET', '/storage/presign/download?object_name=private.h5')).statusCode).toBe(
        404,
      );
      for (const [method, path] of [
        ['GET', '/storage/presign/download'],
        ['POST', '/storage/presign/upload'],
        ['DELETE', '/storage/objects'],
      ] as const) {
        const res = await call(bob, method, `${path}?object_name=private.h5&owner=alice1`);
        expect(res.statusCode, `${method} ${path}`).toBe(403);
      }
      expect(await server.core.objects.head('alice1/private.h5')).not.toBeNull();
    });

    it('lets admins see and address every prefix', async () => {
      const list = await call(admin, 'GET', '/storage/list');
      expect(list.json<{ objects: { key: string }[] }>().objects.map((o) => o.key)).toEqual([
        'alice1/private.h5',
        'bob12/mine.txt',
      ]);
      const down = await call(admin, 'GET', '/storage/presign/download?object_name=private.h5&owner=alice1');
      expect(down.statusCode).toBe(200);
      const got = await fetch(down.json<{ url: string }>().url);
      expect(await got.text()).toBe('alice data');
    });

    it('refuses a tampered presigned URL', async () => {
      const down = await call(alice, 'GET', '/storage/presign/download?object_name=private.h5');
      const url = new URL(down.json<{ url: string }>().url);
      const sigParam = adapter === 'fs' ? 'signature' : 'X-Amz-Signature';
      const sig = url.searchParams.get(sigParam) ?? '';
      url.searchParams.set(sigParam, (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
      expect((await fetch(url)).status).toBe(403);
    });
  },
);

describe.each(backends())('embedded store signed URLs on %s', (backend) => {
  let server: TestServer;
  let store: FsStore;
  let alice: Session;
  beforeAll(async () => {
    server = await startTestServer(backend, {
      OBJECT_RESCAN_INTERVAL_SECONDS: '0',
      OBJECTS_MAX_SIZE: '1000',
    });
    store = server.core.objects as FsStore;
    alice = await account(server, 'alice1');
    await store.put('alice1/a.txt', Buffer.from('hello'));
  });
  afterAll(async () => {
    await server.stop();
  });

  const signed = (method: 'GET' | 'PUT', key: string, expires: number) =>
    `${server.url}/storage/blob/${encodeKey(key)}?expires=${expires}&signature=${store.signer.sign(method, key, expires)}`;
  const now = () => Math.floor(Date.now() / 1000);

  it.each([
    ['expired', () => fetch(signed('GET', 'alice1/a.txt', now() - 5))],
    [
      'used with another method',
      () => fetch(signed('GET', 'alice1/b.txt', now() + 60), { method: 'PUT', body: 'x' }),
    ],
    ['PUT URL used to read', () => fetch(signed('PUT', 'alice1/a.txt', now() + 60))],
    [
      'pointed at another key',
      () => fetch(signed('GET', 'alice1/a.txt', now() + 60).replace('alice1/a.txt', 'bob12/a.txt')),
    ],
    [
      'with its expiry pushed back',
      () =>
        fetch(
          signed('GET', 'alice1/a.txt', now() + 60).replace(
            /expires=(\d+)/,
            (_m, e) => `expires=${Number(e) + 999}`,
          ),
        ),
    ],
    [
      'without a signature',
      () => fetch(`${server.url}/storage/blob/alice1/a.txt?expires=${now() + 60}&signature=`),
    ],
  ])('answers 403 to a URL %s', async (_what, request) => {
    const res = await request();
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('forbidden');
  });

  it('serves HEAD with a download URL', async () => {
    const res = await fetch(signed('GET', 'alice1/a.txt', now() + 60), { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('5');
    expect(res.headers.get('etag')).toBe('"5d41402abc4b2a76b9719d911017c592"');
  });

  it('refuses objects over OBJECTS_MAX_SIZE with 413 and keeps nothing', async () => {
    const up = await server.http.inject({
      method: 'POST',
      url: '/storage/presign/upload?object_name=big.bin',
      headers: alice.headers,
    });
    const url = up.json<{ url: string }>().url;
    const declared = await fetch(url, { method: 'PUT', body: Buffer.alloc(2000) });
    expect(declared.status).toBe(413);
    // Without a Content-Length (chunked), the limit is enforced while streaming.
    const chunked = await fetch(url, {
      method: 'PUT',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(500));
          c.close();
        },
      }),
      duplex: 'half',
    });
    expect(chunked.status).toBe(413);
    expect(await store.head('alice1/big.bin')).toBeNull();
  });
});
