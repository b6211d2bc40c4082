/**
 * The bench app's logic: which objects are profiles, turning an object event into a processing
 * job (in the event's transaction), processing a profile (stream to a temp file, read, compute,
 * replace rows in one transaction), and what the API returns.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { Platform } from '../../platform/app.ts';
import type { Database, Queryable } from '../../platform/db/port.ts';
import { asError, conflict, notFound, unprocessable } from '../../platform/errors.ts';
import { PermanentJobError, type JobContext } from '../../platform/jobs/port.ts';
import { versionOf, type ObjectEvent } from '../../platform/objects/port.ts';
import { combine, cost, equivalentAppliance, jobPeak, summarize, type Summary } from './compute.ts';
import { ProfileError, startProfileReader } from './h5-reader.ts';
import type { PriceSource } from './prices.ts';
import { buildNodeSeries, type NodeResult, type NodeSeries } from './series.ts';
import type { JobSummary } from './schemas.ts';
import * as store from './store.ts';

export const PROCESS_JOB = 'bench.process';

export interface ProcessPayload {
  bucket: string;
  key: string;
  etag: string;
  /** Process again even if this version was processed already (reprocess). */
  force?: boolean;
}

/** Keys the app takes: `<user>/<...>.h5`. */
export const isProfileKey = (key: string) => /^[^/]+\/.+\.h5$/i.test(key);

/** Owner = the key's user prefix; stem = file name without `.h5`; job id = stem up to the first `_`. */
export function describeKey(key: string): { owner: string; stem: string; jobId: string } {
  const owner = key.slice(0, key.indexOf('/'));
  const stem = path.posix.basename(key).replace(/\.h5$/i, '');
  const jobId = stem.split('_')[0] || stem;
  return { owner, stem, jobId };
}

/** Object event handler: records the version and enqueues its processing in the same transaction. */
export async function onProfileObject(platform: Platform, event: ObjectEvent, tx: Queryable): Promise<void> {
  const { owner, stem, jobId } = describeKey(event.key);
  const id = await store.upsertForVersion(tx, { ...event, owner, stem, jobId });
  const payload: ProcessPayload = { bucket: event.bucket, key: event.key, etag: event.etag };
  const job = await platform.jobs.enqueue(tx, PROCESS_JOB, payload, {
    // Per version (ETag and write time): the same content uploaded again is processed again.
    idempotencyKey: `${PROCESS_JOB}:${event.bucket}/${event.key}@${versionOf(event)}`,
    timeoutMs: platform.config.bench.jobTimeoutMs,
  });
  await store.setQueueJob(tx, id, job.id);
}

export interface ProcessTimings {
  readMs: number;
  computeMs: number;
  writeMs: number;
  samples: number;
}

/**
 * Processes one object version. A file that cannot be used ends as failed with its reason
 * (and the job fails without retries); storage or database trouble is thrown and retried.
 */
