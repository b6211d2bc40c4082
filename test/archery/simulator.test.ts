import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { call, eventually, shotSocket } from './helpers.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

/** Runs `conflux simulate archery ...` as a real process; resolves with its exit code and output. */
function simulate(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MAIN, 'simulate', 'archery', ...args], {
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output })),
  );
}

describe.each(backends())('archery simulator from the CLI on %s', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(backend);
  });
  afterAll(async () => {
    await server.stop();
  });

  const modes = backend === 'postgres' ? (['api', 'database'] as const) : (['api'] as const);
  it.each(modes)(
    'three sensor processes (via %s) produce shots that reach the socket scored',
    async (mode) => {
      // An interrupted earlier run left a reading pending: this run must neither use nor wait for it.
      const open = await call<{ id: string }>(server, 'GET', '/session/open');
      const sessionId =
        open.status === 200
          ? open.body.data.id
          : (await call<{ id: string }>(server, 'POST', '/session', { location: 'range' })).body.data.id;
      const arrows = await call<{ id: string }[]>(server, 'GET', '/arrow?is_active=true');
      let arrowId = arrows.body.data[0]?.id;
      if (arrowId === undefined) {
        arrowId = randomUUID();
        await call(server, 'POST', '/arrow', { id: arrowId, human_identifier: 'OLD-1', length: 70 });
      }
      const stale = await call<{ id: string }>(server, 'POST', '/shot_reading', {
        session_id: sessionId,
        arrow_id: arrowId,
      });
      const socket = await shotSocket(server);
      const args = ['--shots', '6', '--interval', '50', '--arrows', '3', '--miss-rate', '0.3'];
      const run =
        mode === 'api'
          ? await simulate([...args, '--api', server.url])
          : await simulate(args, { DATABASE_URL: server.databaseUrl ?? '' });
      expect(run.output).not.toMatch(/failed/);
      expect(run.code).toBe(0);
      const shots = await eventually(() => (socket.messages.length >= 6 ? socket.messages : undefined));
      expect(shots).toHaveLength(6);
      const perf = await call<{ id: string; score: number | null; x: number | null }[]>(
        server,
        'GET',
        '/session_performance',
      );
      for (const shot of shots) {
        const stored = perf.body.data.find((s) => s.id === shot.id);
        expect(stored).toBeDefined();
        expect(shot.score).toBe(stored?.score);
        if (shot.x === null) expect(shot.score).toBeNull();
        else expect(shot.score).toEqual(expect.any(Number));
      }
      // The set-up is reused: one open session, its target and the same quiver.
      expect((await call<unknown[]>(server, 'GET', '/session?is_opened=true')).body.data).toHaveLength(1);
      expect((await call<unknown[]>(server, 'GET', '/arrow?is_active=true')).body.data).toHaveLength(3);
      const pending = await call<{ id: string }[]>(
        server,
        'GET',
        `/shot_reading?session_id=${sessionId}&stage=bow`,
      );
      expect(pending.body.data.map((r) => r.id)).toContain(stale.body.data.id);
      await socket.close();
    },
  );
});
