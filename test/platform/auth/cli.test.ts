/** `conflux users create --admin`: the first admin, created from the command line, can sign in. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { startServer } from '../../../src/server.ts';
import { signIn } from '../../helpers/auth.ts';
import { backends, createPostgresDatabase, dropPostgresDatabase, silentLog } from '../../helpers/db.ts';

function run(args: string[], env: Record<string, string>, stdin: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.resolve('src/main.ts'), ...args], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe.each(backends())('users CLI on %s', (backend) => {
  it('creates an admin that can sign in, and refuses a taken name', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'conflux-cli-'));
    const url = backend === 'postgres' ? await createPostgresDatabase() : null;
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: dir,
      HOST: '127.0.0.1',
      PORT: '0',
      OBJECT_RESCAN_INTERVAL_SECONDS: '0',
      ...(url ? { DATABASE_URL: url } : {}),
    };
    try {
      const created = await run(['users', 'create', 'root1', '--admin'], env, 'root-password-1\n');
      expect(created.stderr).toBe('');
      expect(created.stdout).toMatch(/created admin 'root1'/);
      expect(created.code).toBe(0);
      const again = await run(['users', 'create', 'root1'], env, 'another-password\n');
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/username already taken/);

      const server = await startServer(loadConfig(env), silentLog);
      try {
        const s = await signIn(server, 'root1', 'root-password-1');
        const me = await server.http.inject({ method: 'GET', url: '/auth/me', headers: s.headers });
        expect(me.json()).toMatchObject({ username: 'root1', role: 'admin' });
      } finally {
        await server.stop();
      }
    } finally {
      if (url) await dropPostgresDatabase(url);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
