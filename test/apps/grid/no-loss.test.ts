/**
 * No loss across a crash: a numbered QoS 1 stream goes to an external Mosquitto while the gateway
 * process is SIGKILLed in the middle and started again; every message the broker acknowledged
 * to the publisher ends up stored exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../../src/platform/db/pglite.ts';
import { openPostgres } from '../../../src/platform/db/postgres.ts';
import { createPostgresDatabase, dropPostgresDatabase, silentLog } from '../../helpers/db.ts';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.ts';
import { until } from '../../helpers/until.ts';

const root = path.resolve(import.meta.dirname, '../../..');

interface Gateway {
  child: ChildProcess;
  url: string;
}

async function startGateway(env: Record<string, string>): Promise<Gateway> {
  const child = spawn(process.execPath, ['src/main.ts', 'serve'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"msg":"Conflux [^"]* ready at (http:\/\/[^ "]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${err}${out.slice(-2000)}`)));
  });
  return { child, url };
}

/** Resolves when the process has exited (a killed process has a signalCode and no exitCode). */
const exitOf = (child: ChildProcess) =>
  new Promise((r) =>
    child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(undefined),
  );

describe('no loss when the gateway is killed mid-stream', () => {
  let mosquitto: Mosquitto;
  let dataDir: string;
  let databaseUrl: string | null = null;

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'conflux-noloss-'));
    if (process.env.TEST_DATABASE_URL) databaseUrl = await createPostgresDatabase();
  });
  afterAll(async () => {
    await mosquitto?.stop();
    if (databaseUrl) await dropPostgresDatabase(databaseUrl);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores every acknowledged message exactly once', { timeout: 120_000 }, async () => {
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      AUTH_MODE: 'open',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      APPS: 'grid',
      MQTT_URL: mosquitto.url,
      MQTT_CLIENT_ID: 'noloss-gateway',
      DATABASE_URL: databaseUrl ?? '',
    };
    let gw = await startGateway(env);
    const pub = await mqtt.connectAsync(mosquitto.url, { clientId: 'noloss-publisher', clean: true });
    const venId = 'noloss-ven';
    const base = Date.UTC(2026, 0, 1);
    const total = 3000;
    const acked = new Set<number>();
    const send = (n: number) =>
      pub
        .publishAsync(
          `ven/telemetry/${venId}`,
          JSON.stringify({
            venId,
            timestamp: base + n,
            usedPowerKw: n,
            shedPowerKw: 0,
            loads: [{ id: 'c1', currentPowerKw: n }],
          }),
          { qos: 1 },
        )
        .then(() => acked.add(n));
    let killed = false;
    for (let n = 0; n < total; n += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => send(n + i)));
      if (!killed && n >= 1000) {
        // Mid-stream, while messages are in flight between broker, gateway and database.
        gw.child.kill('SIGKILL');
        killed = true;
      }
    }
    expect(acked.size).toBe(total);
    await exitOf(gw.child);
    gw = await startGateway(env);
    const readCount = async () => {
      const r = await fetch(
        `${gw.url}/api/vens/${venId}/history?granularity=1d&start=2025-12-31T00:00:00Z&end=2026-01-02T00:00:00Z`,
      );
      if (r.status !== 200) return 0;
      return r.status;
    };
    await until(async () => (await readCount()) === 200, { what: 'gateway answering', timeoutMs: 30_000 });
    // Wait for the backlog the broker kept for the gateway's session to drain, then stop it cleanly.
    const db = async () =>
      databaseUrl
        ? openPostgres({ url: databaseUrl, poolMax: 1, statementTimeoutMs: 10_000, log: silentLog })
        : null;
    const pgDb = await db();
    if (pgDb) {
      await until(
        async () =>
          (
            await pgDb.query<{ c: number }>(
              'SELECT count(*)::int8 AS c FROM grid_readings WHERE ven_id = $1',
              [venId],
            )
          ).rows[0]?.c === total,
        { what: 'all readings stored', timeoutMs: 60_000 },
      );
    } else {
      await until(
        async () => {
          const r = await fetch(`${gw.url}/api/vens/${venId}/telemetry?limit=1`);
          const [last] = (await r.json()) as { usedPowerKw: number }[];
          return last?.usedPowerKw === total - 1;
        },
        { what: 'the last reading stored', timeoutMs: 60_000 },
      );
    }
    gw.child.kill('SIGTERM');
    await exitOf(gw.child);
    await pub.endAsync();
    const check = pgDb ?? (await openPglite({ dataDir: path.join(dataDir, 'pg'), log: silentLog }));
    try {
      const rows = await check.query<{ n: number; c: number }>(
        `SELECT used_power_kw::int AS n, count(*)::int8 AS c FROM grid_readings WHERE ven_id = $1 GROUP BY 1`,
        [venId],
      );
      const stored = new Map(rows.rows.map((r) => [r.n, r.c]));
      const missing = [...acked].filter((n) => !stored.has(n));
      expect(missing).toEqual([]);
      expect([...stored.values()].every((c) => c === 1)).toBe(true);
      expect(stored.size).toBe(total);
      const loads = await check.query<{ c: number }>(
        'SELECT count(*)::int8 AS c FROM grid_reading_loads WHERE ven_id = $1',
        [venId],
      );
      expect(loads.rows[0]?.c).toBe(total);
    } finally {
      await check.close();
    }
  });
});
