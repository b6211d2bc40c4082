/**
 * `conflux bench ingest` as a user runs it: a local directory with good and bad profiles is
 * uploaded under --owner and processed with a progress bar; the summary table lists every file
 * and the exit code is non-zero because one failed. Run again over the storage prefix, the
 * processed versions are not processed twice. Mistakes (no --owner, an unknown owner, a target
 * that is neither a directory nor a prefix) get one line and exit code 2.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, createPostgresDatabase, dropPostgresDatabase } from '../helpers/db.ts';
import * as fx from './fixtures.ts';

function run(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, ['src/main.ts', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each(backends())('conflux bench ingest on %s', (backend) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-'));
  let dbUrl: string | null = null;
  afterAll(async () => {
    if (dbUrl) await dropPostgresDatabase(dbUrl);
    rmSync(dir, { recursive: true, force: true });
  });

  it('processes a directory, prints a summary and fails when a file failed', async () => {
    dbUrl = backend === 'postgres' ? await createPostgresDatabase() : null;
    const profiles = path.join(dir, 'profiles');
    mkdirSync(path.join(profiles, 'week1'), { recursive: true });
    await fx.multiNode(path.join(profiles, '1001_a.h5'), 100);
    await fx.energyOnly(path.join(profiles, 'week1', '1002_b.h5'));
    fx.notHdf5(path.join(profiles, 'week1', '1003_c.h5'));
    const env = {
      DATA_DIR: path.join(dir, 'data'),
      LOG_LEVEL: 'silent',
      APPS: 'bench',
      JWT_SECRET: 'ingest-test-secret-0123456789abcdefgh',
      OBJECT_RESCAN_INTERVAL_SECONDS: '0',
      ...(dbUrl ? { DATABASE_URL: dbUrl } : {}),
    };
    // Mistakes get one line and exit code 2, before anything is uploaded.
    const noOwner = await run(['bench', 'ingest', profiles], env);
    expect(noOwner.code).toBe(2);
    expect(noOwner.stderr).toMatch(/--owner <username> is required/);
    const unknown = await run(['bench', 'ingest', profiles, '--owner', 'dave01'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no user dave01');
    expect(unknown.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const nowhere = await run(['bench', 'ingest', path.join(dir, 'no-such-dir')], env);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/neither a local file or directory nor a storage prefix/);

    expect((await run(['users', 'create', 'dave01', '--no-password', '--role', 'user'], env)).code).toBe(0);
    const first = await run(['bench', 'ingest', profiles, '--owner', 'dave01'], env);
    expect(first.stderr).toMatch(/3\/3 files/);
    expect(first.code).toBe(1);
    const lines = first.stdout.split('\n');
    expect(lines[0]).toMatch(/^file\s+job\s+status\s+nodes\s+samples\s+energy kWh/);
    expect(lines.find((l) => l.startsWith('dave01/1001_a.h5'))).toMatch(/1001\s+succeeded\s+3\s+300\s/);
    expect(lines.find((l) => l.startsWith('dave01/week1/1002_b.h5'))).toMatch(/1002\s+succeeded\s+1\s+300\s/);
    expect(lines.find((l) => l.startsWith('dave01/week1/1003_c.h5'))).toMatch(
      /1003\s+failed.*not an HDF5 file/,
    );
    expect(first.stdout).toContain('3 files, 1 failed');

    const again = await run(['bench', 'ingest', 'dave01/week1/'], env);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('2 files, 1 failed');
  }, 120_000);
});
