import { Type } from 'typebox';
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import type { Http } from '../app.ts';
import type { LiveHub } from './channel.ts';
import { LiveSession, type SessionOptions } from './session.ts';

export interface LiveRouteDeps {
  hub: LiveHub;
  session: SessionOptions;
  /** Counts open connections by transport. */
  onConnection?: (transport: 'ws' | 'sse', delta: 1 | -1) => void;
  /** Seconds between keep-alives (WebSocket ping, SSE comment). */
  heartbeatSeconds?: number;
}

/**
 * Sockets written to in this tick stay corked until the next one: several events published
 * together reach a client in one system call instead of one each. What was written while
 * corked is not yet the client's backlog, so it does not count against its buffer bound.
 */
interface Corkable {
  raw: Socket;
  corkedBytes: number;
}
const corked = new Set<Corkable>();
function writeCorked(c: Corkable, frame: Buffer) {
  if (!corked.has(c)) {
    c.raw.cork();
    corked.add(c);
    if (corked.size === 1)
      process.nextTick(() => {
        for (const k of corked) {
          k.corkedBytes = 0;
          k.raw.uncork();
        }
        corked.clear();
      });
  }
  c.corkedBytes += frame.length;
  c.raw.write(frame);
}

const rawText = (data: RawData): string =>
  Buffer.isBuffer(data)
    ? data.toString('utf8')
    : Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data).toString('utf8');

/** `{type:"subscribe", topics, since?}` or `{type:"unsubscribe", topics?}`. */
type ClientMessage =
  { type: 'subscribe'; topics: string[]; since?: number } | { type: 'unsubscribe'; topics?: string[] };

export function parseClientMessage(text: string): ClientMessage | string {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof m !== 'object' || m === null) return 'expected an object';
  const { type, topics, since } = m as Record<string, unknown>;
  const isList = (v: unknown): v is string[] => Array.isArray(v) && v.every((t) => typeof t === 'string');
  if (type === 'subscribe') {
    if (!isList(topics) || topics.length === 0) return 'subscribe needs topics: a non-empty list of strings';
    if (since !== undefined && (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0))
      return 'since must be a non-negative whole number (an event id)';
    return since === undefined ? { type, topics } : { type, topics, since };
  }
  if (type === 'unsubscribe') {
    if (topics !== undefined && !isList(topics)) return 'topics must be a list of strings';
    return topics === undefined ? { type } : { type, topics };
  }
  return "type must be 'subscribe' or 'unsubscribe'";
}

/**
 * `GET /live`: the WebSocket of the live channel. The client sends subscribe/unsubscribe
 * messages; the server sends events `{topic,id,ts,data}` and control messages that carry a
 * `type` (`subscribed`, `unsubscribed`, `error`), which events never have.
 */
export function registerLiveWebSocket(http: Http, deps: LiveRouteDeps) {
  const heartbeatMs = (deps.heartbeatSeconds ?? 30) * 1000;
  http.get(
    '/live',
    {
      websocket: true,
      config: { auth: 'user' },
      schema: {
        tags: ['live'],
        summary: 'Live channel over WebSocket (send {type:"subscribe", topics:[...], since?})',
        description:
          'Browsers cannot set headers on a WebSocket: pass the access token as `?token=` (or `?access_token=`). ' +
          'Topic patterns may use `*`. With `since` (an event id), durable events after it are sent first.',
        querystring: Type.Object(
          { token: Type.Optional(Type.String()), access_token: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
      },
    },
    (socket: WebSocket, req) => {
      deps.onConnection?.('ws', 1);
      // The upgraded TCP socket, which `ws` writes to. Without compression `ws` writes every
      // frame synchronously, so writing our prebuilt frames to it directly keeps frames whole
      // and saves framing each event once per client.
      const conn: Corkable = { raw: req.socket, corkedBytes: 0 };
      const direct = socket.extensions === '';
      const session = new LiveSession(
        deps.hub,
        {
          buffered: () => socket.bufferedAmount - conn.corkedBytes,
          write: (wire) => {
            if (socket.readyState !== socket.OPEN) return;
            if (!direct) return socket.send(wire.buffer, { binary: false });
            writeCorked(conn, wire.frame);
          },
          control: (message) => {
            if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
          },
          kill: () => socket.terminate(),
        },
        deps.session,
      );
      let alive = true;
      const heartbeat = setInterval(() => {
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, heartbeatMs);
      socket.on('pong', () => (alive = true));
      socket.on('message', (data, isBinary) => {
        alive = true;
        const text = isBinary ? '' : rawText(data);
        const msg = parseClientMessage(text);
        if (typeof msg === 'string') {
          socket.send(JSON.stringify({ type: 'error', detail: msg }));
          return;
        }
        const done =
          msg.type === 'subscribe'
            ? session.subscribe(msg.topics, msg.since)
            : session.unsubscribe(msg.topics);
        done.catch(() => socket.terminate());
      });
      socket.on('close', () => {
        clearInterval(heartbeat);
        session.close();
        deps.onConnection?.('ws', -1);
      });
      socket.on('error', () => socket.terminate());
    },
  );
}
