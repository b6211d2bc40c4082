import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { startServer, type Server } from '../../../src/server.ts';
import { silentLog } from '../../helpers/db.ts';
import { eventually, SseClient, WsClient } from '../../helpers/live.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

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

describe.runIf(fanouts.length > 0).each(fanouts)(
  'two instances sharing PostgreSQL, fan-out via %s',
  (_name, fanout) => {
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
      const config = loadConfig({
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        DATABASE_URL: a.databaseUrl ?? '',
        ...env,
      });
      b = await startServer(config, silentLog);
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
      const small = onB.events.filter((e) => e.topic === 'two.small').map((e) => e.id as number);
      expect(small[1]).toBeGreaterThan(small[0] as number);
      // Nothing else arrives late (no double delivery): a marker published after is the last.
      await a.core.live.publish('two.marker', { n: 5 });
      await eventually(() => onB.events.length === 5 && onA.events.length === 5, 'the marker');
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
  },
);
