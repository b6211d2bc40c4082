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
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const get = async <T>(url: string): Promise<T> => {
    const r = await server.http.inject({ method: 'GET', url });
    expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
    return r.json<T>();
  };
  const circuits = (query = '') =>
    get<{ snapshots: Snapshot[]; totalCount: number }>(`/api/vens/${ven}/circuits/history?${query}`);
  const metering = (s: number, powers: number[]) =>
    client.publishAsync(
      `ven/telemetry/${ven}`,
      JSON.stringify({
        venId: ven,
        timestamp: at(s),
        usedPowerKw: powers.reduce((a, b) => a + b, 0),
        loads: powers.map((p, i) => ({ id: `c${i + 1}`, name: `circuit ${i + 1}`, currentPowerKw: p })),
      }),
      { qos: 1 },
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

  it('deletes every reading, load row and snapshot of a deleted VEN', async () => {
    const del = await server.http.inject({ method: 'DELETE', url: `/api/vens/${ven}` });
    expect(del.statusCode).toBe(204);
    const { rows } = await server.core.db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM grid_readings WHERE ven_id = $1)
            + (SELECT count(*) FROM grid_load_readings WHERE ven_id = $1)
            + (SELECT count(*) FROM grid_load_snapshots WHERE ven_id = $1) AS n`,
      [ven],
    );
    expect(Number(rows[0]?.n)).toBe(0);
  });
});
