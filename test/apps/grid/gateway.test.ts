import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../../src/apps/grid/simulator.ts';
import { backends } from '../../helpers/db.ts';
import { WsClient } from '../../helpers/live.ts';
import { startMosquitto, brokers, type Mosquitto } from '../../helpers/mosquitto.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { until } from '../../helpers/until.ts';

const cases = backends().flatMap((db) => brokers().map((broker) => [db, broker] as const));

describe.each(cases)('grid gateway (%s, %s broker)', (backend, broker) => {
  let server: TestServer;
  let fleet: Fleet;
  let mosquitto: Mosquitto | null = null;
  /** What the server logs at warn level and above, a parsed line each. */
  type Line = { msg: string; venId?: string };
  const warnings: Line[] = [];
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push(JSON.parse(line) as Line) },
  );
  const get = async <T>(url: string): Promise<T> => {
    const r = await server.http.inject({ method: 'GET', url });
    expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
    return r.json<T>();
  };
  // Keeps the fleet reporting while a condition is awaited (VENs publish every 5 s in real life).
  const reportUntil = (check: () => Promise<boolean>, what: string) =>
    until(
      async () => {
        await fleet.publishAll();
        return check();
      },
      { what, intervalMs: 60, timeoutMs: 20_000 },
    );

  beforeAll(async () => {
    const env: Record<string, string> = {
      GRID_HEARTBEAT_INTERVAL_MS: '100',
      GRID_OFFLINE_AFTER_MS: '1500',
      GRID_DISPATCH_INTERVAL_MS: '100',
      AUTH_MODE: 'open',
    };
    if (broker === 'mosquitto') {
      mosquitto = await startMosquitto();
      env.MQTT_URL = mosquitto.url;
    } else if (broker === 'external') {
      env.MQTT_URL = process.env.TEST_MQTT_URL as string;
    }
    server = await startTestServer(backend, env, log);
    const url = server.core.mqtt?.url as string;
    fleet = await startFleet({ url, count: 3, intervalMs: 0 });
  });
  afterAll(async () => {
    await fleet?.stop();
    await server?.stop();
    await mosquitto?.stop();
  });

  it('shows telemetry in VENs, stats and history (with or without trailing slash)', async () => {
    await reportUntil(async () => {
      const vens = await get<{ id: string }[]>('/api/vens');
      return fleet.vens.every((v) => vens.some((x) => x.id === v.id));
    }, 'auto-registered VENs');
    // Readings are visible once committed (publishing resolves on the broker's PUBACK, earlier).
    await reportUntil(
      async () => (await get<unknown[]>(`/api/vens/${fleet.vens[1]!.id}/telemetry?limit=5`)).length >= 3,
      'three readings',
    );
    const ven = await get<{ status: string; loads: unknown[]; metrics: { currentPowerKw: number } }>(
      `/api/vens/${fleet.vens[0]!.id}/`,
    );
    expect(ven.status).toBe('online');
    expect(ven.loads.length).toBe(fleet.vens[0]!.circuits.length);
    expect(ven.metrics.currentPowerKw).toBeGreaterThan(0);
    const stats = await get<{
      venCount: number;
      onlineVens: number;
      householdUsageKw: number;
      averageHousePower: number;
    }>('/api/stats/network');
    expect(stats.onlineVens).toBeGreaterThanOrEqual(3);
    expect(stats.householdUsageKw).toBeGreaterThan(0);
    expect(stats.averageHousePower).toBeCloseTo(stats.householdUsageKw / stats.venCount, 2);
    const loads = await get<{ type: string; totalCapacityKw: number }[]>('/api/stats/loads');
    expect(loads.length).toBeGreaterThan(0);
    const hist = await get<{ points: { usedPowerKw: number }[] }>(
      '/api/stats/network/history?granularity=1m',
    );
    expect(hist.points.length).toBeGreaterThan(0);
    expect(hist.points.at(-1)!.usedPowerKw).toBeGreaterThan(0);
    const tele = await get<unknown[]>(`/api/vens/${fleet.vens[1]!.id}/telemetry?limit=2`);
    expect(tele.length).toBe(2);
    const circuits = await get<{ snapshots: unknown[]; totalCount: number }>(
      `/api/vens/${fleet.vens[1]!.id}/circuits/history?limit=3`,
    );
    expect(circuits.snapshots.length).toBe(3);
    expect(circuits.totalCount).toBeGreaterThan(3);
  });

  it('dispatches an event to online VENs at its start, records acks and reduction, restores on stop', async () => {
    // An event is dispatched to the VENs online when it opens. On a busy machine the test before
    // can leave the fleet silent for longer than GRID_OFFLINE_AFTER_MS.
    await reportUntil(async () => {
      const vens = await get<{ id: string; status: string; lastSeen: string }[]>('/api/vens');
      // Seen just now, not only still marked online: the heartbeat may be about to mark it offline.
      const fresh = (x: { status: string; lastSeen: string }) =>
        x.status === 'online' && Date.now() - Date.parse(x.lastSeen) < 1000;
      return fleet.vens.every((v) => vens.some((x) => x.id === v.id && fresh(x)));
    }, 'the fleet online');
    const now = Date.now();
    const created = await server.http.inject({
      method: 'POST',
      url: '/api/events',
      payload: {
        startTime: new Date(now - 1000).toISOString(),
        endTime: new Date(now + 120_000).toISOString(),
        requestedReductionKw: 4,
      },
    });
    expect(created.statusCode).toBe(201);
    const eventId = created.json<{ id: string }>().id;
    type Metrics = {
      acks: number;
      vensDispatched: number;
      actualReductionKw: number;
      avgResponseMs: number | null;
      restoresSent: number;
    };
    await reportUntil(async () => {
      const m = await get<Metrics>(`/api/events/${eventId}/metrics`);
      return m.acks >= 3 && m.actualReductionKw > 0;
    }, 'acks and reduction');
    const m = await get<Metrics>(`/api/events/${eventId}/metrics`);
    expect(m.vensDispatched).toBeGreaterThanOrEqual(3);
    expect(m.avgResponseMs).not.toBeNull();
    expect(fleet.vens.every((v) => v.eventId === eventId)).toBe(true);
    expect((await get<{ status: string }>(`/api/events/${eventId}`)).status).toBe('active');
    const acks = await get<{ op: string; eventId: string; circuitsCurtailed: unknown[] }[]>(
      `/api/vens/${fleet.vens[0]!.id}/events`,
    );
    expect(
      acks.find((a) => a.op === 'event' && a.eventId === eventId)?.circuitsCurtailed.length,
    ).toBeGreaterThan(0);
    const stats = await get<{ currentLoadReductionKw: number; networkEfficiency: number | null }>(
      '/api/stats/network',
    );
    expect(stats.currentLoadReductionKw).toBeGreaterThan(0);
    expect(stats.networkEfficiency).not.toBeNull();

    const stop = await server.http.inject({ method: 'POST', url: `/api/events/${eventId}/stop` });
    expect(stop.statusCode).toBe(202);
    expect(stop.json()).toEqual({ status: 'stopping', eventId });
    await until(() => fleet.vens.every((v) => v.eventId === null), { what: 'restores at the VENs' });
    await until(async () => (await get<Metrics>(`/api/events/${eventId}/metrics`)).restoresSent >= 3);
    expect((await get<{ status: string }>(`/api/events/${eventId}`)).status).toBe('completed');
    const shadow = await get<{ desired: { activeEventId: string | null } }>(
      `/api/vens/${fleet.vens[0]!.id}/shadow`,
    );
    expect(shadow.desired.activeEventId).toBeNull();
    expect((shadow as unknown as { reported: { metering: { venId: string } } }).reported.metering.venId).toBe(
      fleet.vens[0]!.id,
    );
  });

  it('marks a silent VEN offline and brings it back with its next message', async () => {
    const silent = fleet.vens[2]!;
    silent.silentUntil = Number.MAX_SAFE_INTEGER;
    await reportUntil(
      async () => (await get<{ status: string }>(`/api/vens/${silent.id}`)).status === 'offline',
      'offline',
    );
    expect((await get<{ status: string }>(`/api/vens/${fleet.vens[0]!.id}`)).status).toBe('online');
    silent.silentUntil = 0;
    await reportUntil(
      async () => (await get<{ status: string }>(`/api/vens/${silent.id}`)).status === 'online',
      'back online',
    );
  });

  it('publishes live telemetry of a VEN whose id holds @, and stores VENs whose ids name no topic', async () => {
    const venId = 'meter@site-3';
    const ws = await WsClient.connect(server.url);
    const pub = await mqtt.connectAsync(server.core.mqtt?.url as string, {
      clientId: `at-publisher-${backend}-${broker}`,
    });
    try {
      expect((await ws.subscribe(['grid.telemetry.*'])).type).toBe('subscribed');
      const metering = (id: string, usedPowerKw: number) =>
        pub.publishAsync(
          `ven/telemetry/${id}`,
          JSON.stringify({ venId: id, timestamp: Date.now(), usedPowerKw, loads: [{ id: 'c1' }] }),
          { qos: 1 },
        );
      // The fleet's telemetry of the tests before may still be arriving.
      const of = (id: string) => ws.events.filter((e) => (e.data as { venId?: string }).venId === id);
      await metering(venId, 1.5);
      await until(() => of(venId).length > 0, { what: 'live telemetry of meter@site-3' });
      expect(of(venId)[0]).toMatchObject({
        topic: `grid.telemetry.${venId}`,
        data: { venId, usedPowerKw: 1.5 },
      });
      expect((await get<{ id: string }>(`/api/vens/${encodeURIComponent(venId)}`)).id).toBe(venId);

      // Dots separate a topic's words: these ids name no topic. Their VENs are stored and served as
      // any other (they may have been for years), only their telemetry is not published live.
      const dl = server.core.mqtt!.deadLetters;
      const before = await dl.count();
      const untopical = ['a..b', '.lead', 'trail.'];
      for (const id of untopical) for (let n = 0; n < 2; n++) await metering(id, 2);
      await metering(venId, 2.5);
      // Published after the others were stored, in order, on the same socket.
      await until(() => of(venId).length > 1, { what: 'the next live telemetry of meter@site-3' });
      expect(untopical.flatMap(of)).toEqual([]);
      for (const id of untopical) {
        const ven = await get<{ id: string; metrics: { currentPowerKw: number } }>(`/api/vens/${id}`);
        expect(ven).toMatchObject({ id, metrics: { currentPowerKw: 2 } });
      }
      expect(await dl.count()).toBe(before);
      // Said once per VEN, not per message.
      const unpublished = warnings
        .filter((w) => w.msg.includes('cannot name a live topic'))
        .map((w) => w.venId);
      expect(unpublished.sort()).toEqual([...untopical].sort());
    } finally {
      ws.close();
      await pub.endAsync();
    }
  });

  it('still shows a reading stored before payloads became text (migration 004)', async () => {
    // Such rows have their payload in the json column `raw` and none in `payload`.
    await server.core.db.query(
      `INSERT INTO grid_vens (id, name, status, registration_id, last_seen)
       VALUES ('legacy-ven', 'legacy-ven', 'online', 'legacy-ven', now())`,
    );
    await server.core.db.query(
      `INSERT INTO grid_readings (ven_id, ts, used_power_kw, raw) VALUES ('legacy-ven', now(), 2.5, $1::json)`,
      ['{"venId":"legacy-ven","usedPowerKw":2.5}'],
    );
    const shadow = await get<{ reported: { metering: unknown } }>('/api/vens/legacy-ven/shadow');
    expect(shadow.reported.metering).toEqual({ venId: 'legacy-ven', usedPowerKw: 2.5 });
  });
});
