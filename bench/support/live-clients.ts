/**
 * The subscriber side of the live-fanout benchmark, in its own process so that it does not
 * share the server's event loop: opens N WebSockets, optionally subscribes them, and records
 * the publish-to-receive latency of every message (the publisher puts its clock in `"t"`).
 * Driven by the parent over IPC.
 */
import WebSocket from 'ws';

type Command =
  | { cmd: 'connect'; url: string; n: number; subscribe?: string[] }
  | { cmd: 'reset' }
  | { cmd: 'count' }
  | { cmd: 'stats' }
  | { cmd: 'disconnect' };

const now = () => performance.timeOrigin + performance.now();
let sockets: WebSocket[] = [];
let received = 0;
let closed = 0;
let latencies = new Float64Array(1 << 22);
let lastAt = 0;

function onMessage(data: Buffer) {
  const at = now();
  const i = data.indexOf('"t":');
  if (i < 0) return; // control messages (subscribed)
  received++;
  lastAt = at;
  const t = parseFloat(data.toString('latin1', i + 4, i + 28));
  if (received <= latencies.length) latencies[received - 1] = at - t;
}

function open(url: string, subscribe: string[] | undefined): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('open', () => {
      if (!subscribe) return resolve(ws);
      ws.send(JSON.stringify({ type: 'subscribe', topics: subscribe }));
      ws.once('message', () => resolve(ws)); // the `subscribed` acknowledgement
    });
    ws.on('message', onMessage);
    ws.on('close', () => closed++);
  });
}

const send = (m: unknown) => process.send?.(m);

process.on('message', (m: Command) => {
  void (async () => {
    switch (m.cmd) {
      case 'connect': {
        const t0 = performance.now();
        closed = 0;
        for (let i = 0; i < m.n; i += 500) {
          const batch = Array.from({ length: Math.min(500, m.n - i) }, () => open(m.url, m.subscribe));
          sockets.push(...(await Promise.all(batch)));
        }
        return send({ connected: sockets.length, ms: performance.now() - t0 });
      }
      case 'reset':
        received = 0;
        lastAt = 0;
        latencies = new Float64Array(1 << 22);
        return send({ ok: true });
      case 'count':
        return send({ received, closed });
      case 'stats': {
        const n = Math.min(received, latencies.length);
        const sorted = latencies.subarray(0, n).sort();
        const pick = (p: number) =>
          n === 0 ? NaN : (sorted[Math.min(n - 1, Math.ceil(p * n) - 1)] as number);
        return send({ received, closed, lastAt, p50: pick(0.5), p99: pick(0.99), max: pick(1) });
      }
      case 'disconnect': {
        const all = sockets;
        sockets = [];
        await Promise.all(
          all.map(
            (ws) =>
              new Promise<void>((resolve) => {
                if (ws.readyState === WebSocket.CLOSED) return resolve();
                ws.once('close', () => resolve());
                ws.close();
              }),
          ),
        );
        return send({ ok: true });
      }
    }
  })();
});
send({ ready: true });
