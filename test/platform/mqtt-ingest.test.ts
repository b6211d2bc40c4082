import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { BatchWriter } from '../../src/platform/ingest/batch-writer.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { openMqtt, type PlatformMqtt } from '../../src/platform/mqtt/mqtt.ts';
import { DeadLetter } from '../../src/platform/mqtt/port.ts';
import { Readiness } from '../../src/platform/readiness.ts';
import { runMigrations } from '../../src/platform/db/migrate.ts';
import { PLATFORM_MIGRATIONS } from '../../src/platform/migrations.ts';
import { backends, freshDatabase, silentLog, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';

describe.each(backends())('MQTT consumer + batch writer (%s)', (backend) => {
  let t: TestDatabase;
  let m: PlatformMqtt;
  let writer: BatchWriter;

  beforeAll(async () => {
    t = await freshDatabase(backend);
    await runMigrations(t.db, [{ owner: 'platform', migrations: PLATFORM_MIGRATIONS }], silentLog);
    await t.db.query("CREATE TABLE t_rows (n int PRIMARY KEY, label text NOT NULL CHECK (label <> 'bad'))");
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      MQTT_PORT: '0',
      MQTT_CLIENT_ID: 'test-consumer',
    });
    const metrics = createMetrics(t.db);
    m = await openMqtt({ config, log: silentLog, db: t.db, metrics, readiness: new Readiness() });
    writer = new BatchWriter(t.db, {
      name: 'test',
      tables: [
        {
          table: 't_rows',
          columns: [
            { name: 'n', type: 'int4' },
            { name: 'label', type: 'text' },
          ],
          onConflict: 'ON CONFLICT (n) DO NOTHING',
        },
      ],
      maxQueue: 50,
      log: silentLog,
      metrics,
    });
  });
  afterAll(async () => {
    await writer.close();
    await m.stop();
    await t.dispose();
  });

  it('stores every good message once, isolates a bad row and dead-letters bad payloads', async () => {
    const consumer = await m.consume({
      name: 'rows',
      topics: ['t/rows/+'],
      admit: () => writer.waitForRoom(),
      handler: async (msg) => {
        let body: unknown;
        try {
          body = JSON.parse(msg.payload.toString('utf8'));
        } catch {
          throw new DeadLetter('not JSON');
        }
        const { n, label } = body as { n: number; label: string };
        await writer.write({ t_rows: [[n, label]] });
      },
    });
    const pub = await mqtt.connectAsync(m.url, { clientId: 'test-pub' });
    const sends: Promise<unknown>[] = [];
    for (let n = 0; n < 500; n++) {
      const payload = n % 100 === 7 ? '{oops' : JSON.stringify({ n, label: n === 250 ? 'bad' : `v${n}` });
      sends.push(pub.publishAsync(`t/rows/${n % 5}`, payload, { qos: 1 }));
    }
    await Promise.all(sends);
    await until(async () => (await t.db.query('SELECT count(*)::int AS c FROM t_rows')).rows[0]?.c === 494);
    await until(async () => (await m.deadLetters.count()) === 6);
    const dl = await m.deadLetters.list({ limit: 10 });
    expect(dl.map((d) => d.reason).sort()[0]).toMatch(/not JSON|check/);
    expect(dl.some((d) => d.payload.toString() === '{oops')).toBe(true);
    await until(() => consumer.pending === 0);
    await pub.endAsync();
    await consumer.stop();
  });
});
