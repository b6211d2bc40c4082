import { Type } from 'typebox';
import type { Http } from '../app.ts';
import { badRequest } from '../errors.ts';
import { LiveSession } from './session.ts';
import { isPattern } from './topics.ts';
import type { LiveRouteDeps } from './ws-route.ts';

const Query = Type.Object(
  {
    topics: Type.String({ description: 'comma-separated topics or patterns with `*`', minLength: 1 }),
    since: Type.Optional(Type.Integer({ minimum: 0, description: 'resume after this event id' })),
    token: Type.Optional(Type.String({ description: 'access token, for EventSource (no headers)' })),
    access_token: Type.Optional(Type.String({ description: 'same as `token`' })),
  },
  { additionalProperties: false },
);

/**
 * `GET /live/sse?topics=a,b`: the live channel as Server-Sent Events. Each event is an SSE
 * message whose `id` is the event id and whose `data` is `{topic,id,ts,data}`; a reconnecting
 * EventSource sends `Last-Event-ID` and gets the durable events it missed.
 */
export function registerLiveSse(http: Http, deps: LiveRouteDeps) {
  const open = new Set<() => void>();
  // Streams never end on their own: end them when the server closes so that close() returns.
  http.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  http.get(
    '/live/sse',
    {
      config: { auth: 'user' },
      schema: {
        tags: ['live'],
        summary: 'Live channel as Server-Sent Events',
        querystring: Query,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String()) }),
      },
    },
    async (req, reply) => {
      const topics = req.query.topics
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
      const bad = topics.find((t) => !isPattern(t));
      if (bad !== undefined || topics.length === 0) throw badRequest(`not a topic pattern: '${bad ?? ''}'`);
      const header = req.headers['last-event-id'];
      let since = req.query.since;
      if (typeof header === 'string' && header !== '') {
        if (!/^\d{1,16}$/.test(header)) throw badRequest('Last-Event-ID must be an event id');
        since = Number(header);
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': req.id,
      });
      res.write('retry: 2000\n\n');
      deps.onConnection?.('sse', 1);
      const session = new LiveSession(
        deps.hub,
        {
          buffered: () => res.writableLength,
          write: (wire) => {
            if (!res.destroyed) res.write(wire.sse);
          },
          control: (message) => {
            if (!res.destroyed)
              res.write(`event: ${String(message.type)}\ndata: ${JSON.stringify(message)}\n\n`);
          },
          kill: () => res.destroy(),
        },
        deps.session,
      );
      const heartbeat = setInterval(() => res.write(': ping\n\n'), (deps.heartbeatSeconds ?? 15) * 1000);
      const end = () => {
        if (!res.writableEnded) res.end();
      };
      open.add(end);
      res.on('close', () => {
        open.delete(end);
        clearInterval(heartbeat);
        session.close();
        deps.onConnection?.('sse', -1);
      });
      await session.subscribe(topics, since);
    },
  );
}
