import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Http } from '../../../platform/app.ts';
import type { LiveChannel } from '../../../platform/live/port.ts';
import type { RouteContext } from '../envelope.ts';
import { SHOTS_TOPIC } from '../live-shots.ts';

/**
 * At most one write per socket per window: a shot arriving after a quiet spell goes out at
 * once; under load (hundreds of shots a second to a thousand sockets) shots are grouped so that
 * each socket gets one write per window instead of one per shot. The window is at least
 * COALESCE_MS and at least twice what the last fan-out took, so that writing to every socket
 * never takes more than about half of the event loop, whatever the number of sockets.
 */
const COALESCE_MS = 5;

/** An unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2), as a server sends it. */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const header = n < 126 ? Buffer.alloc(2) : n < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x81; // FIN + text
  if (n < 126) header[1] = n;
  else if (n < 65_536) {
    header[1] = 126;
    header.writeUInt16BE(n, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([header, payload]);
}

/**
 * `GET /ws/shot`: every new shot (with score and speed) as one JSON text message, as the seed's
 * socket did. One subscription for all sockets: each shot is serialised and framed once, and
 * the frames of a window are written to every socket in one buffer (straight to its TCP socket:
 * ws writes its own control frames whole, so frames never interleave). A client with more than
 * `maxBufferedBytes` unsent (LIVE_CLIENT_BUFFER_BYTES) is too slow: dropped, never waited for.
 */
export function wsShotRoute(http: Http, { auth }: RouteContext, live: LiveChannel, maxBufferedBytes: number) {
  const sockets = new Map<WebSocket, Socket>();
  let pending: Buffer[] = [];
  let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  let lastFlush = 0;
  let windowMs = COALESCE_MS;

  const flush = () => {
    timer = null;
    lastFlush = performance.now();
    const frames = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    pending = [];
    for (const [ws, tcp] of sockets) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > maxBufferedBytes) {
        ws.terminate();
        sockets.delete(ws);
        continue;
      }
      tcp.write(frames);
    }
    windowMs = Math.max(COALESCE_MS, 2 * (performance.now() - lastFlush));
  };

  const unsubscribe = live.subscribe([SHOTS_TOPIC], (event) => {
    if (sockets.size === 0) return;
    pending.push(textFrame(Buffer.from(JSON.stringify(event.data))));
    if (timer !== null) return;
    const wait = lastFlush + windowMs - performance.now();
    // setImmediate still groups shots published in the same turn (one NOTIFY batch).
    timer = wait <= 0 ? setImmediate(flush) : setTimeout(flush, wait);
  });
  http.addHook('onClose', async () => {
    unsubscribe();
    if (timer !== null) {
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
    }
    for (const ws of sockets.keys()) ws.close(1001, 'server shutting down');
  });
  http.get(
    '/ws/shot',
    {
      websocket: true,
      config: { auth: auth.socket },
      schema: { tags: ['archery: shots'], description: 'WebSocket: each new shot with score and speed.' },
    },
    (ws, req) => {
      sockets.set(ws, req.socket);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
    },
  );
}
