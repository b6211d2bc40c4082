/**
 * archery-live: shots inserted into PostgreSQL at a fixed rate (as the sensor processes do)
 * reach 1,000 WebSocket clients of `/api/v0/ws/shot`. Latency is measured from the insert's
 * commit acknowledgement to delivery, at a sample of fully decoding `ws` clients; the other
 * clients are real WebSocket connections in a child process that only count bytes (checked
 * against what the decoding clients got), so that they do not stall the measuring event loop.
 * The server is a real `conflux serve` process; all of it shares this machine.
 * Baseline, same run, same rate: a bare NOTIFY → LISTEN round trip without the platform.
 *
 * Needs PostgreSQL: BENCH_DATABASE_URL, TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres
 * (a fresh database is created and dropped). Args: --clients 1000 --rate 500 --seconds 10 --measured 20
 */
import { fork, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import WebSocket from 'ws';
import { printTable, sleep, summarise } from './lib/stats.ts';

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A decoding client: records when each shot id arrived. */
async function measuredClient(port: number, arrivals: Map<string, number[]>) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v0/ws/shot`);
  let frameBytes = 0;
  ws.on('message', (m: Buffer) => {
    const t = performance.now();
    frameBytes += m.length + (m.length < 126 ? 2 : m.length < 65_536 ? 4 : 10);
    const { id } = JSON.parse(m.toString()) as { id: string };
    const list = arrivals.get(id);
    if (list) list.push(t);
    else arrivals.set(id, [t]);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frameBytes: () => frameBytes };
}

/** Issues `total` calls at `rate` per second without waiting for each to finish. */
async function paced(rate: number, total: number, issue: (i: number) => Promise<void>) {
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < total;) {
    const due = start + (i * 1000) / rate;
    const now = performance.now();
    if (now < due) {
      await sleep(Math.max(0, due - now));
      continue;
    }
    const p = issue(i++).finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  return { seconds: (performance.now() - start) / 1000 };
}

/**
 * Writes `ids.length` shots at `rate` rows per second: every `tickMs` the rows that fell due are
 * inserted in one statement (one commit), the batched write of the data flow. Per-row commits
 * cannot reach 500/s here: commits that NOTIFY are serialised on PostgreSQL's notify-queue lock
 * together with their WAL flush, so one disk flush per shot caps the rate (~250/s on this disk).
 */
async function batchedWriter(
  writer: pg.Pool,
  rate: number,
  ids: readonly string[],
  row: (id: string) => unknown[],
  acks: Map<string, number>,
  tickMs = 10,
) {
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  let commits = 0;
  for (let next = 0; next < ids.length;) {
    await sleep(tickMs);
    const due = Math.min(ids.length, Math.floor(((performance.now() - start) * rate) / 1000));
    if (due <= next) continue;
    const batch = ids.slice(next, due);
    next = due;
    const params = batch.flatMap(row);
    const values = batch.map(
      (_, i) => `($${i * 5 + 1}::uuid, $${i * 5 + 2}::uuid, $${i * 5 + 3}::uuid, now() - interval '1 s',
        now() - interval '0.3 s', now(), $${i * 5 + 4}::real, $${i * 5 + 5}::real)`,
    );
    const p = writer
      .query(
        `INSERT INTO archery_shots (id, arrow_id, session_id, arrow_engage_time, arrow_disengage_time,
           arrow_landing_time, x, y) VALUES ${values.join(', ')}`,
        params,
      )
      .then(() => {
        const t = performance.now();
        commits++;
        for (const id of batch) acks.set(id, t);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  return { seconds: (performance.now() - start) / 1000, commits };
}

export default async function archeryLive(args: string[]): Promise<Record<string, unknown>> {
  const clients = arg(args, 'clients', 1000);
  const rate = arg(args, 'rate', 500);
  const seconds = arg(args, 'seconds', 10);
  const measuredCount = Math.min(clients, arg(args, 'measured', 20));
  const admin =
    process.env.BENCH_DATABASE_URL ??
    process.env.TEST_DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `conflux_bench_${randomBytes(4).toString('hex')}`;
  const adminClient = new pg.Client({ connectionString: admin });
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(admin);
  url.pathname = `/${dbName}`;
  const port = await freePort();
  const server = spawn(process.execPath, [new URL('../src/main.ts', import.meta.url).pathname, 'serve'], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      APPS: 'archery',
      DATABASE_URL: url.toString(),
      HOST: '127.0.0.1',
      PORT: String(port),
      MQTT_PORT: '0', // the embedded broker on a free port: this machine may run one on 1883
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const writer = new pg.Pool({ connectionString: url.toString(), max: 4 });
  // Idle writer connections are cut when the database is dropped at the end.
  writer.on('error', () => undefined);
  const sockets: { close: () => void }[] = [];
  try {
    const base = `http://127.0.0.1:${port}`;
    await until(
      () =>
        fetch(`${base}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      30_000,
      'the server',
    );
    const post = async <T>(path: string, body: unknown) => {
      const res = await fetch(`${base}/api/v0${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return ((await res.json()) as { data: T }).data;
    };
    const session = await post<{ id: string }>('/session', { location: 'bench' });
    const target = await post<{ id: string }>('/target', {
      max_x: 1300,
      max_y: 1300,
      distance: 18,
      session_id: session.id,
    });
    await post(`/target/${target.id}/face`, { catalogue_id: 'wa-122-full' });
    const arrowId = randomUUID();
    await post('/arrow', { id: arrowId, human_identifier: 'BENCH', length: 70 });

    // The byte-counting clients live in a child process; the measured ones here.
    const rawCount = clients - measuredCount;
    const raw = fork(new URL('./lib/raw-ws-clients.ts', import.meta.url), [String(port), String(rawCount)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    sockets.push({ close: () => raw.send('exit') });
    await new Promise<void>((resolve, reject) => {
      raw.once('message', () => resolve());
      raw.once('exit', (code) => reject(new Error(`raw clients exited with ${code}`)));
    });
    const arrivals = new Map<string, number[]>();
    const measured = await Promise.all(
      Array.from({ length: measuredCount }, () => measuredClient(port, arrivals)),
    );
    sockets.push(...measured.map((m) => ({ close: () => m.ws.terminate() })));

    const row = (id: string) => [
      id,
      arrowId,
      session.id,
      650 + (Math.random() - 0.5) * 300,
      650 + (Math.random() - 0.5) * 300,
    ];
    // Warm-up (not measured), then the measured run.
    const warmAcks = new Map<string, number>();
    const warmIds = Array.from({ length: Math.round(rate) }, () => randomUUID());
    await batchedWriter(writer, rate, warmIds, row, warmAcks);
    await until(
      () => warmIds.every((id) => arrivals.get(id)?.length === measuredCount),
      15_000,
      'warm-up shots',
    );
    const acks = new Map<string, number>();
    const ids: string[] = Array.from({ length: Math.round(rate * seconds) }, () => randomUUID());
    const run = await batchedWriter(writer, rate, ids, row, acks);
    await until(
      () => ids.every((id) => (arrivals.get(id)?.length ?? 0) >= measuredCount),
      30_000,
      'deliveries',
    ).catch(() => undefined);
    await sleep(200); // let the byte-counting clients' last reads arrive
    const latencies: number[] = [];
    let delivered = 0;
    for (const id of ids) {
      const ack = acks.get(id) as number;
      for (const t of arrivals.get(id) ?? []) {
        delivered++;
        latencies.push(Math.max(0, t - ack));
      }
    }
    const expectedBytes = measured[0]?.frameBytes() ?? 0;
    const rawBytes = await new Promise<number[]>((resolve) => {
      raw.once('message', (m: { bytes: number[] }) => resolve(m.bytes));
      raw.send('report');
    });
    const rawComplete = rawBytes.filter((b) => b >= expectedBytes).length;
    const platform = summarise(latencies);

    // Baseline: the bare NOTIFY → LISTEN round trip at the same rate, no server in between.
    const listener = new pg.Client({ connectionString: url.toString() });
    await listener.connect();
    const heard = new Map<string, number>();
    listener.on('notification', (n) => heard.set(n.payload ?? '', performance.now()));
    await listener.query('LISTEN bench_baseline');
    const baseAcks = new Map<string, number>();
    const baseIds = Array.from({ length: Math.round(rate * Math.min(seconds, 5)) }, () => randomUUID());
    await paced(rate, baseIds.length, async (i) => {
      await writer.query('SELECT pg_notify($1, $2)', ['bench_baseline', baseIds[i]]);
      baseAcks.set(baseIds[i] as string, performance.now());
    });
    await until(() => baseIds.every((id) => heard.has(id)), 10_000, 'baseline notifications').catch(
      () => undefined,
    );
    await listener.end();
    const baseline = summarise(
      baseIds
        .filter((id) => heard.has(id))
        .map((id) => Math.max(0, (heard.get(id) as number) - (baseAcks.get(id) as number))),
    );

    const rows = [
      {
        path: 'NOTIFY → LISTEN (baseline)',
        clients: 1,
        'rate/s': baseIds.length / Math.min(seconds, 5),
        'commits/s': baseIds.length / Math.min(seconds, 5),
        deliveries: baseline.n,
        'p50 ms': baseline.p50,
        'p99 ms': baseline.p99,
        'max ms': baseline.max,
      },
      {
        path: 'insert → /api/v0/ws/shot',
        clients,
        'rate/s': ids.length / run.seconds,
        'commits/s': run.commits / run.seconds,
        deliveries: delivered,
        'p50 ms': platform.p50,
        'p99 ms': platform.p99,
        'max ms': platform.max,
      },
    ];
    process.stdout.write(
      `\narchery-live: ${ids.length} shots at ${rate}/s to ${clients} WebSocket clients\n\n`,
    );
    printTable(rows);
    const ratio = platform.p99 / baseline.p99;
    process.stdout.write(
      `\np99 ratio to baseline: ${ratio.toFixed(1)}x; target p99 < 50 ms: ${platform.p99 < 50 ? 'met' : 'NOT met'}\n` +
        `measured clients: ${delivered}/${ids.length * measuredCount} deliveries; ` +
        `byte-counting clients with every shot: ${rawComplete}/${rawCount}\n`,
    );
    return {
      clients,
      rate,
      shots: ids.length,
      achievedRate: ids.length / run.seconds,
      commitsPerSecond: run.commits / run.seconds,
      measuredClients: measuredCount,
      deliveries: delivered,
      expectedDeliveries: ids.length * measuredCount,
      rawClientsComplete: rawComplete,
      rawClients: rawCount,
      platform,
      baseline,
      p99Ratio: ratio,
    };
  } finally {
    for (const s of sockets) s.close();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await writer.end();
    await adminClient.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await adminClient.end();
  }
}
