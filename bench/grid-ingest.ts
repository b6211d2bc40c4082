/**
 * `npm run bench -- grid-ingest [--quick]`: MQTT metering (5 loads per message, QoS 1) from
 * simulated VENs into the grid gateway, for (a) the embedded broker + PGlite and (b) Mosquitto +
 * PostgreSQL (when TEST_DATABASE_URL or BENCH_DATABASE_URL points at a server). Reports
 * messages/s and rows/s persisted, p50/p99 from publish to live delivery at a fixed 10,000 msg/s
 * (after a warm-up second, see `WARMUP_MS`; the p99 with it is printed too), and the broker's own
 * pass-through rate (publisher → plain QoS 1 subscriber) measured in the same run, with the ratio.
 * Publishers run in a worker thread so that they do not share the gateway's event loop.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import mqtt from 'mqtt';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openPglite } from '../src/platform/db/pglite.ts';
import type { LiveEvent } from '../src/platform/live/port.ts';
import { startServer, type Server } from '../src/server.ts';
import { measureInsertShapes } from './grid-ingest/insert-shapes.ts';
import { cpuPer, cpuSnapshot } from './lib/cpu.ts';
import { percentile, table } from './util.ts';
import type { PublishJob } from './grid-ingest/publisher.ts';

const log = pino({ level: 'silent' });
const now = () => performance.timeOrigin + performance.now();

interface PublishResult {
  /** Send time of message `first + i` at `i` (NaN: not sent). */
  sent: Float64Array;
  acked: number;
  elapsedMs: number;
  /** CPU microseconds the publisher thread used. */
  cpuUs: number;
}

/** Runs the publisher thread to its end (it has exited when this resolves). */
function publish(job: PublishJob): Promise<PublishResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./grid-ingest/publisher.ts', import.meta.url), { workerData: job });
    const sent = new Float64Array(job.count).fill(NaN);
    w.on('message', (m: Float64Array | { done: true; acked: number; elapsedMs: number; cpuUs: number }) => {
      if (m instanceof Float64Array) {
        for (let i = 0; i < m.length; i += 2) sent[m[i]! - job.first] = m[i + 1]!;
      } else {
        void w
          .terminate()
          .then(() => resolve({ sent, acked: m.acked, elapsedMs: m.elapsedMs, cpuUs: m.cpuUs }));
      }
    });
    w.on('error', reject);
  });
}

/**
 * Phases start with this much traffic that the latency figures leave out: a phase's
 * publisher is a new worker thread, and while it compiles MQTT.js on a busy CPU its first
 * messages wait in it after their send time was taken. Both paced phases (pass-through and
 * gateway) are measured the same way; the p99 over everything is printed too.
 */
const WARMUP_MS = 1000;

/** Publish-to-arrival latencies, sorted: all of them, and those sent after the warm-up. */
function latencies(sent: Float64Array, arrived: Float64Array) {
  const t0 = firstSent(sent);
  const all: number[] = [];
  const steady: number[] = [];
  for (let i = 0; i < arrived.length; i++) {
    if (Number.isNaN(arrived[i]!) || Number.isNaN(sent[i]!)) continue;
    const l = arrived[i]! - sent[i]!;
    all.push(l);
    if (sent[i]! - t0 >= WARMUP_MS) steady.push(l);
  }
  all.sort((a, b) => a - b);
  steady.sort((a, b) => a - b);
  return { p50: percentile(steady, 50), p99: percentile(steady, 99), p99All: percentile(all, 99) };
}