export async function processProfile(
  platform: Platform,
  prices: PriceSource,
  payload: ProcessPayload,
  ctx: Pick<JobContext, 'log' | 'signal'>,
): Promise<ProcessTimings | null> {
  const row = await store.byObject(platform.db, payload.bucket, payload.key);
  if (!row || row.etag !== payload.etag) {
    await ctx.log('superseded by a newer version of the object (or deleted): nothing to do');
    return null;
  }
  if (!payload.force && row.status === 'succeeded' && row.processed_etag === payload.etag) {
    await ctx.log('this version is already processed');
    return null;
  }
  await store.setStatus(platform.db, row.id, 'processing', null);
  // Under DATA_DIR, beside a filesystem store's objects: a hard link then replaces the copy.
  await mkdir(path.join(platform.config.dataDir, 'tmp'), { recursive: true });
  const dir = await mkdtemp(path.join(platform.config.dataDir, 'tmp', 'bench-'));
  // The reader thread loads HDF5 while the object is fetched.
  const reader = startProfileReader();
  try {
    const t0 = performance.now();
    // h5wasm reads from a file: link or stream the object to disk, never holding it in memory
    const file = path.join(dir, 'profile.h5');
    if (!(await platform.objects.linkTo?.(payload.key, file))) {
      const stream = await platform.objects.open(payload.key);
      if (!stream) {
        await store.setStatus(platform.db, row.id, 'failed', 'the object no longer exists in storage');
        throw new PermanentJobError(`object ${payload.key} no longer exists`);
      }
      await pipeline(stream, createWriteStream(file), { signal: ctx.signal });
    }
    // The new sample set is written while the file is still being read: each node goes to the
    // database as soon as it is read (on a worker thread) and checked.
    const set = await store.beginSampleSet(platform.db, row.id, payload.etag);
    if (set === null) {
      await ctx.log('superseded while processing: rows not written');
      return null;
    }
    const writer = new SampleSetWriter(platform.db, set, ctx.signal);
    let computed: Computed;
    let t1: number;
    try {
      const results: NodeResult[] = [];
      for await (const raw of reader.nodes(file)) {
        const r = buildNodeSeries(raw);
        results.push(r);
        if (r.ok) writer.add(r.series);
      }
      t1 = performance.now();
      computed = compute(
        results,
        await prices.get().catch(async (e: unknown) => {
          await ctx.log(`no costs: ${(e as Error).message}`, 'warn');
          return null;
        }),
      );
    } catch (e) {
      await writer.settle();
      await store.abandonSampleSet(platform.db, row.id, set);
      if (!(e instanceof ProfileError)) throw e;
      await store.setStatus(platform.db, row.id, 'failed', e.message);
      throw new PermanentJobError(e.message);
    }
    for (const s of computed.skipped) await ctx.log(`node ${s.node} skipped: ${s.reason}`, 'warn');
    for (const n of computed.nodes)
      await ctx.log(`node ${n.node}: ${n.summary.samples} samples, power from ${n.powerSource}`);
    const t2 = performance.now();
    await writer.done().catch(async (e: unknown) => {
      await store.abandonSampleSet(platform.db, row.id, set);
      throw e;
    });
    const written = await platform.db.transaction(async (tx) => {
      const locked = await store.lockForWrite(tx, row.id, payload.etag);
      if (!locked) {
        await store.deleteSampleSet(tx, set);
        return false;
      }
      await store.publishSampleSet(tx, locked, set);
      const view = await store.chooseViewName(tx, locked);
      await store.createView(tx, view, set);
      await store.saveSummary(
        tx,
        row.id,
        payload.etag,
        computed.job,
        computed.nodes,
        computed.equivalent,
        view,
      );
      return true;
    });
    const t3 = performance.now();
    await ctx.log(
      written ? `stored ${computed.job.samples} samples` : 'superseded while processing: rows not written',
    );
    return { readMs: t1 - t0, computeMs: t2 - t1, writeMs: t3 - t2, samples: computed.job.samples };
  } finally {
    await reader.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Writes nodes' samples into a new (not yet published) set as they come: on PostgreSQL with
 * binary COPY on two connections at once, each node in its own transaction; on PGlite (one
 * connection) one after the other.
 */
class SampleSetWriter {
  private readonly db: Database;
  private readonly set: number;
  private readonly signal: AbortSignal;
  private readonly lanes: number;
  private readonly queue: NodeSeries[] = [];
  private readonly writing = new Set<Promise<void>>();
  private failure: Error | null = null;

  constructor(db: Database, set: number, signal: AbortSignal) {
    this.db = db;
    this.set = set;
    this.signal = signal;
    this.lanes = db.kind === 'postgres' ? 2 : 1;
  }

  add(series: NodeSeries): void {
    this.queue.push(series);
    this.pump();
  }

  /** Resolves when every node added is written; rejects with the first failure. */
  async done(): Promise<void> {
    await this.settle();
    if (this.failure !== null) throw this.failure;
  }

  /** Waits for the writes under way and starts no more. */
  async settle(): Promise<void> {
    while (this.writing.size > 0) await Promise.allSettled([...this.writing]);
  }

  private pump() {
    while (this.failure === null && this.writing.size < this.lanes && this.queue.length > 0) {
      const node = this.queue.shift()!;
      const p = this.write(node).then(
        () => {
          this.writing.delete(p);
          this.pump();
        },
        (e: unknown) => {
          this.writing.delete(p);
          this.failure ??= asError(e);
        },
      );
      this.writing.add(p);
    }
  }

  private async write(node: NodeSeries): Promise<void> {
    this.signal.throwIfAborted();
    await this.db.transaction(async (tx) => {
      // the transaction's connection is a pg client on both backends; COPY only works on PostgreSQL
      if (this.db.kind === 'postgres') await store.copySamples(tx as pg.ClientBase, this.set, node);
      else await store.insertSamples(tx, this.set, node);
    });
  }
}

interface Computed {
  series: NodeSeries[];
  nodes: { node: string; powerSource: string; summary: Summary }[];
  skipped: { node: string; reason: string }[];
  job: Summary;
  equivalent: ReturnType<typeof equivalentAppliance>;
}

function compute(
  results: ReturnType<typeof buildNodeSeries>[],
  prices: Parameters<typeof cost>[2],
): Computed {
  const series: NodeSeries[] = [];
  const skipped: { node: string; reason: string }[] = [];
  for (const r of results) {
    if (r.ok) series.push(r.series);
    else skipped.push({ node: r.node, reason: r.reason });
  }
  if (series.length === 0) {
    const why = skipped.map((s) => `${s.node}: ${s.reason}`).join('; ');
    throw new ProfileError(`nothing usable in the file${why ? ` (${why})` : ' (no groups)'}`);
  }
  const nodes = series.map((s) => ({
    node: s.node,
    powerSource: s.powerSource,
    summary: summarize(s.elapsed, s.power, s.energyJ, cost(s.epoch, s.energyJ, prices)),
  }));
  const job = combine(
    series.map((s, i) => ({
      summary: (nodes[i] as { summary: Summary }).summary,
      start: s.elapsed[0] ?? 0,
      end: s.elapsed[s.elapsed.length - 1] ?? 0,
    })),
    jobPeak(series),
  );
  return { series, nodes, skipped, job, equivalent: equivalentAppliance(job.energyJ) };
}

/** Who may see what: admins everything, others their own prefix. */
export const scopeOf = (p: { username: string; role: string }) => (p.role === 'admin' ? null : p.username);

export async function getJob(
  platform: Platform,
  jobId: string,
  owner: string | null,
): Promise<store.BenchJobRow> {
  const row = await store.byJobId(platform.db, jobId, owner);
  if (!row) throw notFound(`bench job ${jobId}`);
  return row;
}

/** Queues a fresh processing run of the current version. */
export async function reprocess(platform: Platform, row: store.BenchJobRow): Promise<number> {
  // The file as storage holds it now: the row then names the content the results will come from.
  const info = await platform.objects.head(row.object_key);
  if (!info) throw conflict(`${row.object_key} is no longer in storage: upload it again`);
  return platform.db.transaction(async (tx) => {
    await store.setStatus(tx, row.id, 'queued', null);
    if (info.etag !== row.etag) await store.setVersion(tx, row.id, info.etag, info.size);
    const payload: ProcessPayload = { bucket: row.bucket, key: row.object_key, etag: info.etag, force: true };
    const job = await platform.jobs.enqueue(tx, PROCESS_JOB, payload, {
      timeoutMs: platform.config.bench.jobTimeoutMs,
    });
    await store.setQueueJob(tx, row.id, job.id);
    return job.id;
  });
}

/** Removes the rows, the view and any queued run; the object itself stays in storage. */
export async function remove(platform: Platform, row: store.BenchJobRow): Promise<void> {
  if (row.queue_job_id !== null) await platform.jobs.cancel(row.queue_job_id);
  await platform.db.transaction(async (tx) => {
    if (row.view_name) await store.dropView(tx, row.view_name);
    await store.deleteJob(tx, row);
  });
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The API shape of a profile row. */
export function presentJob(r: store.BenchJobRow): JobSummary {
  return {
    job_id: r.job_id,
    owner: r.owner,
    object_key: r.object_key,
    etag: r.etag,
    stem: r.stem,
    view: r.view_name,
    status: r.status,
    error: r.error,
    samples: r.samples,
    nodes: r.nodes,
    energy_j: r.energy_j,
    energy_kwh: r.energy_kwh,
    tts_s: r.tts_s,
    avg_power_w: r.avg_power_w,
    peak_power_w: r.peak_power_w,
    peak_at_s: r.peak_at_s,
    edp_js: r.edp_js,
    cost_eur: r.cost_eur,
    equivalent: (r.equivalent as JobSummary['equivalent'] | undefined) ?? null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    processed_at: iso(r.processed_at),
  };
}

/** Summary, per-node figures and the processing job's status and log. */
export async function jobDetail(platform: Platform, r: store.BenchJobRow) {
  const queued = r.queue_job_id === null ? null : await platform.jobs.get(r.queue_job_id);
  const log = r.queue_job_id === null ? [] : await platform.jobs.logs(r.queue_job_id);
  const nodes = (r.node_summaries as { node: string; powerSource: string; summary: Summary }[] | null) ?? [];
  return {
    ...presentJob(r),
    node_summaries: nodes.map((n) => ({
      node: n.node,
      power_source: n.powerSource,
      samples: n.summary.samples,
      energy_j: n.summary.energyJ,
      energy_kwh: n.summary.energyKwh,
      tts_s: n.summary.ttsS,
      avg_power_w: n.summary.avgPowerW,
      peak_power_w: n.summary.peakPowerW,
      peak_at_s: n.summary.peakAtS,
      edp_js: n.summary.edpJs,
      cost_eur: n.summary.costEur,
    })),
    processing: {
      queue_job_id: r.queue_job_id,
      status: queued?.status ?? null,
      attempts: queued?.attempts ?? null,
      last_error: queued?.lastError ?? null,
      log: log.map((l) => ({
        at: l.at.toISOString(),
        level: l.level,
        attempt: l.attempt,
        message: l.message,
      })),
    },
  };
}

/** Downsampled series per node, reduced in SQL. */
export async function jobSeries(
  platform: Platform,
  r: store.BenchJobRow,
  columnList: string,
  maxPoints: number,
) {
  const columns = [
    ...new Set(
      columnList
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
    ),
  ];
  const unknown = columns.filter((c) => !store.SERIES_COLUMNS.includes(c));
  if (unknown.length > 0 || columns.length === 0) {
    throw unprocessable(
      `columns: unknown ${unknown.join(', ') || '(none given)'}; known: ${store.SERIES_COLUMNS.join(', ')}`,
    );
  }
  const rows = r.sample_set === null ? [] : await store.series(platform.db, r.sample_set, columns, maxPoints);
  const nodes = new Map<
    string,
    { node: string; points: number; elapsed_s: number[]; values: Record<string, (number | null)[]> }
  >();
  for (const row of rows) {
    const name = String(row.node);
    let n = nodes.get(name);
    if (!n) {
      n = { node: name, points: 0, elapsed_s: [], values: Object.fromEntries(columns.map((c) => [c, []])) };
      nodes.set(name, n);
    }
    n.points++;
    n.elapsed_s.push(Number(row.elapsed_s));
    for (const c of columns) n.values[c]?.push(row[c] === null ? null : Number(row[c]));
  }
  return { job_id: r.job_id, columns, max_points: maxPoints, nodes: [...nodes.values()] };
}
