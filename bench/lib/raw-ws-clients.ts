/**
 * A child process of the archery-live benchmark: opens N WebSocket connections to
 * `/api/v0/ws/shot` (handshake by hand) and only counts the bytes each receives, so that the
 * bulk of the clients costs the measuring process nothing. IPC: argv = port, count; sends
 * `{ready: true}`, answers `'report'` with `{bytes: number[]}`.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);

function connect(): Promise<{ socket: net.Socket; bytes: () => number }> {
  const socket = net.connect(port, '127.0.0.1');
  const key = randomBytes(16).toString('base64');
  let head = '';
  let bytes = 0;
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () =>
      socket.write(
        `GET /api/v0/ws/shot HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const onHead = (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head.split('\r\n')[0]));
      bytes += Buffer.byteLength(head.slice(end + 4), 'latin1');
      socket.off('data', onHead);
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
      resolve({ socket, bytes: () => bytes });
    };
    socket.on('data', onHead);
  });
}

const clients: Awaited<ReturnType<typeof connect>>[] = [];
for (let i = 0; i < count; i += 100) {
  clients.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, connect))));
}
process.send?.({ ready: true });
process.on('message', (m) => {
  if (m === 'report') process.send?.({ bytes: clients.map((c) => c.bytes()) });
  if (m === 'exit') {
    for (const c of clients) c.socket.destroy();
    process.exit(0);
  }
});
