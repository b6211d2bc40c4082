/**
 * One event per object version, whatever announces it: the embedded store after an upload,
 * the S3 webhook, the rescan — alone, in sequence or all at once — and across a restart.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectEvent } from '../../../src/platform/objects/port.ts';
import { ObjectEventHub } from '../../../src/platform/objects/events.ts';
import { account, type Session } from '../../helpers/auth.ts';
import { backends, silentLog } from '../../helpers/db.ts';
import { startS3, type TestS3 } from '../../helpers/s3.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

const TOKEN = 'webhook-token-for-tests';

/** An S3 notification as MinIO sends it: keys form-encoded (`+` for spaces). */
function notification(bucket: string, objects: { key: string; size?: number; etag?: string }[]) {
  return {
    EventName: 's3:ObjectCreated:Put',
    Records: objects.map((o) => ({
      eventVersion: '2.0',
      eventSource: 'minio:s3',
      eventName: 's3:ObjectCreated:Put',
      s3: {
        bucket: { name: bucket },
        object: {
          key: encodeURIComponent(o.key).replace(/%20/g, '+'),
          ...(o.size !== undefined ? { size: o.size } : {}),
          ...(o.etag !== undefined ? { eTag: o.etag } : {}),
        },
      },
    })),
  };
}

describe.each(backends().flatMap((b) => (['fs', 's3'] as const).map((a) => [b, a] as const)))(
  'object events on %s with the %s store',
  (backend, adapter) => {
    let server: TestServer;
    let s3: TestS3 | undefined;
    let alice: Session;
    const seen: { subscriber: string; event: ObjectEvent }[] = [];
    let failNext = 0;

    const countOf = (subscriber: string, key: string) =>
      seen.filter((s) => s.subscriber === subscriber && s.event.key === key).length;

    const webhook = (body: object, token = TOKEN) =>
      server.http.inject({
        method: 'POST',
        url: '/minio-event',
        payload: body,
        headers: { authorization: `Bearer ${token}` },
      });

    const upload = async (name: string, bytes: Buffer) => {
      const res = await server.http.inject({
        method: 'POST',
        url: `/storage/presign/upload?object_name=${encodeURIComponent(name)}`,
        headers: alice.headers,
      });
      const put = await fetch(res.json<{ url: string }>().url, { method: 'PUT', body: bytes });
      expect(put.status).toBe(200);
      return (await server.core.objects.head(`alice1/${name}`))!;
    };

    beforeAll(async () => {
      s3 = adapter === 's3' ? await startS3() : undefined;
      server = await startTestServer(backend, {
        OBJECT_RESCAN_INTERVAL_SECONDS: '0',
        MINIO_EVENT_TOKEN: TOKEN,
        ...(s3?.env ?? {}),
      });
      await server.core.db.query('CREATE TABLE test_object_events (subscriber text, key text, etag text)');
      const record =
        (subscriber: string) =>
        async (event: ObjectEvent, tx: { query: (sql: string, p: unknown[]) => Promise<unknown> }) => {
          if (subscriber === 'flaky' && failNext > 0) {
            failNext--;
            throw new Error('flaky subscriber fails');
          }
          await tx.query('INSERT INTO test_object_events VALUES ($1, $2, $3)', [
            subscriber,
            event.key,
            event.etag,
          ]);
          seen.push({ subscriber, event });
        };
      server.core.objectEvents.subscribe('h5', (k) => k.endsWith('.h5'), record('h5'));
      server.core.objectEvents.subscribe('csv', (k) => k.endsWith('.csv'), record('csv'));
      server.core.objectEvents.subscribe('flaky', (k) => k.includes('/flaky/'), record('flaky'));
      alice = await account(server, 'alice1');
    });
    afterAll(async () => {
      await server.stop();
      await s3?.stop();
    });

    it('delivers an uploaded object once across upload, webhook and rescan', async () => {
      const info = await upload('runs/job 1+2.h5', Buffer.from('hdf5 bytes'));
      const key = 'alice1/runs/job 1+2.h5';
      const hook = await webhook(
        notification(server.core.objects.bucket, [{ key, size: info.size, etag: info.etag }]),
      );
      expect(hook.statusCode).toBe(202);
      // toMatchObject: mounted apps (bench) subscribe to .h5 objects too.
      expect(hook.json()).toMatchObject({
        accepted: 1,
        objects: [{ bucket: server.core.objects.bucket, object: key }],
        // the mounted apps subscribe too (bench takes .h5 files)
        subscribers: expect.objectContaining({ h5: 1 }) as unknown,
      });
      await server.core.objectEvents.rescan();
      await server.core.objectEvents.rescan();
      expect(countOf('h5', key)).toBe(1);
      expect(countOf('csv', key)).toBe(0);
      expect(seen.find((s) => s.event.key === key)?.event).toEqual({
        bucket: server.core.objects.bucket,
        key,
        size: info.size,
        etag: info.etag,
        lastModified: info.lastModified,
      });
      const { rows } = await server.core.db.query('SELECT * FROM test_object_events WHERE key = $1', [key]);
      expect(rows.length).toBe(1);
    });

    it('delivers once when every source announces at the same time', async () => {
      const key = 'alice1/concurrent.csv';
      const info = await server.core.objects.put(key, Buffer.from('a,b\n1,2\n'));
      const event = {
        bucket: server.core.objects.bucket,
        key,
        size: info.size,
        etag: info.etag,
        lastModified: info.lastModified,
      };
      await Promise.all([
        webhook(notification(event.bucket, [{ key, size: info.size, etag: `"${info.etag}"` }])),
        webhook(notification(event.bucket, [{ key }])), // no size/etag: the store is asked
        server.core.objectEvents.rescan(),
        server.core.objectEvents.announce(event, 'webhook'),
      ]);
      expect(countOf('csv', key)).toBe(1);
    });

    it('treats a changed object as a new version', async () => {
      const key = 'alice1/changing.csv';
      await server.core.objects.put(key, Buffer.from('v1'));
      await server.core.objectEvents.rescan();
      await server.core.objects.put(key, Buffer.from('v2'));
      await server.core.objectEvents.rescan();
      expect(seen.filter((s) => s.event.key === key).map((s) => s.event.size)).toEqual([2, 2]);
      expect(new Set(seen.filter((s) => s.event.key === key).map((s) => s.event.etag)).size).toBe(2);
    });

    it('delivers content the key held before, uploaded again, as a new version', async () => {
      const key = 'alice1/a-b-a.csv';
      const etags = () => seen.filter((s) => s.event.key === key).map((s) => s.event.etag);
      const a = await server.core.objects.put(key, Buffer.from('a'));
      await server.core.objectEvents.rescan();
      // Write times are kept in whole seconds: the next upload must land in a later one.
      await new Promise((r) => setTimeout(r, 1100));
      const b = await server.core.objects.put(key, Buffer.from('b'));
      await server.core.objectEvents.rescan();
      // A notification for A arriving late names what the store holds now (B): nothing new.
      await webhook(notification(server.core.objects.bucket, [{ key, size: 1, etag: a.etag }]));
      expect(etags()).toEqual([a.etag, b.etag]);
      await new Promise((r) => setTimeout(r, 1100));
      await server.core.objects.put(key, Buffer.from('a'));
      await server.core.objectEvents.rescan();
      await webhook(notification(server.core.objects.bucket, [{ key, size: 1, etag: a.etag }]));
      await server.core.objectEvents.rescan();
      expect(etags()).toEqual([a.etag, b.etag, a.etag]);
    });

    it('retries a failed handler later and then delivers once', async () => {
      failNext = 1;
      const key = 'alice1/flaky/x.bin';
      await server.core.objects.put(key, Buffer.from('retry me'));
      await server.core.objectEvents.rescan(); // the fs store's own announcement (if any) or this one fails
      expect(countOf('flaky', key)).toBe(adapter === 'fs' ? 1 : 0);
      await server.core.objectEvents.rescan();
      await server.core.objectEvents.rescan();
      expect(countOf('flaky', key)).toBe(1);
      const { rows } = await server.core.db.query('SELECT * FROM test_object_events WHERE key = $1', [key]);
      expect(rows.length).toBe(1);
    });

    it('remembers delivered versions across a restart', async () => {
      const key = 'alice1/runs/job 1+2.h5';
      const again = new ObjectEventHub({ db: server.core.db, store: server.core.objects, log: silentLog });
      const after: string[] = [];
      again.subscribe(
        'h5',
        (k) => k.endsWith('.h5'),
        async (e) => {
          after.push(e.key);
        },
      );
      expect(await again.rescan()).toMatchObject({ announced: 0 });
      const info = (await server.core.objects.head(key))!;
      const r = await again.announce(
        {
          bucket: server.core.objects.bucket,
          key,
          size: info.size,
          etag: info.etag,
          lastModified: info.lastModified,
        },
        'webhook',
      );
      expect(r.subscribers).toContain('h5');
      expect(after).toEqual([]);
    });

    it('answers the webhook: 401 without the token, 400 without records or wanted objects', async () => {
      const body = notification(server.core.objects.bucket, [{ key: 'alice1/runs/job 1+2.h5' }]);
      expect(
        (await server.http.inject({ method: 'POST', url: '/minio-event', payload: body })).statusCode,
      ).toBe(401);
      expect((await webhook(body, 'wrong-token')).statusCode).toBe(401);
      expect((await webhook({ Records: [] })).statusCode).toBe(400);
      expect(
        (
          await webhook({
            EventName: 's3:ObjectRemoved:Delete',
            Records: [{ eventName: 's3:ObjectRemoved:Delete', s3: { object: { key: 'a.h5' } } }],
          })
        ).statusCode,
      ).toBe(400);
      const txt = await webhook(
        notification(server.core.objects.bucket, [{ key: 'alice1/notes.txt', size: 1, etag: 'e' }]),
      );
      expect(txt.statusCode).toBe(400);
      expect(txt.json()).toMatchObject({ accepted: 0, objects: [] });
    });

    if (backend === 'postgres') {
      it('rescans on one instance at a time (advisory lock)', async () => {
        const other = new pg.Client({ connectionString: server.databaseUrl ?? '' });
        await other.connect();
        try {
          await other.query('SELECT pg_advisory_lock($1)', [0x6f626a73]);
          expect(await server.core.objectEvents.rescan()).toBeNull();
          await other.query('SELECT pg_advisory_unlock($1)', [0x6f626a73]);
          expect(await server.core.objectEvents.rescan()).toMatchObject({ announced: 0 });
        } finally {
          await other.end();
        }
      });
    }

    if (adapter === 's3') {
      it('accepts the notification s3rver itself emits for a presigned upload', async () => {
        const events: object[] = [];
        const listener = (e: object) => events.push(e);
        s3?.server?.on('event', listener);
        const info = await upload('from-s3rver.h5', Buffer.from('emitted'));
        s3?.server?.off('event', listener);
        const event = events.at(-1) as ReturnType<typeof notification>;
        expect(event).toBeDefined();
        const res = await webhook(event);
        expect(res.statusCode).toBe(202);
        expect(countOf('h5', 'alice1/from-s3rver.h5')).toBe(1);
        expect(seen.find((s) => s.event.key === 'alice1/from-s3rver.h5')?.event.etag).toBe(info.etag);
      });
    }
  },
);
