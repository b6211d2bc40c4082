/**
 * The MQTT consumer across a lost connection while messages wait for a stalled database: the
 * broker redelivers what was not acknowledged, and in the end every message is stored once and
 * acknowledged (a new session with the same client id receives nothing). A TCP proxy between
 * consumer and Mosquitto cuts the connection; Mosquitto keeps the session (clean: false).
 */
import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { BatchWriter } from '../../src/platform/ingest/batch-writer.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { openMqtt, type PlatformMqtt } from '../../src/platform/mqtt/mqtt.ts';
import { runMigrations } from '../../src/platform/db/migrate.ts';
import { PLATFORM_MIGRATIONS } from '../../src/platform/migrations.ts';
import { Readiness } from '../../src/platform/readiness.ts';
import { backends, freshDatabase, silentLog, type TestDatabase } from '../helpers/db.ts';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { until } from '../helpers/until.ts';

/** A TCP proxy to `port` whose connections can be cut. */
async function proxyTo(port: number) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listenPort = await freePort();
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${listenPort}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(backends())('MQTT consumer across a reconnect (%s)', (backend) => {
  let t: TestDatabase;
  let mosquitto: Mosquitto;
  let proxy: Awaited<ReturnType<typeof proxyTo>>;
  let m: PlatformMqtt;
  let writer: BatchWriter;

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    proxy = await proxyTo(mosquitto.port);
    t = await freshDatabase(backend);
    await runMigrations(t.db, [{ owner: 'platform', migrations: PLATFORM_MIGRATIONS }], silentLog);
    await t.db.query('CREATE TABLE r_rows (n int PRIMARY KEY)');
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      MQTT_URL: proxy.url,
      MQTT_CLIENT_ID: `reconnect-test-${backend}`,
    });
    const metrics = createMetrics(t.db);
    m = await openMqtt({ config, log: silentLog, db: t.db, metrics, readiness: new Readiness() });
    writer = new BatchWriter(t.db, {
      name: 'reconnect',
      tables: [
        { table: 'r_rows', columns: [{ name: 'n', type: 'int4' }], onConflict: 'ON CONFLICT (n) DO NOTHING' },
      ],
      // Small, so that a stalled database stops admission and MQTT.js stops reading.
      maxQueue: 10,
      maxBatch: 5,
      log: silentLog,
    });
  });
  afterAll(async () => {
    await writer?.close();
    await m?.stop();
    await t?.dispose();
    await proxy?.close();
    await mosquitto?.stop();
  });

  it('stores every message once and acknowledges them all after the connection is cut', async () => {
    let handled = 0;
    let lastHandledAt = 0;
    const consumer = await m.consume({
      name: 'rows',
      topics: ['r/rows'],
      admit: () => writer.waitForRoom(),
      handler: async (msg) => {
        handled++;
        lastHandledAt = Date.now();
        await writer.write({ r_rows: [[Number(msg.payload.toString())]] });
      },
    });
    // Stall the database: the writer fills up, admission waits, acknowledgements are held.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holding = t.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE r_rows IN ACCESS EXCLUSIVE MODE');
      locked();
      await released;
    });
    await isLocked;

    const N = 200;
    const pub = await mqtt.connectAsync(mosquitto.url, { clientId: `reconnect-pub-${backend}` });
    await Promise.all(Array.from({ length: N }, (_, n) => pub.publishAsync('r/rows', String(n), { qos: 1 })));
    await until(() => handled >= 10, { what: 'the writer to fill up' });
    expect(consumer.pending).toBeGreaterThanOrEqual(10);

    proxy.cut();
    await until(() => !consumer.connected, { what: 'the consumer to notice the cut' });
    await until(() => consumer.connected, { what: 'the consumer to reconnect', timeoutMs: 15_000 });
    release();
    await holding;

    await until(
      async () => (await t.db.query<{ c: number }>('SELECT count(*)::int AS c FROM r_rows')).rows[0]?.c === N,
      { what: 'every message stored', timeoutMs: 20_000 },
    );
    // Nothing in flight, and nothing redelivered for a while: on a busy machine the consumer may
    // reconnect once more, which empties its in-flight list at once, and the broker then sends
    // again what had not been acknowledged on the connection that ended.
    await until(() => consumer.pending === 0 && Date.now() - lastHandledAt > 1000, {
      what: 'every acknowledgement sent',
      timeoutMs: 20_000,
    });
    await consumer.stop();

    // Everything was acknowledged: the session, taken over by a plain client, holds nothing.
    const probe = await mqtt.connectAsync(mosquitto.url, {
      clientId: `reconnect-test-${backend}-rows`,
      clean: false,
    });
    const left: string[] = [];
    probe.on('message', (_topic, payload) => left.push(payload.toString()));
    await new Promise((r) => setTimeout(r, 500));
    await probe.endAsync();
    await pub.endAsync();
    expect(left).toEqual([]);
    // The ten or more held at the cut came again, on the new connection.
    expect(handled).toBeGreaterThanOrEqual(N + 10);
  });
});
