import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgNotifyBus } from '../../../src/platform/live/bus.ts';
import { LiveHub } from '../../../src/platform/live/channel.ts';
import type { LiveEvent } from '../../../src/platform/live/port.ts';
import { LiveSession } from '../../../src/platform/live/session.ts';
import { LiveStore, LIVE_MIGRATIONS } from '../../../src/platform/live/store.ts';
import { runMigrations } from '../../../src/platform/db/migrate.ts';
import { startServer, type Server } from '../../../src/server.ts';
import { backends, freshDatabase, silentLog, type TestDatabase } from '../../helpers/db.ts';
import { eventually, SseClient, WsClient } from '../../helpers/live.ts';
import { startTestServer, testConfig, type TestServer } from '../../helpers/server.ts';

/**
 * Two instances on one PostgreSQL database: what is published on A reaches clients of B, once,
 * through NOTIFY (events of any size) or through Valkey pub/sub.
 */
const fanouts: [string, Record<string, string>][] = [];
if (process.env.TEST_DATABASE_URL) {
  fanouts.push(['postgres', { LIVE_FANOUT: 'postgres' }]);
  if (process.env.TEST_VALKEY_URL)
    fanouts.push(['valkey', { LIVE_FANOUT: 'valkey', VALKEY_URL: process.env.TEST_VALKEY_URL }]);
}

for (const [name, fanout] of fanouts)
  describe(`two instances sharing PostgreSQL, fan-out via ${name}`, () => {
    let a: TestServer;
    let b: Server;
    let dataDir: string;
    const clients: WsClient[] = [];

    beforeAll(async () => {
      const env = {
        AUTH_MODE: 'open',
        LIVE_DURABLE_TOPICS: 'two.keep.*',
        VALKEY_PREFIX: `conflux-test:${randomBytes(4).toString('hex')}:`,
        ...fanout,
      };
      a = await startTestServer('postgres', env);
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'conflux-test-'));
      b = await startServer(testConfig(dataDir, a.databaseUrl, env), silentLog);
    });
    afterAll(async () => {
      for (const c of clients) c.close();
      await b.stop();
      await a.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const client = async (server: Server, topics: string[]) => {
      const c = await WsClient.connect(server.url);
      clients.push(c);
      await c.subscribe(topics);
      return c;
    };

    it('delivers an event published on A to WebSockets on B and on A, each exactly once', async () => {
      const onB = await client(b, ['two.*']);
      const onA = await client(a, ['two.*']);
      const big = 'y'.repeat(20_000); // over NOTIFY's 8000-byte limit: goes by reference
      await a.core.live.publish('two.small', { n: 1 });
      await a.core.live.publish('two.keep.x', { n: 2 });
      await a.core.live.publish('two.big', { n: 3, big });
      await b.core.live.publish('two.small', { n: 4 });
      const want = [1, 2, 3, 4];
      for (const c of [onA, onB]) {
        await eventually(() => c.events.length >= 4, 'four events');
        expect(c.events.map((e) => (e.data as { n: number }).n).sort()).toEqual(want);
      }
      expect((onB.events.find((e) => e.topic === 'two.big')?.data as { big: string }).big).toBe(big);
      // Same event, same id on both instances; ids of one topic increase across instances.
      const idsOn = (c: WsClient) => c.events.map((e) => `${e.topic}:${e.id}`).sort();
      expect(idsOn(onA)).toEqual(idsOn(onB));
      // Published later (on B, after A's publish resolved) means a larger id, whatever the arrival order.
      const idOf = (n: number) => onB.events.find((e) => (e.data as { n: number }).n === n)?.id as number;
      expect(idOf(4)).toBeGreaterThan(idOf(1));
      // Nothing else arrives late (no double delivery): a marker published after is the last.
      await a.core.live.publish('two.marker', { n: 5 });
      await eventually(() => onB.events.length === 5 && onA.events.length === 5, 'the marker');
    });

    it('reports the parts it uses in /ready', async () => {
      const res = await fetch(`${b.url}/ready`);
      expect(res.status).toBe(200);
      const { parts } = (await res.json()) as { parts: Record<string, { status: string }> };
      expect(parts.database?.status).toBe('up');
      if (fanout.VALKEY_URL) expect(parts.valkey?.status).toBe('up');
      else expect(parts.valkey).toBeUndefined();
    });

    it('lets a client of B resume durable events published on A', async () => {
      const first = await a.core.live.publish('two.keep.r', 'one');
      await a.core.live.publish('two.keep.r', 'two');
      await a.core.live.publish('two.keep.s', 'three');
      const sse = await SseClient.connect(`${b.url}/live/sse?topics=two.keep.r,two.keep.s`, {
        'last-event-id': String(first.id),
      });
      try {
        await eventually(() => sse.messages.find((m) => m.event === 'subscribed'), 'subscribed');
        expect(sse.events.map((e) => e.data)).toEqual(['two', 'three']);
      } finally {
        sse.close();
      }
    });

    it('gives distinct ids to durable events of one topic published on both instances at once', async () => {
      const c = await client(b, ['two.keep.race']);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).core.live.publish('two.keep.race', { i })),
      );
      await eventually(() => c.events.length === 40, 'forty events');
      const stored = (await b.core.live.replay(['two.keep.race'], 0)).map((e) => e.id);
      expect(new Set(stored).size).toBe(40);
      expect(c.events.map((e) => e.id as number).sort((x, y) => x - y)).toEqual(stored);
      expect(new Set(c.events.map((e) => (e.data as { i: number }).i)).size).toBe(40);
    });
  });

