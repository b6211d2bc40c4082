/**
 * Live fan-out: N WebSocket subscribers (default 5,000) on one instance receive every event
 * published on a topic they subscribed to by pattern; events are published at a ladder of
 * rates. Reports deliveries/s and publish-to-receive latency (p50/p99/max) per step.
 * Baseline in the same run: a bare `ws` server broadcasting the same messages to the same
 * number of clients (no platform: no subscriptions, ids, bus or buffers), and the ratio.
 * Also reports the server's CPU time per delivery (the publishing process hosts the server), a
 * figure that other load on the machine disturbs far less than wall-clock rates.
 * Target: 50,000 deliveries/s with p99 < 100 ms. Subscribers run in a child process; on a
 * 2-core machine they compete with the server for CPU, for both the platform and the baseline.
 *
 * `npm run bench -- live-fanout [clients=5000] [rates=10,12,15,20,max] [seconds=2]`
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { table } from './util.ts';

const CLIENTS = fileURLToPath(new URL('./support/live-clients.ts', import.meta.url));
const now = () => performance.timeOrigin + performance.now();

interface Stats {
  received: number;
  closed: number;
  lastAt: number;
  p50: number;
  p99: number;
  max: number;
}

/** Request/answer over IPC with the subscriber process (one question at a time). */
function asker(child: ChildProcess) {
  return <T>(message: unknown): Promise<T> =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve(m as T));
      child.send(message as object);
    });
}

interface Target {
  name: string;
  url: string;
  subscribe?: string[];
  /** `t`: the time the event was due, so that a publisher falling behind shows as latency. */
  publish: (seq: number, t: number) => void;
  stop: () => Promise<void>;
}

async function platformTarget(dataDir: string): Promise<Target> {
  const config = loadConfig({
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    MQTT_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    AUTH_MODE: 'open',
  });
  const server = await startServer(config, pino({ level: 'silent' }));
  const live = server.core.live;
  return {
    name: 'platform /live',
    url: `${server.url.replace('http', 'ws')}/live`,
    subscribe: ['bench.*'],
    publish: (seq, t) => void live.publish('bench.fanout', payload(seq, t)),
    stop: () => server.stop(),
  };
}

