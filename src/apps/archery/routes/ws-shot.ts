import type { WebSocket } from 'ws';
import type { Http } from '../../../platform/app.ts';
import type { LiveChannel } from '../../../platform/live/port.ts';
import type { RouteContext } from '../envelope.ts';
import { SHOTS_TOPIC } from '../live-shots.ts';

/**
 * `GET /ws/shot`: every new shot (with score and speed) as one JSON text message, as the seed's
 * socket did. One subscription for all sockets, so each shot is serialised once. A client
 * with more than `maxBufferedBytes` unsent (LIVE_CLIENT_BUFFER_BYTES) is too slow: it is
 * dropped, never waited for.
 */
export function wsShotRoute(http: Http, { auth }: RouteContext, live: LiveChannel, maxBufferedBytes: number) {
  const sockets = new Set<WebSocket>();
  const unsubscribe = live.subscribe([SHOTS_TOPIC], (event) => {
    if (sockets.size === 0) return;
    const text = JSON.stringify(event.data);
    for (const socket of sockets) {
      if (socket.bufferedAmount > maxBufferedBytes) {
        socket.terminate();
        sockets.delete(socket);
        continue;
      }
      socket.send(text);
    }
  });
  http.addHook('onClose', async () => {
    unsubscribe();
    for (const socket of sockets) socket.close(1001, 'server shutting down');
  });
  http.get(
    '/ws/shot',
    {
      websocket: true,
      config: { auth: auth.socket },
      schema: { tags: ['archery: shots'], description: 'WebSocket: each new shot with score and speed.' },
    },
    (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => sockets.delete(socket));
    },
  );
}
