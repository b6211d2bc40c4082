/**
 * A worker killed (SIGKILL) in the middle of a file: a real `conflux serve` child process
 * processes an uploaded profile and is killed while the file is being processed; a new server
 * on the same database and storage takes the job over when its lease expires and finishes it,
 * with every sample exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer, type Server } from '../../src/server.ts';
import { syntheticProfile, writeProfile } from '../../src/apps/bench/simulator.ts';
import { backends, createPostgresDatabase, dropPostgresDatabase, silentLog } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

describe.each(backends())('killing the worker mid-file on %s', (backend) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-kill-'));
  let child: ChildProcess | undefined;
  let server: Server | undefined;
  let dbUrl: string | null = null;
  afterAll(async () => {
    child?.kill('SIGKILL');
    await server?.stop();
    if (dbUrl) await dropPostgresDatabase(dbUrl);
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes the file after the lease expires and stores every sample once', async () => {
    dbUrl = backend === 'postgres' ? await createPostgresDatabase() : null;
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      DATA_DIR: path.join(dir, 'data'),
      LOG_LEVEL: 'silent',
      APPS: 'bench',
      MQTT_PORT: '0',
      JWT_SECRET: 'kill-test-secret-0123456789abcdefghij',
      WORKERS: '1',
      JOBS_POLL_MS: '200',
      BENCH_JOB_TIMEOUT_MS: '8000',
      OBJECT_RESCAN_INTERVAL_SECONDS: '0',
      ...(dbUrl ? { DATABASE_URL: dbUrl } : {}),
    };
    const base = `http://127.0.0.1:${env.PORT}`;
    child = spawn(process.execPath, ['src/main.ts', 'serve'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child?.once('exit', r));
    await waitFor(
      () =>
        fetch(`${base}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      60_000,
      'child server',
    );

    const reg = await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'carol1', password: 'carol-password' }),
    });
    const auth = { authorization: `Bearer ${((await reg.json()) as { access: string }).access}` };
    const file = path.join(dir, '777_big.h5');
    const nodes = syntheticProfile({ nodes: 2, samples: 40_000, seed: 3 });
    await writeProfile(file, nodes);
    const up = await fetch(`${base}/storage/presign/upload?object_name=777_big.h5`, {
      method: 'POST',
      headers: auth,
    });
    const { url } = (await up.json()) as { url: string };
    expect((await fetch(url, { method: 'PUT', body: readFileSync(file) })).status).toBe(200);

    const status = async (at: string) => {
      const r = await fetch(`${at}/bench/jobs/777`, { headers: auth });
      return r.ok
        ? ((await r.json()) as {
            status: string;
            samples: number | null;
            processing: { attempts: number; log: { message: string }[] };
          })
        : null;
    };
    await waitFor(async () => (await status(base))?.status === 'processing', 90_000, 'processing to start');
    child.kill('SIGKILL');
    await exited;

    // a new server (its own worker) on the same database and storage
    server = await startServer(loadConfig({ ...env, PORT: '0' }), silentLog);
    const at = server.url;
    const done = await waitFor(
      async () => {
        const s = await status(at);
        return s?.status === 'succeeded' ? s : undefined;
      },
      120_000,
      'the resumed job',
    );
    expect(done.samples).toBe(80_000);
    expect(done.processing.attempts).toBe(2);
    expect(done.processing.log.map((l) => l.message).filter((m) => m.startsWith('attempt'))).toHaveLength(2);
    const rows = await server.core.db.query<{ n: number; distinct: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT (node, idx))::int AS distinct FROM bench_samples',
    );
    expect(rows.rows[0]).toEqual({ n: 80_000, distinct: 80_000 });
  }, 300_000);
});