async function baselineTarget(): Promise<Target> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  const { port } = wss.address() as { port: number };
  let id = 0;
  return {
    name: 'baseline raw ws',
    url: `ws://127.0.0.1:${port}`,
    publish: (seq, t) => {
      // Serialised once per event, like the platform.
      const event = { topic: 'bench.fanout', id: ++id, ts: new Date().toISOString(), data: payload(seq, t) };
      const buf = Buffer.from(JSON.stringify(event));
      for (const c of wss.clients) c.send(buf, { binary: false });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** A grid-telemetry-sized event; `t` (first, in ms of the publisher's clock) is when it was due. */
const payload = (seq: number, t: number) => ({
  t,
  seq,
  ven: 'ven-1a2b3c4d',
  kw: [1.5, 2.25, 0.75, 3.0, 4.5],
});

async function connect(target: Target, ask: ReturnType<typeof asker>, clients: number) {
  const connected = await ask<{ connected: number; ms: number }>({
    cmd: 'connect',
    url: target.url,
    n: clients,
    subscribe: target.subscribe,
  });
  process.stdout.write(
    `${target.name}: ${connected.connected} clients connected in ${(connected.ms / 1000).toFixed(1)} s\n`,
  );
}

let seq = 0;

/**
 * Publishes `rate` events/s for `seconds` (or, for `max`, a burst of `BURST` events back to back,
 * letting I/O run between them), waits for the deliveries (at most 2 s more) and measures.
 * Publishing stops at 1.5 × `seconds` when the sender cannot keep the rate.
 */
const BURST = 40;

async function step(
  target: Target,
  ask: ReturnType<typeof asker>,
  clients: number,
  rate: number | 'max',
  seconds: number,
) {
  await ask({ cmd: 'reset' });
  const cpu0 = process.cpuUsage();
  const t0 = now();
  let sent = 0;
  if (rate === 'max') {
    for (; sent < BURST; sent++) {
      target.publish(seq++, now());
      await new Promise((r) => setImmediate(r));
    }
  } else {
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const elapsed = (now() - t0) / 1000;
        const due = Math.min(Math.floor(elapsed * rate), rate * seconds);
        while (sent < due) {
          // Latency counts from when the event was due, not from when a late sender got to it.
          target.publish(seq++, t0 + ((sent + 1) / rate) * 1000);
          sent++;
        }
        if (sent >= rate * seconds || elapsed > seconds * 1.5) {
          clearInterval(tick);
          resolve();
        }
      }, 2);
    });
  }
  const expected = sent * clients;
  const deadline = Date.now() + 2000;
  for (;;) {
    const c = await ask<{ received: number }>({ cmd: 'count' });
    if (c.received >= expected || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const cpu = process.cpuUsage(cpu0);
  const s = await ask<Stats>({ cmd: 'stats' });
  // Server CPU per delivery: much less sensitive than wall time to other load on the machine.
  const cpuPerDelivery = (cpu.user + cpu.system) / Math.max(1, s.received);
  // Deliveries over the time from the first publish to the last receipt (or the publishing window).
  const window = rate === 'max' ? 0 : seconds * 1000;
  const elapsed = (Math.max(s.lastAt, t0 + window) - t0) / 1000;
  return {
    target: target.name,
    'events/s': rate === 'max' ? `burst of ${BURST}` : rate,
    'offered deliveries/s': rate === 'max' ? '-' : rate * clients,
    'deliveries/s': Math.round(s.received / elapsed),
    'delivered %':
      Math.round((1000 * s.received) / (rate === 'max' ? expected : rate * seconds * clients)) / 10,
    'p50 ms': s.p50,
    'p99 ms': s.p99,
    'max ms': s.max,
    'clients cut': s.closed,
    'server CPU µs/delivery': cpuPerDelivery,
    'deliveries/s per core (CPU-bound est.)': Math.round(1e6 / cpuPerDelivery),
  };
}

export default async function liveFanout(args: string[]) {
  const clients = Number(args[0] ?? 5000);
  const rates = (args[1] ?? '10,12,15,20,max').split(',').map((r) => (r === 'max' ? 'max' : Number(r)));
  const seconds = Number(args[2] ?? 2);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conflux-bench-live-'));
  const child = fork(CLIENTS, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((r) => child.once('message', r));
  const ask = asker(child);
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  process.stdout.write(
    `live-fanout: ${clients} WebSocket subscribers, ${os.cpus().length} CPU cores shared with the ` +
      `subscriber process and whatever else runs (load average ${load})\n`,
  );
  const rows: Record<string, string | number>[] = [];
  const platform = await platformTarget(dataDir);
  const baseline = await baselineTarget();
  try {
    // Both stay connected and the steps alternate, so that the load other processes put on the
    // machine falls on both alike.
    await connect(platform, ask, clients);
    await connect(baseline, ask, clients);
    for (const rate of rates) {
      rows.push(await step(platform, ask, clients, rate, seconds));
      rows.push(await step(baseline, ask, clients, rate, seconds));
    }
  } finally {
    child.kill();
    await platform.stop();
    await baseline.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  rows.sort((a, b) => String(a.target).localeCompare(String(b.target)) * -1);
  process.stdout.write(`\n${table(rows)}\n\n`);
  const ratios = rates.map((rate) => {
    const label = rate === 'max' ? `burst of ${BURST}` : rate;
    const p = rows.find((r) => r.target === 'platform /live' && r['events/s'] === label);
    const b = rows.find((r) => r.target === 'baseline raw ws' && r['events/s'] === label);
    return {
      'events/s': label,
      'platform/baseline deliveries/s': Number(p?.['deliveries/s']) / Number(b?.['deliveries/s']),
      'platform/baseline p99': Number(p?.['p99 ms']) / Number(b?.['p99 ms']),
      'platform/baseline CPU per delivery':
        Number(p?.['server CPU µs/delivery']) / Number(b?.['server CPU µs/delivery']),
    };
  });
  process.stdout.write(`${table(ratios)}\n\n`);
  const best = rows
    .filter(
      (r) =>
        r.target === 'platform /live' &&
        typeof r['events/s'] === 'number' &&
        Number(r['p99 ms']) < 100 &&
        Number(r['delivered %']) >= 99.9,
    )
    .sort((a, b) => Number(b['deliveries/s']) - Number(a['deliveries/s']))[0];
  const verdict = best
    ? `best platform step within p99 < 100 ms: ${best['deliveries/s']} deliveries/s (target 50,000): ${Number(best['deliveries/s']) >= 50_000 ? 'met' : 'NOT met'}`
    : 'no platform step had p99 < 100 ms with every event delivered: target NOT met';
  process.stdout.write(`${verdict}\n`);
  return { clients, rates, seconds, rows, ratios, verdict };
}
