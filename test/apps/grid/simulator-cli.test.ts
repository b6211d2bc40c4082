/**
 * `conflux simulate grid` driven as a user drives it, every part a real process: the first admin
 * from `conflux users create`, `conflux serve` with the grid app and its embedded broker (on a
 * free port: this machine may run a broker on 1883), a device account and API key from the HTTP
 * API, the simulator logging in with that key; then the VENs report, a demand-response event
 * starting now is dispatched to them, they ack it and curtail, and everything stops on SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli, startCliServer, type RunningCli } from '../../helpers/cli.ts';
import { waitFor } from '../../helpers/wait.ts';

interface Ven {
  id: string;
  status: string;
  lastSeen: string | null;
  metrics: { currentPowerKw: number; activeEventId: string | null };
  loads: { id: string; capacityKw: number }[];
}

interface EventMetrics {
  status: string;
  vensDispatched: number;
  acks: number;
  accepted: number;
  actualReductionKw: number;
}

interface Ack {
  op: string;
  status: string;
  eventId: string | null;
  actualShedKw: number | null;
  circuitsCurtailed: unknown[];
}

describe('conflux simulate grid', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conflux-grid-sim-'));
  const children: RunningCli[] = [];
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad flags with one line naming the flag', async () => {
    const res = await runCli(['simulate', 'grid', '--vens', 'abc'], {});
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(
      "error: option '--vens <n>' argument 'abc' is invalid. must be a whole number from 1 to 10000",
    );
    const key = await runCli(['simulate', 'grid', '--api-key', 'not-a-key'], {});
    expect(key.code).toBe(1);
    expect(key.stderr).toMatch(/option '--api-key <key>' argument 'not-a-key' is invalid/);
    // The gateway would dead-letter every message of VENs named '.x-001' …
    const prefix = await runCli(['simulate', 'grid', '--prefix', '.x'], {});
    expect(prefix.code).toBe(1);
    expect(prefix.stderr).toMatch(/option '--prefix <id>' argument '.x' is invalid. must be letters, digits/);
  });

  it('reports, acks a demand-response event and curtails, with a device API key', async () => {
    const env = {
      DATA_DIR: path.join(dir, 'data'),
      APPS: 'grid',
      MQTT_ALLOW_ANONYMOUS: 'false',
      GRID_DISPATCH_INTERVAL_MS: '250',
      OBJECT_RESCAN_INTERVAL_SECONDS: '0',
    };
    const admin = await runCli(['users', 'create', 'ops001', '--admin'], env, { input: 'ops-password-1\n' });
    expect(admin.stdout, admin.stderr).toContain("created admin 'ops001'");
    expect(admin.code).toBe(0);

    const server = await startCliServer(env);
    children.push(server);
    // where the embedded broker listens, as the start-up line says
    const broker = /embedded broker at (mqtt:\/\/[^"\s]+)/.exec(server.output())?.[1];
    expect(broker).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(broker).not.toMatch(/:1883$/);

    const call = async <T>(method: string, route: string, token: string | null, body?: unknown) => {
      const res = await fetch(`${server.url}${route}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      expect(res.status, `${method} ${route}: ${text}`).toBeLessThan(300);
      return JSON.parse(text) as T;
    };
    const { access } = await call<{ access: string }>('POST', '/auth/password', null, {
      username: 'ops001',
      password: 'ops-password-1',
    });
    const get = <T>(route: string) => call<T>('GET', route, access);

    // without a key the broker turns the VENs away, and the simulator says what to do
    const anonymous = await runCli(['simulate', 'grid', '--vens', '1', '--broker', broker!], {});
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain(`conflux: cannot connect to the MQTT broker at ${broker}`);
    expect(anonymous.stderr).toContain('the broker wants a device API key: --api-key');
    expect(anonymous.stderr).not.toMatch(/\n\s+at /);

    await call('POST', '/auth/users', access, { username: 'bldg-fleet', role: 'device' });
    const { key } = await call<{ key: string }>('POST', '/auth/api-keys', access, {
      username: 'bldg-fleet',
      name: 'simulator',
    });
    const sim = await startCli(
      [
        ...['simulate', 'grid', '--vens', '3', '--broker', broker!, '--api-key', key],
        ...['--prefix', 'bldg', '--interval', '1000'],
      ],
      {},
      /3 VENs on /,
    );
    children.push(sim);
    const ids = ['bldg-001', 'bldg-002', 'bldg-003'];

    const vens = await waitFor(
      async () => {
        const all = await get<Ven[]>('/api/vens');
        const ours = ids.map((id) => all.find((v) => v.id === id));
        return ours.every((v) => v?.status === 'online') ? (ours as Ven[]) : undefined;
      },
      20_000,
      'three online VENs',
    );
    for (const v of vens) {
      expect(v.lastSeen).not.toBeNull();
      expect(v.metrics.currentPowerKw).toBeGreaterThan(0);
      expect(v.loads.length).toBeGreaterThanOrEqual(4);
      expect((await get<unknown[]>(`/api/vens/${v.id}/telemetry`)).length).toBeGreaterThan(0);
    }

    const now = Date.now();
    const event = await call<{ id: string }>('POST', '/api/events', access, {
      startTime: new Date(now).toISOString(),
      endTime: new Date(now + 10 * 60_000).toISOString(),
      requestedReductionKw: 5,
    });
    // the VENs ack at once; the reduction appears with their next metering (--interval)
    const metrics = await waitFor(
      async () => {
        const m = await get<EventMetrics>(`/api/events/${event.id}/metrics`);
        return m.accepted >= 3 && m.actualReductionKw > 0 ? m : undefined;
      },
      20_000,
      'acks and a reduction',
    );
    expect(metrics.status).toBe('active');
    expect(metrics.vensDispatched).toBe(3);
    for (const id of ids) {
      const acks = await get<Ack[]>(`/api/vens/${id}/events`);
      const ack = acks.find((a) => a.op === 'event' && a.eventId === event.id);
      expect(ack?.status).toBe('accepted');
      expect(ack?.actualShedKw).toBeGreaterThan(0);
      expect(ack?.circuitsCurtailed.length).toBeGreaterThan(0);
      expect(sim.output()).toContain(`${id} <- event`);
    }
    const stats = await get<{ onlineVens: number; currentLoadReductionKw: number }>('/api/stats/network');
    expect(stats.onlineVens).toBe(3);
    expect(stats.currentLoadReductionKw).toBeGreaterThan(0);

    const simStopped = await sim.stop();
    expect(simStopped.code, sim.output()).toBe(0);
    const serverStopped = await server.stop();
    expect(serverStopped.code, server.output()).toBe(0);
  }, 120_000);
});