/** Two hubs (as two instances would have) on one database, on every backend, PGlite included. */
describe.each(backends())('two live hubs on one %s database', (backend) => {
  let fresh: TestDatabase;
  let one: LiveHub;
  let two: LiveHub;
  beforeAll(async () => {
    fresh = await freshDatabase(backend);
    await runMigrations(
      fresh.db,
      [{ owner: 'platform', migrations: LIVE_MIGRATIONS }],
      pino({ level: 'silent' }),
    );
    const hub = () =>
      new LiveHub({
        log: silentLog,
        store: new LiveStore(fresh.db),
        bus: new PgNotifyBus(fresh.db),
        durableTopics: ['hub.keep.*'],
        pruneIntervalMs: 0,
      });
    one = hub();
    two = hub();
    await one.start();
    await two.start();
    await eventually(() => one.peers === 1 && two.peers === 1, 'the hubs to know each other');
  });
  afterAll(async () => {
    await one.stop();
    await two.stop();
    await fresh.dispose();
  });

  it('exchanges events of every size once, in publication order per topic', async () => {
    const onOne: LiveEvent[] = [];
    const onTwo: LiveEvent[] = [];
    one.subscribe(['hub.*'], (e) => onOne.push(e));
    two.subscribe(['hub.*'], (e) => onTwo.push(e));
    // Effective across instances once the other hub has acknowledged the new subscription.
    await two.interestSettled();
    expect(one.forwards('hub.t')).toBe(true);
    const sizes = [10, 9000, 20_000, 50_000, 30, 7950];
    for (const [i, n] of sizes.entries())
      await one.publish(i % 2 ? 'hub.keep.t' : 'hub.t', { i, s: 'z'.repeat(n) });
    await eventually(() => onTwo.length === sizes.length, 'every event on the other hub');
    await eventually(() => onOne.length === sizes.length, 'every event on the publishing hub');
    expect(onTwo.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(onTwo.map((e) => (e.data as { s: string }).s.length)).toEqual(sizes);
    expect(onTwo.map((e) => e.id)).toEqual(onOne.map((e) => e.id));
    await one.publish('hub.marker', null);
    await eventually(() => onTwo.length === sizes.length + 1, 'the marker');
    expect(onOne.length).toBe(sizes.length + 1);
  });

  it('does not send a client an event twice when its bus message arrives after the replay', async () => {
    let deliver: (payload: string) => void = () => undefined;
    const late = new LiveHub({
      log: silentLog,
      store: new LiveStore(fresh.db),
      bus: {
        kind: 'postgres',
        maxPayload: 7900,
        start: async (receive) => {
          deliver = receive;
        },
        send: async () => undefined,
        stop: async () => undefined,
      },
      pruneIntervalMs: 0,
    });
    await late.start();
    const first = await one.publish('hub.keep.late', 'a', { local: true });
    const sent: string[] = [];
    const session = new LiveSession(
      late,
      { buffered: () => 0, write: (w) => sent.push(w.json), control: () => undefined, kill: () => undefined },
      { maxBufferedBytes: 1 << 20 },
    );
    await session.subscribe(['hub.keep.late'], 0);
    expect(sent).toHaveLength(1);
    // The same event now comes from the other instance's bus, then a newer one.
    deliver(`{"o":"other","e":[${sent[0]}]}`);
    deliver(`{"o":"other","e":[${JSON.stringify({ ...first, id: first.id + 1, data: 'b' })}]}`);
    await eventually(() => sent.length === 2, 'the newer event');
    expect(sent.map((j) => (JSON.parse(j) as { data: string }).data)).toEqual(['a', 'b']);
    session.close();
    await late.stop();
  });

  it('sends an event on the bus only when another instance subscribes to its topic', async () => {
    expect(one.forwards('hub2.alone')).toBe(false);
    const onOne: LiveEvent[] = [];
    const onTwo: LiveEvent[] = [];
    one.subscribe(['hub2.*'], (e) => onOne.push(e));
    await one.interestSettled();
    // Only one's own subscriber wants it: delivered there, nothing sent.
    await one.publish('hub2.alone', 1);
    expect(onOne.length).toBe(1);
    expect(one.forwards('hub2.alone')).toBe(false);
    const unsubscribe = two.subscribe(['hub2.shared.*'], (e) => onTwo.push(e));
    await two.interestSettled();
    expect(one.forwards('hub2.shared.x')).toBe(true);
    expect(one.forwards('hub2.alone')).toBe(false);
    await one.publish('hub2.shared.x', 2);
    await eventually(() => onTwo.length === 1, 'the event two subscribed to');
    // Once two lets go, one stops sending again.
    unsubscribe();
    await two.interestSettled();
    await eventually(() => !one.forwards('hub2.shared.x'), 'one to learn that two unsubscribed');
  });

  it('keeps local events local', async () => {
    const onTwo: LiveEvent[] = [];
    two.subscribe(['hub.local.*'], (e) => onTwo.push(e));
    await two.interestSettled();
    await one.publish('hub.local.a', 1, { local: true });
    await one.publish('hub.local.b', 2);
    await eventually(() => onTwo.length === 1, 'the shared event');
    expect(onTwo[0]?.topic).toBe('hub.local.b');
  });

  it('prunes durable events beyond the retention per topic', async () => {
    const small = new LiveHub({
      log: silentLog,
      store: new LiveStore(fresh.db),
      durableTopics: ['prune.*'],
      retention: { perTopic: 3, maxAgeMinutes: 60 },
      pruneIntervalMs: 0,
    });
    for (let i = 0; i < 8; i++) await small.publish('prune.a', i);
    await small.publish('prune.b', 'only');
    expect(await small.prune()).toBeGreaterThanOrEqual(5);
    expect((await small.replay(['prune.*'], 0)).map((e) => e.data)).toEqual([5, 6, 7, 'only']);
    await small.stop();
  });
});
