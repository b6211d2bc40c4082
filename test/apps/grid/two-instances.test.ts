/**
 * Two gateway instances on one database and one Mosquitto with a shared subscription: the
 * stream is split between them without duplicates, a WebSocket client on B sees telemetry
 * ingested by A, and an event is dispatched once.
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../../src/apps/grid/simulator.ts';
import { loadConfig } from '../../../src/config.ts';
import type { PgDatabase } from '../../../src/platform/db/pg-database.ts';
import { startServer, type Server } from '../../../src/server.ts';
import { backends, freshDatabase, silentLog, type TestDatabase } from '../../helpers/db.ts';
import { WsClient } from '../../helpers/live.ts';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.ts';
import { until } from '../../helpers/until.ts';

describe.each(backends())('two gateway instances (%s, Mosquitto, shared subscription)', (backend) => {
  let mosquitto: Mosquitto;
  let fresh: TestDatabase;
  let a: Server;
  let b: Server;
  let fleet: Fleet;
  const commands = new Map<string, number>();

  const start = async (name: string, db?: PgDatabase) =>
    startServer(
      loadConfig({
        NODE_ENV: 'test',
        AUTH_MODE: 'open',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'silent',
        DATA_DIR: '/tmp',
        MQTT_URL: mosquitto.url,
        MQTT_CLIENT_ID: `two-${name}-${randomBytes(3).toString('hex')}`,
        MQTT_SHARED_GROUP: 'grid',
        GRID_DISPATCH_INTERVAL_MS: '50',
        ...(fresh.url ? { DATABASE_URL: fresh.url } : {}),
      }),
      silentLog,
      // PGlite is in-process: both instances share it; PostgreSQL: each has its own pool.
      db ? { db } : {},
    );

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    fresh = await freshDatabase(backend);
    a = await start('a', fresh.url ? undefined : fresh.db);
    b = await start('b', fresh.url ? undefined : fresh.db);
    fleet = await startFleet({
      url: mosquitto.url,
      count: 3,
      intervalMs: 0,
      log: (line) => {
        const [ven, , op] = line.split(' ');
        if (op === 'event') commands.set(ven!, (commands.get(ven!) ?? 0) + 1);
      },
    });
  });
  afterAll(async () => {
    await fleet?.stop();
    await b?.stop();
    await a?.stop();
    await fresh?.dispose();
    await mosquitto?.stop();
  });

  const received = async (s: Server) => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    return Number(/mqtt_messages_received_total\{consumer="grid"\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  it(
    'splits the stream without duplicates and fans telemetry out to the other instance',
    { timeout: 60_000 },
    async () => {
      const ws = await WsClient.connect(b.url);
      await ws.subscribe(['grid.telemetry.two-*']);
      const pub = await mqtt.connectAsync(mosquitto.url, { clientId: 'two-publisher' });
      const total = 1000;
      const base = Date.UTC(2026, 1, 1);
      await Promise.all(
        Array.from({ length: total }, (_, n) =>
          pub.publishAsync(
            `ven/telemetry/two-${n % 10}`,
            JSON.stringify({ venId: `two-${n % 10}`, timestamp: base + n, usedPowerKw: n, loads: [] }),
            { qos: 1 },
          ),
        ),
      );
      await until(
        async () =>
          (
            await a.core.db.query<{ c: number }>(
              `SELECT count(*)::int8 AS c FROM grid_readings WHERE ven_id LIKE 'two-%'`,
            )
          ).rows[0]?.c === total,
        { what: 'all readings stored', timeoutMs: 30_000 },
      );
      const [ra, rb] = [await received(a), await received(b)];
      expect(ra).toBeGreaterThan(0);
      expect(rb).toBeGreaterThan(0);
      expect(ra + rb).toBe(total);
      // B's socket gets every reading, including those A ingested.
      await until(() => ws.events.length >= total, { what: 'live telemetry on B' });
      expect(new Set(ws.events.map((e) => (e.data as { timestamp: string }).timestamp)).size).toBe(total);
      ws.close();
      await pub.endAsync();
    },
  );

  it('dispatches an event once across both instances', { timeout: 60_000 }, async () => {
    await fleet.publishAll();
    await until(
      async () =>
        (
          await a.core.db.query<{ c: number }>(
            `SELECT count(*)::int8 AS c FROM grid_vens WHERE status = 'online' AND id = ANY($1)`,
            [fleet.vens.map((v) => v.id)],
          )
        ).rows[0]?.c === 3,
      { what: 'fleet online' },
    );
    const now = Date.now();
    const r = await fetch(`${a.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        startTime: new Date(now - 1000).toISOString(),
        endTime: new Date(now + 60_000).toISOString(),
        requestedReductionKw: 3,
      }),
    });
    expect(r.status).toBe(201);
    const { id } = (await r.json()) as { id: string };
    await until(async () => {
      const m = (await (await fetch(`${b.url}/api/events/${id}/metrics`)).json()) as { acks: number };
      return m.acks >= fleet.vens.length;
    });
    // Every online VEN (the fleet and the test above's) got its command, recorded once.
    await until(async () => {
      const m = (await (await fetch(`${b.url}/api/events/${id}/metrics`)).json()) as {
        commandsSent: number;
        vensDispatched: number;
      };
      return m.commandsSent === m.vensDispatched && m.vensDispatched >= fleet.vens.length;
    });
    for (const v of fleet.vens) expect(commands.get(v.id)).toBe(1);
  });
});
