/**
 * Loads from both sources (metering messages and the loads topic's snapshots) through MQTT and
 * HTTP: current loads, the newest-N circuit history across both, one load's history, and a VEN's
 * deletion taking every row of it along.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../helpers/db.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { until } from '../../helpers/until.ts';

interface Snapshot {
  loadId: string;
  timestamp: string;
  currentPowerKw: number | null;
  source: string;
}

describe.each(backends())('grid loads and snapshots (%s)', (backend) => {
  let server: TestServer;
  let client: MqttClient;
  const ven = 'loads-ven-1';
  /** A VEN with readings stored before migration 005. */
  const old = 'loads-ven-old';
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const get = async <T>(url: string): Promise<T> => {
    const r = await server.http.inject({ method: 'GET', url });
    expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
    return r.json<T>();
  };
  const circuits = (query = '') =>
    get<{ snapshots: Snapshot[]; totalCount: number }>(`/api/vens/${ven}/circuits/history?${query}`);
  /** A metering message from `venId` at `s` seconds, with loads c1, c2... of these powers. */
  const metering = (s: number, powers: number[], venId = ven) =>
    client.publishAsync(
      `ven/telemetry/${venId}`,
      JSON.stringify({
        venId,
        timestamp: at(s),
        usedPowerKw: powers.reduce((a, b) => a + b, 0),
        loads: powers.map((p, i) => ({ id: `c${i + 1}`, name: `circuit ${i + 1}`, currentPowerKw: p })),
      }),
      { qos: 1 },
    );

  /** Waits until `venId`'s current loads start with c1 at `power`. */
  const untilCurrentC1 = (venId: string, power: number, what: string) =>
    until(
      async () =>
        (await get<{ currentPowerKw: number }[]>(`/api/vens/${venId}/loads`))[0]?.currentPowerKw === power,
      { what },
    );

  beforeAll(async () => {
    server = await startTestServer(backend, { AUTH_MODE: 'open', BACKEND_LOADS_TOPIC: 'backend/loads' });
    client = await mqtt.connectAsync(server.core.mqtt!.url, { clientId: `loads-test-${backend}` });
  });
  afterAll(async () => {
    await client?.endAsync();
    await server?.stop();
  });

  it('keeps metering loads and snapshots apart and shows them together, newest first', async () => {
    await metering(0, [1, 2]);
    await metering(1, [3, 4]);
    await client.publishAsync(
      'backend/loads',
      JSON.stringify({ venId: ven, timestamp: at(2), loads: [{ id: 'c1', currentPowerKw: 5 }] }),
      { qos: 1 },
    );
    await until(
      async () => {
        const r = await server.http.inject({ method: 'GET', url: `/api/vens/${ven}/circuits/history` });
        return r.statusCode === 200 && r.json<{ totalCount: number }>().totalCount === 5;
      },
      { what: 'five load rows' },
    );

    // The newest three rows in the window, returned ascending, from both sources.
    const newest = await circuits('limit=3');
    expect(newest.snapshots.map((s) => [s.timestamp, s.loadId, s.source, s.currentPowerKw])).toEqual([
      [at(1), 'c1', 'metering', 3],
      [at(1), 'c2', 'metering', 4],
      [at(2), 'c1', 'snapshot', 5],
    ]);
    expect(newest.totalCount).toBe(5);
    const c1 = await circuits('loadId=c1');
    expect(c1.snapshots.map((s) => s.currentPowerKw)).toEqual([1, 3, 5]);
    expect(c1.totalCount).toBe(3);

    // Current loads: the newest message that carried any, here the snapshot.
    const loads = await get<{ id: string; currentPowerKw: number }[]>(`/api/vens/${ven}/loads`);
    expect(loads.map((l) => [l.id, l.currentPowerKw])).toEqual([['c1', 5]]);

    const history = await get<{ points: { usedPowerKw: number }[] }>(
      `/api/vens/${ven}/loads/c1/history?granularity=1s&start=${at(-1)}&end=${at(10)}`,
    );
    expect(history.points.map((p) => p.usedPowerKw)).toEqual([1, 3, 5]);

    // A newer metering message makes its loads the current ones again.
    await metering(3, [6, 7]);
    await until(async () => (await get<{ id: string }[]>(`/api/vens/${ven}/loads`)).length === 2, {
      what: 'loads of the newest reading',
    });
  });

  it('reads back load fields exactly as reported, whatever their text', async () => {
    const odd = 'loads-ven-odd';
    const loads = [
      {
        id: 'q:1',
        name: 'quote " back\\slash / tab\t',
        type: 'ev_charger',
        capacityKw: 1e-7,
        currentPowerKw: -1.5,
      },
      {
        id: 'q_2',
        name: 'café 😀 ☃',
        type: null,
        capacityKw: 123456.789,
        shedCapabilityKw: 0.1,
        enabled: false,
      },
      { id: 'q-3', currentPowerKw: 2.5, priority: 3 },
    ];
    await client.publishAsync(
      `ven/telemetry/${odd}`,
      JSON.stringify({ venId: odd, timestamp: at(5), usedPowerKw: 1, loads }),
      { qos: 1 },
    );
    let got: (Snapshot & Record<string, unknown>)[] = [];
    await until(
      async () => {
        const r = await server.http.inject({ method: 'GET', url: `/api/vens/${odd}/circuits/history` });
        if (r.statusCode === 200) got = r.json<{ snapshots: typeof got }>().snapshots;
        return got.length === 3;
      },
      { what: 'the odd loads' },
    );
    expect(got.map((l) => [l.loadId, l.name, l.type, l.capacityKw, l.currentPowerKw, l.enabled])).toEqual([
      ['q-3', null, null, null, 2.5, null],
      ['q:1', 'quote " back\\slash / tab\t', 'ev_charger', 1e-7, -1.5, null],
      ['q_2', 'café 😀 ☃', null, 123456.789, null, false],
    ]);
    const current = await get<{ id: string; name: string }[]>(`/api/vens/${odd}/loads`);
    expect(current.map((l) => l.name)).toEqual(['q-3', 'quote " back\\slash / tab\t', 'café 😀 ☃']);
  });

  /** A reading as stored before migration 005 (no `loads`), with its load row (power of `c1`, if any). */
  const oldReading = async (venId: string, s: number, c1: number | null) => {
    const db = server.core.db;
    await db.query(
      `INSERT INTO grid_vens (id, name, status, registration_id, last_seen) VALUES ($1, $1, 'online', $1, now())
       ON CONFLICT (id) DO NOTHING`,
      [venId],
    );
    await db.query(
      `INSERT INTO grid_readings (ven_id, ts, used_power_kw, payload) VALUES ($1, $2, 1, '{}')`,
      [venId, at(s)],
    );
    if (c1 !== null)
      await db.query(
        `INSERT INTO grid_load_readings (ven_id, load_id, ts, name, current_power_kw) VALUES ($1, 'c1', $2, 'old', $3)`,
        [venId, at(s), c1],
      );
  };

  it('still reads loads stored as rows of their own, before migration 005', async () => {
    await oldReading(old, 0, 1);
    await oldReading(old, 1, 2);
    const loads = await get<{ id: string; currentPowerKw: number }[]>(`/api/vens/${old}/loads`);
    expect(loads.map((l) => [l.id, l.currentPowerKw])).toEqual([['c1', 2]]);
    const c = await get<{ snapshots: Snapshot[]; totalCount: number }>(`/api/vens/${old}/circuits/history`);
    expect(c.snapshots.map((x) => x.currentPowerKw)).toEqual([1, 2]);
    expect(c.totalCount).toBe(2);
    const history = await get<{ points: { usedPowerKw: number }[] }>(
      `/api/vens/${old}/loads/c1/history?granularity=1s&start=${at(-1)}&end=${at(10)}`,
    );
    expect(history.points.map((p) => p.usedPowerKw)).toEqual([1, 2]);

    // A new reading (loads on its row) after the old ones: its loads are the current ones, and the
    // history holds both.
    await metering(3, [9], old);
    await untilCurrentC1(old, 9, 'loads of the new reading');
    const both = await get<{ snapshots: Snapshot[]; totalCount: number }>(
      `/api/vens/${old}/circuits/history`,
    );
    expect(both.snapshots.map((x) => x.currentPowerKw)).toEqual([1, 2, 9]);
    expect(both.totalCount).toBe(3);
  });

  it('takes current loads from a late reading newer than the last old one that had loads', async () => {
    // Old readings at 1 (with loads) and 3 (without any); after the upgrade, a message from 2
    // (buffered by the VEN, or written by a gateway not yet upgraded) carries loads.
    const late = 'loads-ven-late';
    await oldReading(late, 1, 1);
    await oldReading(late, 3, null);
    await metering(2, [2], late);
    await untilCurrentC1(late, 2, 'loads of the late reading');
    // A second message with the same VEN and time is taken for a redelivery: stored once, loads
    // and all. Messages of one client are stored in order: once the next one is, so is this one.
    await client.publishAsync(
      `ven/telemetry/${late}`,
      JSON.stringify({ venId: late, timestamp: at(2), loads: [{ id: 'c2', currentPowerKw: 5 }] }),
      { qos: 1 },
    );
    await metering(4, [4], late);
    await untilCurrentC1(late, 4, 'the message after');
    const c = await get<{ snapshots: Snapshot[] }>(`/api/vens/${late}/circuits/history`);
    expect(c.snapshots.map((x) => [x.loadId, x.currentPowerKw])).toEqual([
      ['c1', 1],
      ['c1', 2],
      ['c1', 4],
    ]);
  });

  it.each([
    ['on its row', 'loads-ven-quiet'],
    ['in a load row, stored before 005', 'loads-ven-quiet-old'],
  ])(
    "keeps a VEN's loads through metering without any, for its newest 1,000 readings (loads %s)",
    async (where, quiet) => {
      // The n-th reading, an hour before the others' (one second apart); loads c1.. of these powers.
      const publish = (n: number, powers: number[]) => metering(n - 3600, powers, quiet);
      const stored = (n: number) =>
        until(
          async () =>
            Number(
              (
                await server.core.db.query<{ n: number }>(
                  'SELECT count(*) AS n FROM grid_readings WHERE ven_id = $1',
                  [quiet],
                )
              ).rows[0]?.n,
            ) === n,
          { what: `${n} readings`, timeoutMs: 30_000 },
        );
      const current = () => get<{ id: string; currentPowerKw: number }[]>(`/api/vens/${quiet}/loads`);
      if (where === 'on its row') await publish(0, [3]);
      else await oldReading(quiet, -3600, 3); // where `publish(0)` would be
      await Promise.all(Array.from({ length: 999 }, (_, i) => publish(i + 1, [])));
      await stored(1000);
      expect((await current()).map((l) => [l.id, l.currentPowerKw])).toEqual([['c1', 3]]);
      // One more: the reading with loads is now the 1,001st newest, past what is looked at (migration 006).
      await publish(1000, []);
      await stored(1001);
      expect(await current()).toEqual([]);
      expect((await get<{ loads: unknown[] }>(`/api/vens/${quiet}`)).loads).toEqual([]);
    },
  );

  it('deletes every reading, load row and snapshot of a deleted VEN', async () => {
    for (const id of [ven, old]) {
      const del = await server.http.inject({ method: 'DELETE', url: `/api/vens/${id}` });
      expect(del.statusCode).toBe(204);
      const { rows } = await server.core.db.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM grid_readings WHERE ven_id = $1)
              + (SELECT count(*) FROM grid_load_readings WHERE ven_id = $1)
              + (SELECT count(*) FROM grid_load_snapshots WHERE ven_id = $1) AS n`,
        [id],
      );
      expect(Number(rows[0]?.n), id).toBe(0);
    }
  });
});