/** The earliest send time (NaN entries were never sent). */
function firstSent(sent: Float64Array): number {
  let t0 = Infinity;
  for (const t of sent) if (t < t0) t0 = t;
  return t0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function startMosquitto(dir: string) {
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 0\nset_tcp_nodelay true\nlog_type error\n`,
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `mqtt://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/**
 * Broker pass-through: the same publishers into a plain QoS 1 subscriber, flat out (`rate` 0) or
 * paced; paced, the subscriber also reads each message's sequence number for the latency.
 */
async function passThrough(url: string, count: number, maxMs: number, rate = 0) {
  const sub = await mqtt.connectAsync(url, { clientId: `bench-sub-${Date.now()}`, clean: true });
  const base = Date.UTC(2026, 0, 1);
  const first = rate > 0 ? 20_000_000 : 0;
  const arrived = new Float64Array(rate > 0 ? count : 0).fill(NaN);
  let got = 0;
  let lastAt = 0;
  sub.on('message', (_topic, payload) => {
    got++;
    lastAt = now();
    if (rate > 0) {
      const i = (JSON.parse(payload.toString()) as { timestamp: number }).timestamp - base - first;
      if (i >= 0 && i < arrived.length) arrived[i] = lastAt;
    }
  });
  await sub.subscribeAsync('bench/pass/#', { qos: 1 });
  const cpu0 = cpuSnapshot();
  const pub = await publish({
    url,
    connections: 4,
    vens: 1000,
    first,
    count,
    rate,
    maxMs,
    base,
    window: 100,
    topic: 'bench/pass',
  });
  const deadline = now() + 10_000;
  while (got < pub.acked && now() < deadline) await new Promise((r) => setTimeout(r, 5));
  // From the first message sent (not from starting the worker) to the last one received.
  const msgPerSec = (got / (lastAt - firstSent(pub.sent))) * 1000;
  const cpu = { ...cpuPer(cpu0, cpuSnapshot(), got), publisher: Math.round((pub.cpuUs / got) * 10) / 10 };
  await sub.endAsync();
  return { rate: msgPerSec, cpu, ...latencies(pub.sent, arrived) };
}

async function gatewayPhase(
  server: Server,
  url: string,
  opts: { count: number; maxMs: number; rate: number; first: number },
) {
  const base = Date.UTC(2026, 0, 1);
  // Delivery time of message `first + i` at `i`: typed arrays keep the benchmark's own cost on
  // the gateway's thread small.
  const delivered = new Float64Array(opts.count).fill(NaN);
  let deliveredCount = 0;
  const unsubscribe = server.core.live.subscribe(['grid.telemetry.*'], (e: LiveEvent) => {
    const i = Date.parse((e.data as { timestamp: string }).timestamp) - base - opts.first;
    if (i >= 0 && i < delivered.length && Number.isNaN(delivered[i])) {
      delivered[i] = now();
      deliveredCount++;
    }
  });
  const cpu0 = cpuSnapshot();
  const pub = await publish({
    url,
    connections: 4,
    vens: 1000,
    first: opts.first,
    count: opts.count,
    rate: opts.rate,
    maxMs: opts.maxMs,
    base,
    window: 100,
    topic: 'ven/telemetry',
  });
  const deadline = now() + 20_000;
  while (deliveredCount < pub.acked && now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const cpu = {
    ...cpuPer(cpu0, cpuSnapshot(), deliveredCount),
    publisher: Math.round((pub.cpuUs / deliveredCount) * 10) / 10,
  };
  unsubscribe();
  let lastAt = 0;
  for (const at of delivered) if (at > lastAt) lastAt = at;
  const seconds = (lastAt - firstSent(pub.sent)) / 1000;
  return {
    published: pub.acked,
    persisted: deliveredCount,
    msgPerSec: deliveredCount / seconds,
    ...latencies(pub.sent, delivered),
    cpu,
  };
}

async function countRows(server: Server): Promise<number> {
  const r = await server.core.db.query<{ c: number }>(
    // A reading and its loads, which ride on the reading's row since migration 005.
    `SELECT (SELECT count(*) FROM grid_readings WHERE ven_id LIKE 'bench-%')
          + (SELECT count(*) FROM grid_reading_loads WHERE ven_id LIKE 'bench-%') AS c`,
  );
  return Number(r.rows[0]?.c ?? 0);
}

async function runSetup(name: string, server: Server, brokerUrl: string, quick: boolean) {
  const maxMs = quick ? 5000 : 10_000;
  const count = quick ? 20_000 : 60_000;
  const pass = await passThrough(brokerUrl, count, maxMs);
  const before = await countRows(server);
  const flat = await gatewayPhase(server, brokerUrl, { count, maxMs, rate: 0, first: 0 });
  const rows = (await countRows(server)) - before;
  const rowsPerSec = (rows / flat.persisted) * flat.msgPerSec;
  const shapes = await measureInsertShapes(server.core.db, { total: quick ? 20_000 : 100_000, batch: 1000 });
  // 10,000 msg/s: the measured 2 or 5 s after a warm-up second.
  const pacedCount = (quick ? 20_000 : 50_000) + WARMUP_MS * 10;
  const pacedMs = (quick ? 2000 : 5000) + WARMUP_MS;
  const passPaced = await passThrough(brokerUrl, pacedCount, pacedMs, 10_000);
  const paced = await gatewayPhase(server, brokerUrl, {
    count: pacedCount,
    maxMs: pacedMs,
    rate: 10_000,
    first: 10_000_000,
  });
  return {
    setup: name,
    'broker pass-through msg/s': Math.round(pass.rate),
    'persisted msg/s': Math.round(flat.msgPerSec),
    'rows/s (reading + 5 loads)': Math.round(rowsPerSec),
    'ratio to pass-through': Math.round((flat.msgPerSec / pass.rate) * 100) / 100,
    'p50 ms (flat out)': Math.round(flat.p50 * 10) / 10,
    'p99 ms (flat out)': Math.round(flat.p99 * 10) / 10,
    'paced msg/s': Math.round(paced.msgPerSec),
    'p50 ms @10k/s': Math.round(paced.p50 * 10) / 10,
    'p99 ms @10k/s': Math.round(paced.p99 * 10) / 10,
    'p99 ms @10k/s incl. warm-up second': Math.round(paced.p99All * 10) / 10,
    'broker pass-through p50 ms @10k/s': Math.round(passPaced.p50 * 10) / 10,
    'broker pass-through p99 ms @10k/s': Math.round(passPaced.p99 * 10) / 10,
    'broker pass-through p99 ms @10k/s incl. warm-up second': Math.round(passPaced.p99All * 10) / 10,
    ...Object.fromEntries(Object.entries(shapes).map(([k, v]) => [`insert ${k} (batches of 1000)`, v])),
    ...cpuFigures('pass-through', pass.cpu),
    ...cpuFigures('gateway flat out', flat.cpu),
    'published (both phases)': flat.published + paced.published,
    'not yet live at phase end': flat.published - flat.persisted + (paced.published - paced.persisted),
  };
}

/** CPU µs per message by component (main thread, other threads of this process, servers). */
function cpuFigures(phase: string, cpu: Record<string, number>): Record<string, number> {
  const names: Record<string, string> = {
    main: 'main thread',
    publisher: 'publisher thread',
    threads: 'other threads (GC, libuv)',
    postgres: 'postgres',
    mosquitto: 'mosquitto',
  };
  return Object.fromEntries(
    Object.entries(cpu).map(([k, v]) => [`CPU µs/msg ${phase}: ${names[k] ?? k}`, v]),
  );
}

function config(dir: string, env: Record<string, string>) {
  return loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    MQTT_PORT: '0',
    LOG_LEVEL: 'silent',
    DATA_DIR: dir,
    APPS: 'grid',
    MQTT_CLIENT_ID: `bench-${Date.now()}`,
    ...env,
  });
}

export default async function run(args: string[]) {
  const quick = args.includes('--quick');
  // `--only=embedded` or `--only=postgres` runs one setup.
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conflux-bench-grid-'));
  const results: Record<string, string | number>[] = [];
  try {
    // (a) embedded broker + PGlite (in memory, as the embedded default but without disk noise).
    if (only !== 'postgres') {
      const db = await openPglite({ dataDir: 'memory://', log });
      // One process: live fan-out stays in process (no NOTIFY round trips on the single connection).
      const server = await startServer(config(dir, { LIVE_FANOUT: 'none' }), log, { db });
      try {
        results.push(await runSetup('embedded Aedes + PGlite', server, server.core.mqtt!.url, quick));
      } finally {
        await server.stop();
      }
    }
    // (b) Mosquitto + PostgreSQL, when a server is configured.
    const admin = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
    if (admin && only !== 'embedded') {
      const name = `conflux_bench_${Date.now()}`;
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`CREATE DATABASE ${name}`);
      const u = new URL(admin);
      u.pathname = `/${name}`;
      const mosq = await startMosquitto(dir);
      try {
        const server = await startServer(
          config(dir, { DATABASE_URL: u.toString(), MQTT_URL: mosq.url }),
          log,
        );
        try {
          results.push(await runSetup('Mosquitto + PostgreSQL', server, mosq.url, quick));
        } finally {
          await server.stop();
        }
      } finally {
        mosq.stop();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      }
    } else {
      process.stdout.write(
        '(b) skipped: set TEST_DATABASE_URL or BENCH_DATABASE_URL to a PostgreSQL server\n',
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Print transposed: one column per setup.
  const keys = Object.keys(results[0] ?? {}).filter((k) => k !== 'setup');
  process.stdout.write(
    `\ngrid-ingest (${os.cpus().length} CPUs)\n` +
      table(
        keys.map((k) => ({
          figure: k,
          ...Object.fromEntries(results.map((r): [string, string | number] => [String(r.setup), r[k] ?? ''])),
        })),
      ) +
      '\n',
  );
  return results;
}
