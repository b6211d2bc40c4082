import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../helpers/db.ts';
import { eventually, WsClient } from '../../helpers/live.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

/** A client that stops reading is cut off once 64 KiB are waiting for it; the others go on. */
describe.each(backends())('slow live clients on %s', (backend) => {
  let server: TestServer;
  const payload = 'x'.repeat(32 * 1024);

  const dropped = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^live_slow_clients_dropped_total (\d+)/m.exec(text)?.[1] ?? 0);
  };

  /** Publishes in steps that the fast client keeps up with, until a slow client has been dropped. */
  const publishUntilDropped = async (topic: string, fast: WsClient, before: number) => {
    let sent = 0;
    while ((await dropped()) === before) {
      if (sent >= 3000) throw new Error('the slow client was never cut off');
      for (let i = 0; i < 10; i++) await server.core.live.publish(topic, { n: sent++, payload });
      await eventually(() => fast.events.length === sent, 'the fast client to keep up');
    }
    return sent;
  };

  beforeAll(async () => {
    server = await startTestServer(backend, { AUTH_MODE: 'open', LIVE_CLIENT_BUFFER_BYTES: '65536' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('disconnects a WebSocket client that does not read, while a fast one receives everything', async () => {
    const fast = await WsClient.connect(server.url);
    const slow = await WsClient.connect(server.url);
    await fast.subscribe(['slow.ws']);
    await slow.subscribe(['slow.ws']);
    slow.ws.pause();
    const before = await dropped();
    const sent = await publishUntilDropped('slow.ws', fast, before);
    expect(await dropped()).toBe(before + 1);
    // After the cut the fast client still gets every event, in order.
    for (let i = 0; i < 20; i++) await server.core.live.publish('slow.ws', { n: sent + i, payload: 'small' });
    await eventually(() => fast.events.length === sent + 20, 'the events after the cut');
    expect(fast.events.map((e) => (e.data as { n: number }).n)).toEqual([...Array(sent + 20).keys()]);
    slow.ws.resume();
    await eventually(() => slow.closed, 'the slow client to see its connection closed');
    expect(slow.events.length).toBeLessThan(sent);
    fast.close();
  });

  it('disconnects an SSE client that does not read', async () => {
    const fast = await WsClient.connect(server.url);
    await fast.subscribe(['slow.sse']);
    // fetch's body is never read: the stream backs up into the server's response buffer.
    const res = await fetch(`${server.url}/live/sse?topics=slow.sse`);
    expect(res.status).toBe(200);
    await eventually(() => server.core.live.subscriberCount >= 2, 'the SSE subscription');
    const before = await dropped();
    const sent = await publishUntilDropped('slow.sse', fast, before);
    expect(sent).toBeGreaterThan(0);
    expect(await dropped()).toBe(before + 1);
    await res.body?.cancel().catch(() => undefined);
    fast.close();
  });
});
