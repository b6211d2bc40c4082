/**
 * bench-ingest: one profile of 1,000,000 samples × 12 fields over 4 nodes, from the object
 * event to committed rows and summary, on PGlite and on PostgreSQL (BENCH_DATABASE_URL, default
 * the local server; a fresh database is created and dropped). Prints samples/s, the time split
 * (read, compute, write), peak RSS, and the ratio to a baseline measured in the same run: the
 * same rows inserted raw (no object, no read, no computation) with the same bulk path
 * (binary COPY on PostgreSQL, binary-array unnest on PGlite).
 *
 * Options: --samples <per node> (default 250000), --nodes (default 4), --only pglite|postgres.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { bench } from '../src/apps/bench/index.ts';
import { readProfile } from '../src/apps/bench/h5-reader.ts';
import { PriceSource } from '../src/apps/bench/prices.ts';
import { buildNodeSeries, type NodeSeries } from '../src/apps/bench/series.ts';
import {
  PROCESS_JOB,
  processProfile,
  type ProcessPayload,
  type ProcessTimings,
} from '../src/apps/bench/service.ts';
import * as store from '../src/apps/bench/store.ts';
import { syntheticProfile, writeProfile } from '../src/apps/bench/simulator.ts';
import { JobWorker } from '../src/platform/jobs/worker.ts';
import { openCore, type Core } from '../src/server.ts';
import { createDatabase, dropDatabase } from './lib/databases.ts';

const log = pino({ level: 'silent' });

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
}

/** Samples RSS every 25 ms; `stop()` returns the peak in MB. */
function peakRss() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss) / 2 ** 20;
  };
}

interface Result {
  backend: string;
  samples: number;
  totalMs: number;
  timings: ProcessTimings;
  peakMb: number;
  baselineMs: number;
}

async function runOne(backend: 'pglite' | 'postgres', file: string, admin: string): Promise<Result> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conflux-bench-ingest-'));
  const url = backend === 'postgres' ? await createDatabase(admin) : null;
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    APPS: 'bench',
    WORKERS: '0',
    OBJECT_RESCAN_INTERVAL_SECONDS: '0',
    JWT_SECRET: 'bench-ingest-secret-0123456789abcdef',
    ...(url ? { DATABASE_URL: url } : {}),
  });
  let core: Core | null = null;
  try {
    core = await openCore(config, log);
    const c = core;
    // the object is in storage before the measured event
    const key = 'bench/runs/1000000_profile.h5';
    const info = await c.objects.put(key, createReadStream(file), { size: statSync(file).size });
    await c.db.query('DELETE FROM platform_object_versions WHERE key = $1', [key]);
    await bench.start?.(c);

    let timings: ProcessTimings | null = null;
    const prices = new PriceSource(null, c.objects);
    const worker = new JobWorker({
      db: c.db,
      queue: c.jobs,
      log,
      concurrency: 1,
      pollMs: 1000,
      handlers: new Map([
        [
          PROCESS_JOB,
          async (payload: unknown, ctx: Parameters<typeof processProfile>[3]) => {
            timings = await processProfile(c, prices, payload as ProcessPayload, ctx);
          },
        ],
      ]),
    });
    await worker.start();
    const stopRss = peakRss();
    const t0 = performance.now();
    await c.objectEvents.announce(
      { bucket: c.objects.bucket, key, size: info.size, etag: info.etag },
      'webhook',
    );
    for (;;) {
      const r = await c.db.query<{ status: string }>(
        "SELECT status FROM platform_jobs WHERE name = $1 AND status IN ('succeeded', 'failed')",
        [PROCESS_JOB],
      );
      if (r.rows[0]) {
        if (r.rows[0].status !== 'succeeded') throw new Error('processing failed');
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const totalMs = performance.now() - t0;
    const peakMb = stopRss();
    await worker.stop();
    const row = await store.byObject(c.db, c.objects.bucket, key);
    if (!timings || !row || row.samples === null) throw new Error('no result');
    const samples = row.samples;

    // baseline: the same rows, inserted raw into a fresh profile row in one transaction
    const series: NodeSeries[] = [];
    for (const n of await readProfile(file)) {
      const r = buildNodeSeries(n);
      if (r.ok) series.push(r.series);
    }
    const b0 = performance.now();
    await c.db.transaction(async (tx) => {
      const id = await store.upsertForVersion(tx, {
        owner: 'bench',
        bucket: c.objects.bucket,
        key: 'bench/baseline.h5',
        etag: 'x',
        size: 0,
        stem: 'baseline',
        jobId: 'baseline',
      });
      for (const s of series) {
        // the fastest raw path of each backend, as the app uses it
        if (backend === 'postgres') await store.copySamples(tx as pg.ClientBase, id, s);
        else await store.insertSamples(tx, id, s);
      }
    });
    const baselineMs = performance.now() - b0;
    return { backend, samples, totalMs, timings, peakMb, baselineMs };
  } finally {
    await core?.stop();
    if (url) await dropDatabase(admin, url);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export default async function main(args: string[]): Promise<Result[]> {
  const perNode = Number(arg(args, 'samples', '250000'));
  const nodes = Number(arg(args, 'nodes', '4'));
  const only = arg(args, 'only', '');
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conflux-bench-file-'));
  const file = path.join(dir, '1000000_profile.h5');
  try {
    const w0 = performance.now();
    await writeProfile(file, syntheticProfile({ nodes, samples: perNode, seed: 42 }), { chunkRows: 8192 });
    process.stdout.write(
      `profile: ${nodes} nodes × ${perNode} samples × 12 fields, gzip-chunked, ${(statSync(file).size / 2 ** 20).toFixed(1)} MB (written in ${((performance.now() - w0) / 1000).toFixed(1)} s)\n\n`,
    );
    const results: Result[] = [];
    for (const backend of ['pglite', 'postgres'] as const) {
      if (only && only !== backend) continue;
      results.push(await runOne(backend, file, admin));
    }
    const rows = [
      [
        'backend',
        'samples',
        'end-to-end s',
        'samples/s',
        'read s',
        'compute s',
        'write s',
        'peak RSS MB',
        'baseline raw insert samples/s',
        'ratio',
      ],
      ...results.map((r) => [
        r.backend,
        String(r.samples),
        (r.totalMs / 1000).toFixed(2),
        Math.round(r.samples / (r.totalMs / 1000)).toLocaleString('en'),
        (r.timings.readMs / 1000).toFixed(2),
        (r.timings.computeMs / 1000).toFixed(2),
        (r.timings.writeMs / 1000).toFixed(2),
        r.peakMb.toFixed(0),
        Math.round(r.samples / (r.baselineMs / 1000)).toLocaleString('en'),
        (r.baselineMs / r.totalMs).toFixed(2),
      ]),
    ];
    const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length))) ?? [];
    for (const row of rows)
      process.stdout.write(`${row.map((v, c) => v.padEnd(widths[c] ?? 0)).join('  ')}\n`);
    process.stdout.write(
      '\nread = object stream to temp file + HDF5 read on a worker thread, while the nodes already read are being written; compute = plausibility, energy, summary;\nwrite = the writes still running after that, and the transaction that publishes the new rows.\nbaseline = the same rows COPY-ed (PostgreSQL) or inserted (PGlite) raw, in one transaction.\nratio = end-to-end throughput / raw-insert throughput (1.0 = processing costs nothing beyond the insert).\n',
    );
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
