import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../helpers/db.ts';
import { eventually, SseClient, WsClient } from '../../helpers/live.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';

describe.each(backends())('live channel over SSE on %s', (backend) => {
  let server: TestServer;
  const open: SseClient[] = [];
  const connect = async (query: string, headers: Record<string, string> = {}) => {
    const c = await SseClient.connect(`${server.url}/live/sse?${query}`, headers);
    open.push(c);
    return c;
  };
  const subscribed = (c: SseClient) =>
    eventually(() => c.messages.find((m) => m.event === 'subscribed'), 'subscribed');

  beforeAll(async () => {
    server = await startTestServer(backend, { AUTH_MODE: 'open', LIVE_DURABLE_TOPICS: 'sse.keep.*' });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await server.stop();
  });

  it('streams events of the requested topics and patterns with their ids', async () => {
    const c = await connect('topics=sse.a,sse.p.*');
    expect(c.status).toBe(200);
    await subscribed(c);
    await server.core.live.publish('sse.a', { n: 1 });
    await server.core.live.publish('sse.zzz', { n: 2 });
    await server.core.live.publish('sse.p.q.r', { n: 3 });
    await server.core.live.publish('sse.a', { n: 4 });
    await eventually(() => c.events.length === 3, 'three events');
    expect(c.events.map((e) => [e.topic, e.data])).toEqual([
      ['sse.a', { n: 1 }],
      ['sse.p.q.r', { n: 3 }],
      ['sse.a', { n: 4 }],
    ]);
    const msgs = c.messages.filter((m) => m.event === undefined);
    for (const m of msgs) expect(m.id).toBe(String(m.data.id));
    expect((msgs[2]?.data.id as number) > (msgs[0]?.data.id as number)).toBe(true);
  });

  it('resumes after Last-Event-ID with the durable events missed', async () => {
    const a = await server.core.live.publish('sse.keep.a', 'first');
    await server.core.live.publish('sse.keep.b', 'second');
    await server.core.live.publish('sse.keep.a', 'third');
    const c = await connect('topics=sse.keep.*', { 'last-event-id': String(a.id) });
    await subscribed(c);
    expect(c.events.map((e) => e.data)).toEqual(['second', 'third']);
    const q = await connect(`topics=sse.keep.a&since=${a.id}`);
    await subscribed(q);
    expect(q.events.map((e) => e.data)).toEqual(['third']);
  });

  it.each([
    ['no topics', 'topics=', 422],
    ['a bad pattern', 'topics=a..b', 400],
    ['a bad Last-Event-ID', 'topics=a', 400, { 'last-event-id': 'abc' }],
  ])('refuses %s', async (_what, query, status, headers?: Record<string, string>) => {
    const res = await fetch(`${server.url}/live/sse?${query}`, { headers });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { code: string }).code).toBeTypeOf('string');
  });
});

describe('live connections at shutdown', () => {
  it('ends open SSE streams and WebSockets so that the server stops promptly', async () => {
    const server = await startTestServer('pglite', { AUTH_MODE: 'open' });
    const sse = await SseClient.connect(`${server.url}/live/sse?topics=bye`);
    await eventually(() => sse.messages.find((m) => m.event === 'subscribed'), 'subscribed');
    const ws = await WsClient.connect(server.url);
    await ws.subscribe(['bye']);
    await server.stop();
    await eventually(() => sse.ended && ws.closed, 'both connections to end');
  });
});
