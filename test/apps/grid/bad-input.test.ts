/**
 * Bad input never stops the stream: thousands of malformed payloads, interleaved with good ones,
 * go through the broker; every good one is stored, every bad one dead-lettered, the process stays up.
 */
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { until } from '../../helpers/until.ts';

const TOPIC = 'volttron/metering';

type Item = { good: true; body: Record<string, unknown> } | { good: false; bytes: Uint8Array | string };

const goodLoad = fc.record({
  currentPowerKw: fc.double({ min: 0, max: 50, noNaN: true }),
  type: fc.constantFrom('hvac', 'ev_charger', 'lighting'),
});
const goodBody = fc.record({
  vens: fc.integer({ min: 0, max: 4 }),
  usedPowerKw: fc.double({ min: -100, max: 1000, noNaN: true }),
  shedPowerKw: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
  loads: fc.array(goodLoad, { maxLength: 5 }),
});

/** Ways a payload can be wrong; each still goes to the same topic. */
const badItem: fc.Arbitrary<Uint8Array | string> = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 64 }),
  fc.string().filter((s) => {
    try {
      const v: unknown = JSON.parse(s);
      return typeof v !== 'object' || v === null || Array.isArray(v);
    } catch {
      return true;
    }
  }),
  fc
    .jsonValue()
    .map((v) =>
      JSON.stringify(typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v, venId: 7 } : v),
    ),
  fc.constantFrom(
    JSON.stringify({ venId: 'fc-bad', timestamp: 'yesterday', loads: [] }),
    JSON.stringify({ venId: 'fc-bad', timestamp: 1767225600, usedPowerKw: 'a lot' }),
    JSON.stringify({ venId: 'fc-bad', timestamp: 1767225600, loads: {} }),
    JSON.stringify({ venId: 'fc-bad', timestamp: 1767225600, loads: [{ name: 'no id' }] }),
    JSON.stringify({ venId: 'fc-bad', timestamp: 1767225600, eventId: 'evt-unknown' }),
    JSON.stringify({ venId: '', timestamp: 1767225600 }),
    JSON.stringify({ timestamp: 1767225600, usedPowerKw: 1 }),
    JSON.stringify({ venId: 'fc-bad', usedPowerKw: 1 }),
    JSON.stringify({ venId: 'fc-bad', timestamp: 1767225600, loads: [{ id: 'a', enabled: 'yes' }] }),
    // An escape JSON.parse takes and PostgreSQL's JSON parser would not read back from `loads`.
    '{"venId":"fc-bad","timestamp":1767225600,"loads":[{"id":"a","name":"nul \\u0000"}]}',
    '[]',
    'null',
    '',
  ),
);

describe('malformed MQTT payloads', () => {
  let server: TestServer;
  let pub: MqttClient;
  let run = 0;

  beforeAll(async () => {
    server = await startTestServer('pglite', { AUTH_MODE: 'open' });
    pub = await mqtt.connectAsync(server.core.mqtt!.url, { clientId: 'fc-publisher' });
  });
  afterAll(async () => {
    await pub?.endAsync();
    await server?.stop();
  });

  it('stores every good message and dead-letters every bad one', { timeout: 120_000 }, async () => {
    const dl = server.core.mqtt!.deadLetters;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            goodBody.map((b): Item => ({ good: true, body: b })),
            badItem.map((bytes): Item => ({ good: false, bytes })),
          ),
          { minLength: 600, maxLength: 900 },
        ),
        async (items) => {
          run++;
          const prefix = `fc-r${run}`;
          const base = Date.UTC(2026, 0, 1) + run * 10_000_000;
          const deadBefore = await dl.count();
          const good = items.filter((i) => i.good).length;
          await Promise.all(
            items.map((item, n) => {
              if (!item.good) return pub.publishAsync(TOPIC, Buffer.from(item.bytes), { qos: 1 });
              const { vens, loads, ...rest } = item.body as { vens: number; loads: object[] };
              const body = {
                ...rest,
                venId: `${prefix}-${vens}`,
                timestamp: base + n,
                loads: loads.map((l, i) => ({ id: `c${i}`, ...l })),
              };
              return pub.publishAsync(TOPIC, JSON.stringify(body), { qos: 1 });
            }),
          );
          const stored = async () =>
            (
              await server.core.db.query<{ c: number }>(
                `SELECT count(*)::int8 AS c FROM grid_readings WHERE ven_id LIKE $1`,
                [`${prefix}-%`],
              )
            ).rows[0]?.c;
          await until(
            async () => (await stored()) === good && (await dl.count()) - deadBefore === items.length - good,
            {
              what: `${good} stored and ${items.length - good} dead letters`,
              timeoutMs: 60_000,
            },
          );
          const health = await server.http.inject({ method: 'GET', url: '/health' });
          expect(health.statusCode).toBe(200);
        },
      ),
      { numRuns: 3, seed: 4242, endOnFailure: true },
    );
    const metrics = await server.http.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/mqtt_dead_letters_total\{consumer="grid"\} [1-9]\d*/);
    const listed = await server.http.inject({ method: 'GET', url: '/api/dead-letters?limit=5' });
    expect(listed.statusCode).toBe(200);
    const rows = listed.json<{ topic: string; reason: string; payloadBase64: string }[]>();
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.topic === TOPIC && r.reason.length > 0)).toBe(true);
  });
});
