/**
 * The bench app end to end over the real interfaces, for both storage adapters: a user uploads
 * a profile through a presigned URL, the object event (the store's own, or `/minio-event` for
 * S3) enqueues the processing job, and `GET /bench/jobs/{id}` returns numbers that match those
 * computed here from the fixture's raw arrays.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/db.ts';
import { startS3, type TestS3 } from '../helpers/s3.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { expectedFor } from './expected.ts';
import * as fx from './fixtures.ts';

const TOKEN = 'minio-event-token-for-tests-0123456789';
const PRICES: [number, number][] = [
  [fx.START_EPOCH * 1000, 80],
  [(fx.START_EPOCH + 200) * 1000, 120],
  [(fx.START_EPOCH + 400) * 1000, 60],
];
const adapters = ['fs', 's3'] as const;

describe.each(backends().flatMap((b) => adapters.map((a) => [b, a] as const)))(
  'bench end to end on %s with the %s store',
  (backend, adapter) => {
    let server: TestServer;
    let s3: TestS3 | undefined;
    /** Samples of the first profile, which a later test uploads again. */
    let firstSamples = 0;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-e2e-'));
    const tokens: Record<string, string> = {};

    const api = async (user: string, method: string, url: string) => {
      const res = await fetch(server.url + url, {
        method,
        headers: { authorization: `Bearer ${tokens[user]}` },
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
    };

    /** Presigned upload with plain fetch, then (S3 only, or when asked) the bucket notification. */
    const upload = async (user: string, name: string, bytes: Buffer, notify = adapter === 's3') => {
      const up = await api(user, 'POST', `/storage/presign/upload?object_name=${encodeURIComponent(name)}`);
      expect(up.status).toBe(200);
      const put = await fetch(up.body.url as string, { method: 'PUT', body: bytes });
      expect(put.status).toBe(200);
      if (notify) {
        const key = `${user}/${name}`;
        const res = await fetch(`${server.url}/minio-event`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            Records: [
              {
                eventName: 's3:ObjectCreated:Put',
                s3: {
                  bucket: { name: s3?.bucket ?? 'conflux' },
                  object: { key: encodeURIComponent(key).replace(/%2F/g, '/') },
                },
              },
            ],
          }),
        });
        expect(res.status).toBe(202);
      }
    };

    const settled = (user: string, id: string) =>
      waitFor(
        async () => {
          const r = await api(user, 'GET', `/bench/jobs/${id}`);
          const done = (s: unknown) => s === 'succeeded' || s === 'failed';
          // both the profile and its processing job (which completes just after the rows commit)
          const queued = r.body.processing as { status: unknown } | undefined;
          return r.status === 200 && done(r.body.status) && done(queued?.status) ? r.body : undefined;
        },
        60_000,
        `bench job ${id}`,
      );

    /** Job 4242 of alice1 once it has succeeded with `nodes` nodes (a given version's result). */
    const succeededWith = (nodes: number, what: string) =>
      waitFor(
        async () => {
          const r = await api('alice1', 'GET', '/bench/jobs/4242');
          return r.body.status === 'succeeded' && r.body.nodes === nodes ? r.body : undefined;
        },
        60_000,
        what,
      );

    beforeAll(async () => {
      s3 = adapter === 's3' ? await startS3() : undefined;
      server = await startTestServer(backend, {
        OBJECT_RESCAN_INTERVAL_SECONDS: '0',
        MINIO_EVENT_TOKEN: TOKEN,
        WORKERS: '1',
        JOBS_POLL_MS: '200',
        BENCH_PRICE_SOURCE: 'alice1/prices/day-ahead.csv',
        ...(s3?.env ?? {}),
      });
      for (const user of ['alice1', 'bobby1']) {
        const reg = await fetch(`${server.url}/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: user, password: `${user}-password` }),
        });
        tokens[user] = ((await reg.json()) as { access: string }).access;
      }
      const csv = `epoch_ms,eur_per_mwh\n${PRICES.map((p) => p.join(',')).join('\n')}\n`;
      const up = await api('alice1', 'POST', '/storage/presign/upload?object_name=prices/day-ahead.csv');
      await fetch(up.body.url as string, { method: 'PUT', body: csv });
    }, 60_000);
    afterAll(async () => {
      await server.stop();
      await s3?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('processes an uploaded profile once, with numbers that match the raw arrays', async () => {
      const file = path.join(dir, '4242_profile.h5');
      const spec = await fx.multiNode(file);
      // announced twice for the fs store: by the store itself and by the webhook
      await upload('alice1', 'runs/4242_profile.h5', readFileSync(file), true);
      const job = await settled('alice1', '4242');
      expect(job.error).toBeNull();
      expect(job.status).toBe('succeeded');
      const want = expectedFor(spec, PRICES);
      firstSamples = want.samples;
      expect(job.nodes).toBe(3);
      expect(job.samples).toBe(want.samples);
      expect(job.energy_j as number).toBeCloseTo(want.energyJ, 6);
      expect(job.energy_kwh as number).toBeCloseTo(want.energyJ / 3.6e6, 12);
      expect(job.tts_s).toBe(want.ttsS);
      expect(job.avg_power_w as number).toBeCloseTo(want.energyJ / want.ttsS, 6);
      expect(job.edp_js as number).toBeCloseTo(want.energyJ * want.ttsS, 0);
      expect(job.peak_power_w).toBe(want.peakW);
      expect(job.cost_eur as number).toBeCloseTo(want.costEur, 10);
      expect(job.owner).toBe('alice1');
      expect(job.view).toBe('job_4242_profile');
      const nodes = job.node_summaries as {
        node: string;
        energy_j: number;
        samples: number;
        power_source: string;
      }[];
      expect(nodes.map((n) => n.node)).toEqual(want.perNode.map((n) => n.node));
      nodes.forEach((n, i) => expect(n.energy_j).toBeCloseTo(want.perNode[i]?.energyJ ?? NaN, 6));
      expect(nodes[0]?.power_source).toBe('Energy__NodePower');
      const processing = job.processing as { status: string; log: { message: string }[] };
      expect(processing.status).toBe('succeeded');
      expect(processing.log.map((l) => l.message)).toContain(`stored ${want.samples} samples`);

      // once: one processing job for the version, one set of rows, a view over them
      const db = server.core.db;
      const queued = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM platform_jobs WHERE name = 'bench.process' AND payload->>'key' = $1",
        ['alice1/runs/4242_profile.h5'],
      );
      expect(queued.rows[0]?.n).toBe(1);
      const view = await db.query<{ n: number; nodes: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT node)::int AS nodes FROM "job_4242_profile"',
      );
      expect(view.rows[0]).toEqual({ n: want.samples, nodes: 3 });
    });

    it('keeps two users’ files of the same name apart', async () => {
      const file = path.join(dir, 'bobby-4242.h5');
      await fx.energyOnly(file);
      await upload('bobby1', 'runs/4242_profile.h5', readFileSync(file));
      const bob = await settled('bobby1', '4242');
      expect(bob.status).toBe('succeeded');
      expect(bob.view).toBe('job_4242_profile_bobby1');
      expect(bob.samples).toBe(300);
      const alice = (await api('alice1', 'GET', '/bench/jobs/4242')).body;
      expect(alice.view).toBe('job_4242_profile');
      expect(alice.samples).toBe(1200);
      const views = await server.core.db.query<{ a: number; b: number }>(
        'SELECT (SELECT count(*)::int FROM "job_4242_profile") AS a, (SELECT count(*)::int FROM "job_4242_profile_bobby1") AS b',
      );
      expect(views.rows[0]).toEqual({ a: 1200, b: 300 });
    });

    it('serves the series downsampled in SQL, scoped to the owner', async () => {
      const r = await api('alice1', 'GET', '/bench/jobs/4242/series?columns=power_w,energy_j&maxPoints=40');
      expect(r.status).toBe(200);
      const nodes = r.body.nodes as {
        node: string;
        points: number;
        elapsed_s: number[];
        values: Record<string, number[]>;
      }[];
      expect(nodes).toHaveLength(3);
      for (const n of nodes) {
        expect(n.points).toBeLessThanOrEqual(40);
        expect(n.points).toBeGreaterThan(30);
        expect(n.values.power_w).toHaveLength(n.points);
      }
      // the first bucket of 400 samples into 40 points holds samples 0..9
      const spec = await fx.multiNode(path.join(dir, 'again.h5'));
      const raw = spec[0]?.tables[0]?.columns.NodePower ?? new Float64Array(0);
      const mean = raw.slice(0, 10).reduce((a, b) => a + b, 0) / 10;
      expect(nodes[0]?.values.power_w?.[0]).toBeCloseTo(mean, 9);
      expect((await api('alice1', 'GET', '/bench/jobs/4242/series?columns=password')).status).toBe(422);
      const bobs = (await api('bobby1', 'GET', '/bench/jobs')).body.jobs as { owner: string }[];
      expect(bobs.map((j) => j.owner)).toEqual(['bobby1']);
      const mine = (await api('alice1', 'GET', '/bench/jobs')).body.jobs as { job_id: string }[];
      expect(mine.map((j) => j.job_id)).toContain('4242');
    });

    it('replaces the rows when a new version is uploaded, and reprocesses on request', async () => {
      const file = path.join(dir, '4242_v2.h5');
      await fx.energyOnly(file);
      await upload('alice1', 'runs/4242_profile.h5', readFileSync(file));
      const job = await succeededWith(1, 'new version');
      expect(job.samples).toBe(300);
      expect((job.node_summaries as { power_source: string }[])[0]?.power_source).toBe(
        'ΔE/Δt of Energy__Energy',
      );
      const rows = await server.core.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM "job_4242_profile"',
      );
      expect(rows.rows[0]?.n).toBe(300);

      const re = await api('alice1', 'POST', '/bench/jobs/4242/reprocess');
      expect(re.status).toBe(202);
      const again = await settled('alice1', '4242');
      expect(again.samples).toBe(300);
      expect((again.processing as { queue_job_id: number }).queue_job_id).toBe(re.body.queue_job_id);
      expect(
        (await server.core.db.query<{ n: number }>('SELECT count(*)::int AS n FROM "job_4242_profile"'))
          .rows[0]?.n,
      ).toBe(300);

      // The first version's bytes again (A, B, A): a new version, processed like any other.
      // Versions are told apart by their write time in whole seconds.
      await new Promise((r) => setTimeout(r, 1100));
      const first = readFileSync(path.join(dir, '4242_profile.h5'));
      await upload('alice1', 'runs/4242_profile.h5', first);
      const back = await succeededWith(3, 'the first version again');
      expect(back.samples).toBe(firstSamples);
    });

    it.each([
      ['empty', (f: string) => Promise.resolve(fx.emptyFile(f)), /the file is empty/],
      ['text', (f: string) => Promise.resolve(fx.notHdf5(f)), /not an HDF5 file/],
      ['cut', (f: string) => fx.truncated(f, dir), /truncated/],
      // Failing at once, not after five retries of the same read.
      ['damaged', (f: string) => fx.damaged(f, dir), /damaged|cannot be read/],
      ['lzf', (f: string) => fx.unknownFilter(f, dir), /filter 200 .* cannot decode/],
      [
        'nopower',
        (f: string) => fx.noPower(f),
        /nothing usable in the file \(nodeA: no power and no cumulative energy/,
      ],
    ])('records a %s file as failed with a readable reason', async (id, make, reason) => {
      const file = path.join(dir, `${id}_bad.h5`);
      await make(file);
      await upload('alice1', `bad/${id}_bad.h5`, readFileSync(file));
      const job = await settled('alice1', id);
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(reason);
      expect((job.processing as { attempts: number }).attempts).toBe(1);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    });

    it('deletes a job with its rows and view', async () => {
      expect((await api('bobby1', 'DELETE', '/bench/jobs/4242')).status).toBe(204);
      expect((await api('alice1', 'GET', '/bench/jobs/4242')).body.view).toBe('job_4242_profile');
      expect((await api('alice1', 'DELETE', '/bench/jobs/4242')).status).toBe(204);
      expect((await api('alice1', 'GET', '/bench/jobs/4242')).status).toBe(404);
      const views = await server.core.db.query(
        "SELECT 1 FROM pg_views WHERE viewname LIKE 'job_4242_profile%'",
      );
      expect(views.rows).toEqual([]);

      // The same file uploaded again after its job was deleted is processed again.
      await new Promise((r) => setTimeout(r, 1100));
      await upload('alice1', 'runs/4242_profile.h5', readFileSync(path.join(dir, '4242_profile.h5')));
      const back = await settled('alice1', '4242');
      expect(back.status).toBe('succeeded');
      expect(back.nodes).toBe(3);
    });
  },
);
