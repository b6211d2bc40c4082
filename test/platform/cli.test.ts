import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCliServer } from '../helpers/cli.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conflux-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('conflux serve on embedded parts', () => {
  it('starts on a new data directory, refuses a second process, and stops cleanly on SIGTERM', async () => {
    const server = await startCliServer({ DATA_DIR: dataDir });
    try {
      const health = await fetch(`${server.url}/health`);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(200);
      expect(existsSync(path.join(dataDir, 'pg'))).toBe(true);
      if (process.platform === 'linux') {
        // The process re-executed itself (same pid) with glibc's trim threshold set.
        const environ = readFileSync(`/proc/${server.child.pid}/environ`, 'utf8').split('\0');
        expect(environ).toContain('MALLOC_TRIM_THRESHOLD_=131072');
      }

      const second = await runCli(['serve'], { DATA_DIR: dataDir, PORT: '0' });
      expect(second.code).not.toBe(0);
      expect(second.stderr).toMatch(/DATA_DIR .* is in use by another Conflux process \(pid \d+\)/);
      expect(second.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      server.child.kill('SIGTERM');
    }
    const done = await server.exited;
    expect(done.code).toBe(0);
    expect(existsSync(path.join(dataDir, 'conflux.lock'))).toBe(false);
  }, 180_000);

  it('reports a port in use by naming PORT', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const res = await runCli(['serve'], { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`PORT: port ${port} on 127.0.0.1 is already in use`);
      expect(existsSync(path.join(dataDir, 'conflux.lock'))).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('migrate reports an up-to-date schema on an existing data directory', async () => {
    const res = await runCli(['migrate'], { DATA_DIR: dataDir });
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain('schema is up to date');
    expect(res.code).toBe(0);
  });
});

describe('configuration errors', () => {
  it.each([
    [{ DATABASE_URL: 'mysql://root@localhost/x' }, 2, /DATABASE_URL: scheme must be postgres/],
    [
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' },
      1,
      /DATABASE_URL: cannot connect to PostgreSQL/,
    ],
    [{ PORT: 'http' }, 2, /PORT: must be a whole number/],
    [{ APPS: 'nosuchapp' }, 2, /APPS: unknown app 'nosuchapp'/],
  ])('%o exits %i naming the variable', async (env, code, message) => {
    const res = await runCli(['serve'], { DATA_DIR: dataDir, ...env });
    expect(res.code).toBe(code);
    expect(res.stderr).toMatch(message);
  });

  it('config prints the effective configuration with secrets masked', async () => {
    const res = await runCli(['config'], { DATABASE_URL: 'postgres://app:hunter2@db.example:5432/conflux' });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/DATABASE_URL\s+postgres:\/\/app:\*\*\*@db.example:5432\/conflux/);
    expect(res.stdout).toMatch(/PORT\s+8000\s+\(default\)/);
    expect(res.stdout).not.toContain('hunter2');
  });

  it('--help lists the commands', async () => {
    const res = await runCli(['--help'], {});
    expect(res.code).toBe(0);
    for (const cmd of ['serve', 'migrate', 'config', 'simulate']) expect(res.stdout).toContain(cmd);
  });
});
