/**
 * `conflux worker` as a user runs it, as a real process. Beside a `conflux serve` that runs no
 * jobs itself (WORKERS=0), on a shared PostgreSQL and the same DATA_DIR (the embedded object
 * store's files), the worker processes a profile uploaded through the storage API, and stops
 * with exit code 0 on SIGTERM. On the embedded database it refuses to start, saying why.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli, startCliServer, type RunningCli } from '../helpers/cli.ts';
import { createPostgresDatabase, dropPostgresDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';
import { expectedFor } from '../bench/expected.ts';
import * as fx from '../bench/fixtures.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'conflux-worker-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conflux worker on the embedded database', () => {
  it('refuses to start and names DATABASE_URL', async () => {
    const dataDir = path.join(dir, 'embedded');
    const res = await runCli(['worker'], { DATA_DIR: dataDir });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'conflux: DATABASE_URL: `conflux worker` needs a PostgreSQL database shared with the server',
    );
    expect(res.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(existsSync(path.join(dataDir, 'pg'))).toBe(false); // refused before opening anything
  });

  it('refuses a bad --concurrency before starting', async () => {
    const res = await runCli(['worker', '--concurrency', 'many'], { DATA_DIR: path.join(dir, 'embedded') });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/option '-c, --concurrency <n>' argument 'many' is invalid/);
  });
});

interface BenchJob {
  status: string;
  error: string | null;
  samples: number | null;
  nodes: number | null;
  energy_j: number | null;
  tts_s: number | null;
  avg_power_w: number | null;
  peak_power_w: number | null;
  edp_js: number | null;
  processing: { status: string | null; log: { message: string }[] };
}

describe.skipIf(!process.env.TEST_DATABASE_URL)('conflux worker beside conflux serve on PostgreSQL', () => {
  const children: RunningCli[] = [];
  let dbUrl: string | null = null;
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    if (dbUrl) await dropPostgresDatabase(dbUrl);
  });

  it('processes a profile the server queued, then exits 0 on SIGTERM', async () => {
    dbUrl = await createPostgresDatabase();
    const env = {
      DATA_DIR: path.join(dir, 'shared'),
      DATABASE_URL: dbUrl,
      APPS: 'bench',
      WORKERS: '0',
      OBJECT_RESCAN_INTERVAL_SECONDS: '0',
    };
    const server = await startCliServer(env);
    children.push(server);

    // a user signs up and uploads a profile through the storage API
    const signup = await fetch(`${server.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'erin01', password: 'erin-password-1' }),
    });
    expect(signup.status).toBe(201);
    const { access } = (await signup.json()) as { access: string };
    const file = path.join(dir, '5150_run.h5');
    const nodes = await fx.multiNode(file, 100);
    const presign = await fetch(`${server.url}/storage/presign/upload?object_name=runs/5150_run.h5`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access}` },
    });
    expect(presign.status).toBe(200);
    const { url } = (await presign.json()) as { url: string };
    expect((await fetch(url, { method: 'PUT', body: readFileSync(file) })).status).toBe(200);
    const job = async () => {
      const res = await fetch(`${server.url}/bench/jobs/5150`, {
        headers: { authorization: `Bearer ${access}` },
      });
      return res.ok ? ((await res.json()) as BenchJob) : null;
    };
    // the server runs no jobs: the profile waits in the queue
    await waitFor(async () => (await job())?.status === 'queued', 20_000, 'the queued profile');

    const worker = await startCli(['worker'], env, /job worker (\S+) running/);
    children.push(worker);
    const workerId = worker.ready[1]!;
    expect(workerId).toContain(`:${worker.child.pid}:`);
    const done = await waitFor(
      async () => {
        const j = await job();
        // the profile's row commits first, the queue's record of the run right after it
        const ended = (s: string | null | undefined) => s === 'succeeded' || s === 'failed';
        return ended(j?.status) && ended(j?.processing.status) ? j : undefined;
      },
      20_000,
      'the worker to process the profile',
    );
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.processing.status).toBe('succeeded');
    expect(done.processing.log.map((l) => l.message)).toContain(`attempt 1 started by ${workerId}`);
    const want = expectedFor(nodes, [[0, 0]]);
    expect(done.nodes).toBe(3);
    expect(done.samples).toBe(want.samples);
    expect(done.energy_j).toBeCloseTo(want.energyJ, 6);
    expect(done.tts_s).toBe(want.ttsS);
    expect(done.avg_power_w).toBeCloseTo(want.energyJ / want.ttsS, 6);
    expect(done.peak_power_w).toBe(want.peakW);
    expect(done.edp_js).toBeCloseTo(want.energyJ * want.ttsS, 0);

    const stoppedWorker = await worker.stop();
    expect(stoppedWorker.code, worker.output()).toBe(0);
    expect(stoppedWorker.stdout).toContain('shutting down');
    const stoppedServer = await server.stop();
    expect(stoppedServer.code, server.output()).toBe(0);
  });
});
