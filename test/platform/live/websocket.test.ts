import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../helpers/db.ts';
import { account } from '../../helpers/auth.ts';
import { eventually, SseClient, WsClient } from '../../helpers/live.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

describe.each(backends())('live channel over WebSocket on %s', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(backend, { AUTH_MODE: 'open', LIVE_DURABLE_TOPICS: 'keep.*' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('delivers events on subscribed topics and patterns, with ids increasing per topic', async () => {
    const exact = await WsClient.connect(server.url);
    const pattern = await WsClient.connect(server.url);
    expect((await exact.subscribe(['t1.a'])).topics).toEqual(['t1.a']);
    await pattern.subscribe(['t1.*']);
    for (let i = 0; i < 20; i++) await server.core.live.publish(i % 2 ? 't1.a' : 't1.b.c', { i });
    await server.core.live.publish('other', { no: true });
    await eventually(() => exact.events.length === 10 && pattern.events.length === 20, 'all events');
    expect(exact.events.map((e) => e.data)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19].map((i) => ({ i })));
    expect(new Set(pattern.events.map((e) => e.topic))).toEqual(new Set(['t1.a', 't1.b.c']));
    for (const topic of ['t1.a', 't1.b.c']) {
      const ids = pattern.events.filter((e) => e.topic === topic).map((e) => e.id as number);
      expect(ids.every((id, i) => i === 0 || id > (ids[i - 1] as number))).toBe(true);
    }
    expect(pattern.events[0]).toMatchObject({ topic: 't1.b.c', data: { i: 0 } });
    expect(Date.parse(pattern.events[0]?.ts ?? '')).not.toBeNaN();
    exact.close();
    pattern.close();
  });

  it('stops delivering after unsubscribe and answers bad messages with an error', async () => {
    const c = await WsClient.connect(server.url);
    await c.subscribe(['t2.x', 't2.y']);
    c.ws.send(JSON.stringify({ type: 'unsubscribe', topics: ['t2.x'] }));
    await eventually(() => c.messages.find((m) => m.type === 'unsubscribed'), 'unsubscribed');
    await server.core.live.publish('t2.x', 1);
    await server.core.live.publish('t2.y', 2);
    await eventually(() => c.events.length === 1, 'one event');
    expect(c.events[0]).toMatchObject({ topic: 't2.y', data: 2 });
    for (const bad of ['nope', '{"type":"subscribe"}', '{"type":"subscribe","topics":["a..b"]}'])
      c.ws.send(bad);
    await eventually(() => c.messages.filter((m) => m.type === 'error').length === 3, 'three errors');
    c.close();
  });

  it('replays durable events after `since` and then continues live without duplicates', async () => {
    const first = await server.core.live.publish('keep.a', { n: 1 });
    await server.core.live.publish('keep.a', { n: 2 });
    await server.core.live.publish('keep.b', { n: 3 });
    await server.core.live.publish('t3.volatile', { n: 4 });
    const c = await WsClient.connect(server.url);
    const ack = await c.subscribe(['keep.*', 't3.volatile'], first.id);
    expect(ack.replayed).toBe(2);
    expect(c.events.map((e) => e.data)).toEqual([{ n: 2 }, { n: 3 }]);
    await server.core.live.publish('keep.a', { n: 5 });
    await eventually(() => c.events.length === 3, 'the live event');
    expect(c.events[2]).toMatchObject({ topic: 'keep.a', data: { n: 5 } });
    c.close();
  });

  it('replays at most the latest 1000 missed events and says that it left some out', async () => {
    await Promise.all(Array.from({ length: 1005 }, (_, n) => server.core.live.publish('keep.many', { n })));
    const c = await WsClient.connect(server.url);
    const ack = await c.subscribe(['keep.many'], 0);
    expect(ack).toMatchObject({ replayed: 1000, truncated: true });
    expect(c.events.map((e) => (e.data as { n: number }).n)).toEqual(
      [...Array(1000).keys()].map((i) => i + 5),
    );
    c.close();
  });
});

describe('live channel authentication', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { AUTH_MODE: 'token' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each([
    ['/live', 'WebSocket'],
    ['/live/sse?topics=a', 'SSE'],
  ])('refuses %s (%s) without a valid token', async (path) => {
    await expect(WsClient.connect(server.url, path)).rejects.toThrow(/401/);
    const res = await fetch(`${server.url}${path}${path.includes('?') ? '&' : '?'}token=not-a-token`);
    expect(res.status).toBe(401);
  });

  it('accepts the token as ?token= (browsers cannot set headers on WebSocket or EventSource)', async () => {
    const { access } = await account(server, 'liveuser');
    const ws = await WsClient.connect(server.url, `/live?token=${access}`);
    await ws.subscribe(['auth.t']);
    const sse = await SseClient.connect(`${server.url}/live/sse?topics=auth.t&access_token=${access}`);
    expect(sse.status).toBe(200);
    await eventually(() => sse.messages.find((m) => m.event === 'subscribed'), 'SSE subscribed');
    await server.core.live.publish('auth.t', 'hello');
    await eventually(() => ws.events.length === 1 && sse.events.length === 1, 'the event on both');
    ws.close();
    sse.close();
  });
});
