/**
 * The bench app's SQL: profile rows (`bench_jobs`), their samples written in bulk with
 * multi-row `unnest` inserts, the per-file compatibility views, and downsampled series.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Database, Queryable } from '../../platform/db/port.ts';
import type { Summary } from './compute.ts';
import { METRIC_COLUMNS, type NodeSeries } from './series.ts';

export interface BenchJobRow {
  id: number;
  owner: string;
  bucket: string;
  object_key: string;
  etag: string;
  size: number | null;
  stem: string;
  job_id: string;
  view_name: string | null;
  status: 'queued' | 'processing' | 'succeeded' | 'failed';
  error: string | null;
  queue_job_id: number | null;
  processed_etag: string | null;
  nodes: number | null;
  samples: number | null;
  energy_j: number | null;
  energy_kwh: number | null;
  tts_s: number | null;
  avg_power_w: number | null;
  peak_power_w: number | null;
  peak_at_s: number | null;
  edp_js: number | null;
  cost_eur: number | null;
  equivalent: unknown;
  node_summaries: unknown;
  created_at: Date;
  updated_at: Date;
  processed_at: Date | null;
  /** The published sample set (null before the first successful processing). */
  sample_set: number | null;
  /** The set being written by a processing run (or left behind by one that crashed). */
  pending_set: number | null;
}

/** Columns of `bench_samples` after (sample_set, node), in insert order. */
export const SAMPLE_COLUMNS = [
  'idx',
  'elapsed_s',
  'epoch_s',
  'power_w',
  'energy_j',
  ...METRIC_COLUMNS,
] as const;
export type SampleColumn = (typeof SAMPLE_COLUMNS)[number];
/** Columns a client may ask the series endpoint for. */
export const SERIES_COLUMNS: readonly string[] = SAMPLE_COLUMNS.filter(
  (c) => c !== 'idx' && c !== 'elapsed_s',
);

/** Rows per INSERT: keeps each statement's parameters in the tens of MB. */
const BATCH_ROWS = 50_000;

/** Records (or re-arms) the profile row for a new object version; returns its id. */
export async function upsertForVersion(
  tx: Queryable,
  v: { owner: string; bucket: string; key: string; etag: string; size: number; stem: string; jobId: string },
): Promise<number> {
  const r = await tx.query<{ id: number }>(
    `INSERT INTO bench_jobs (owner, bucket, object_key, etag, size, stem, job_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (bucket, object_key) DO UPDATE SET etag = excluded.etag, size = excluded.size,
       -- the same version announced again keeps its state; a new version starts over
       status = CASE WHEN bench_jobs.etag = excluded.etag THEN bench_jobs.status ELSE 'queued' END,
       error = CASE WHEN bench_jobs.etag = excluded.etag THEN bench_jobs.error END,
       updated_at = now()
     RETURNING id`,
    [v.owner, v.bucket, v.key, v.etag, v.size, v.stem, v.jobId],
  );
  return (r.rows[0] as { id: number }).id;
}

/** The row now stands for this content of its object (a reprocess found it changed). */
export async function setVersion(tx: Queryable, id: number, etag: string, size: number): Promise<void> {
  await tx.query('UPDATE bench_jobs SET etag = $2, size = $3, updated_at = now() WHERE id = $1', [
    id,
    etag,
    size,
  ]);
}

export async function setQueueJob(tx: Queryable, id: number, queueJobId: number): Promise<void> {
  await tx.query('UPDATE bench_jobs SET queue_job_id = $2 WHERE id = $1', [id, queueJobId]);
}

/** Status of the rows for these keys (progress of a batch). */
export async function statusOf(db: Queryable, bucket: string, keys: string[]): Promise<BenchJobRow[]> {
  const r = await db.query<BenchJobRow>(
    'SELECT * FROM bench_jobs WHERE bucket = $1 AND object_key = ANY($2)',
    [bucket, keys],
  );
  return r.rows;
}

export async function byObject(db: Queryable, bucket: string, key: string): Promise<BenchJobRow | null> {
  const r = await db.query<BenchJobRow>('SELECT * FROM bench_jobs WHERE bucket = $1 AND object_key = $2', [
    bucket,
    key,
  ]);
  return r.rows[0] ?? null;
}

export async function setStatus(
  db: Queryable,
  id: number,
  status: BenchJobRow['status'],
  error: string | null,
) {
  await db.query('UPDATE bench_jobs SET status = $2, error = $3, updated_at = now() WHERE id = $1', [
    id,
    status,
    error,
  ]);
}

/** Locks the row for the write; null when it is gone or now holds another version. */
export async function lockForWrite(tx: Queryable, id: number, etag: string): Promise<BenchJobRow | null> {
  const r = await tx.query<BenchJobRow>('SELECT * FROM bench_jobs WHERE id = $1 AND etag = $2 FOR UPDATE', [
    id,
    etag,
  ]);
  return r.rows[0] ?? null;
}

/**
 * Starts a new sample set for the row's current version: deletes what a crashed earlier run left
 * in its pending set, and records the new one as pending. Null when the row is gone or now holds
 * another version.
 */
export async function beginSampleSet(db: Database, id: number, etag: string): Promise<number | null> {
  return db.transaction(async (tx) => {
    const row = await lockForWrite(tx, id, etag);
    if (!row) return null;
    if (row.pending_set !== null) await deleteSampleSet(tx, row.pending_set);
    const r = await tx.query<{ set: number }>(
      `UPDATE bench_jobs SET pending_set = nextval('bench_sample_sets') WHERE id = $1 RETURNING pending_set AS set`,
      [id],
    );
    return r.rows[0]!.set;
  });
}

/** Deletes a set that will not be published (the file turned out unusable, or storage failed). */
export async function abandonSampleSet(db: Database, id: number, set: number): Promise<void> {
  await db.transaction(async (tx) => {
    await deleteSampleSet(tx, set);
    await tx.query('UPDATE bench_jobs SET pending_set = NULL WHERE id = $1 AND pending_set = $2', [id, set]);
  });
}

/** Makes `set` the row's published sample set and deletes the one it replaces. */
export async function publishSampleSet(tx: Queryable, row: BenchJobRow, set: number): Promise<void> {
  if (row.sample_set !== null && row.sample_set !== set) await deleteSampleSet(tx, row.sample_set);
  await tx.query('UPDATE bench_jobs SET sample_set = $2, pending_set = NULL WHERE id = $1', [row.id, set]);
}

export async function deleteSampleSet(db: Queryable, set: number): Promise<void> {
  await db.query('DELETE FROM bench_samples WHERE sample_set = $1', [set]);
}

/**
 * PostgreSQL's binary array format (what `array_recv` reads): `pg` sends Buffer parameters in
 * binary, so the server neither parses text numbers nor do we format them (several times faster
 * than array literals at a million rows, on both backends).
 */
const FLOAT8_OID = 701;
const INT4_OID = 23;

/** A DataView over a Buffer: big-endian stores without Buffer's per-call argument checks. */
const viewOf = (buf: Buffer) => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

function arrayHeader(view: DataView, elementOid: number, length: number, hasNull: boolean) {
  view.setInt32(0, 1); // dimensions
  view.setInt32(4, hasNull ? 1 : 0);
  view.setInt32(8, elementOid);
  view.setInt32(12, length);
  view.setInt32(16, 1); // lower bound
}

/** Writes one binary float8 field (length + value, or -1 for NULL when not finite); returns the next offset. */
function writeFloat8(view: DataView, o: number, v: number): number {
  if (!Number.isFinite(v)) {
    view.setInt32(o, -1);
    return o + 4;
  }
  view.setInt32(o, 8);
  view.setFloat64(o + 4, v);
  return o + 12;
}

/** float8[] of `values[from..to)`; NaN becomes NULL. */
export function binaryFloat8Array(values: Float64Array, from: number, to: number): Buffer {
  const buf = Buffer.allocUnsafe(20 + (to - from) * 12);
  const view = viewOf(buf);
  let hasNull = false;
  let o = 20;
  for (let i = from; i < to; i++) {
    const v = values[i] ?? NaN;
    if (!Number.isFinite(v)) hasNull = true;
    o = writeFloat8(view, o, v);
  }
  arrayHeader(view, FLOAT8_OID, to - from, hasNull);
  return buf.subarray(0, o);
}

/** int4[] of the integers `from..to)`. */
export function binaryRangeArray(from: number, to: number): Buffer {
  const buf = Buffer.allocUnsafe(20 + (to - from) * 8);
  const view = viewOf(buf);
  arrayHeader(view, INT4_OID, to - from, false);
  let o = 20;
  for (let i = from; i < to; i++, o += 8) {
    view.setInt32(o, 4);
    view.setInt32(o + 4, i);
  }
  return buf;
}

const INSERT_SAMPLES = `INSERT INTO bench_samples (sample_set, node, ${SAMPLE_COLUMNS.join(', ')})
  SELECT $1, $2, * FROM unnest($3::int[], ${SAMPLE_COLUMNS.slice(1)
    .map((_, i) => `$${i + 4}::float8[]`)
    .join(', ')})`;

/** Inserts one node's samples in batches of multi-row `unnest` inserts with binary arrays. */
export async function insertSamples(tx: Queryable, id: number, s: NodeSeries): Promise<void> {
  const n = s.elapsed.length;
  const columns: Float64Array[] = [
    s.elapsed,
    s.epoch,
    s.power,
    s.energyJ,
    ...METRIC_COLUMNS.map((c) => s.metrics[c]),
  ];
  for (let from = 0; from < n; from += BATCH_ROWS) {
    const to = Math.min(n, from + BATCH_ROWS);
    await tx.query(INSERT_SAMPLES, [
      id,
      s.node,
      binaryRangeArray(from, to),
      ...columns.map((c) => binaryFloat8Array(c, from, to)),
    ]);
  }
}

/** Rows per COPY buffer: a few MB each, so memory stays flat while the server keeps up. */
const COPY_ROWS = 16_384;

/** The binary COPY stream of one node's rows: header, tuples, trailer. */
function* copyTuples(id: number, s: NodeSeries): Generator<Buffer> {
  const header = Buffer.alloc(19);
  header.write('PGCOPY\n\xff\r\n\0', 0, 'latin1'); // signature, then flags and extension length 0
  yield header;
  const floats: Float64Array[] = [
    s.elapsed,
    s.epoch,
    s.power,
    s.energyJ,
    ...METRIC_COLUMNS.map((c) => s.metrics[c]),
  ];
  // What every row starts with: field count, the sample set (int8) and the node name (text).
  const node = Buffer.from(s.node, 'utf8');
  const prefix = Buffer.allocUnsafe(18 + node.length);
  const pv = viewOf(prefix);
  pv.setInt16(0, 3 + floats.length);
  pv.setInt32(2, 8);
  pv.setBigInt64(6, BigInt(id));
  pv.setInt32(14, node.length);
  node.copy(prefix, 18);
  const rowMax = prefix.length + 8 + floats.length * 12;
  const n = s.elapsed.length;
  for (let from = 0; from < n; from += COPY_ROWS) {
    const to = Math.min(n, from + COPY_ROWS);
    const buf = Buffer.allocUnsafe((to - from) * rowMax);
    const view = viewOf(buf);
    let o = 0;
    for (let i = from; i < to; i++) {
      buf.set(prefix, o);
      o += prefix.length;
      view.setInt32(o, 4);
      view.setInt32(o + 4, i);
      o += 8;
      for (const col of floats) o = writeFloat8(view, o, col[i] ?? NaN);
    }
    yield buf.subarray(0, o);
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  yield trailer;
}

/**
 * Inserts one node's samples with `COPY ... FROM STDIN (FORMAT binary)`: PostgreSQL only (about
 * twice as fast as the unnest insert there; PGlite's driver adapter has no COPY sub-protocol).
 * `client` must be the transaction's connection.
 */
export async function copySamples(client: pg.ClientBase, id: number, s: NodeSeries): Promise<void> {
  const sql = `COPY bench_samples (sample_set, node, ${SAMPLE_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`;
  await pipeline(Readable.from(copyTuples(id, s)), client.query(copyFrom(sql)));
}

export async function saveSummary(
  tx: Queryable,
  id: number,
  etag: string,
  job: Summary,
  nodes: { node: string; powerSource: string; summary: Summary }[],
  equivalent: unknown,
  viewName: string,
): Promise<void> {
  await tx.query(
    `UPDATE bench_jobs SET status = 'succeeded', error = NULL, processed_etag = $2, nodes = $3, samples = $4,
       energy_j = $5, energy_kwh = $6, tts_s = $7, avg_power_w = $8, peak_power_w = $9, peak_at_s = $10,
       edp_js = $11, cost_eur = $12, equivalent = $13::jsonb, node_summaries = $14::jsonb, view_name = $15,
       processed_at = now(), updated_at = now()
     WHERE id = $1`,
    [
      id,
      etag,
      nodes.length,
      job.samples,
      job.energyJ,
      job.energyKwh,
      job.ttsS,
      job.avgPowerW,
      job.peakPowerW,
      job.peakAtS,
      job.edpJs,
      job.costEur,
      JSON.stringify(equivalent),
      JSON.stringify(nodes),
      viewName,
    ],
  );
}

/** `job_<stem>`, lower-case letters, digits and `_` only, within PostgreSQL's 63-byte limit. */
export function viewNameFor(stem: string, suffix = ''): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  const tail = suffix ? `_${clean(suffix)}` : '';
  return `job_${clean(stem)}`.slice(0, 63 - tail.length) + tail;
}

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Picks the view name for a row: `job_<stem>`, or `job_<stem>_<owner>` when another owner's
 * file already has that name (two users' same file name must not overwrite each other).
 */
export async function chooseViewName(tx: Queryable, row: BenchJobRow): Promise<string> {
  if (row.view_name) return row.view_name;
  for (const candidate of [
    viewNameFor(row.stem),
    viewNameFor(row.stem, row.owner),
    viewNameFor(row.stem, `${row.owner}_${row.id}`),
  ]) {
    const taken = await tx.query('SELECT 1 FROM bench_jobs WHERE view_name = $1 AND id <> $2', [
      candidate,
      row.id,
    ]);
    if (taken.rows.length === 0) return candidate;
  }
  return viewNameFor(`${row.stem}_${row.id}`);
}

/** The seed's per-file table, now a view over the normalised samples. */
export async function createView(tx: Queryable, name: string, set: number): Promise<void> {
  if (!Number.isSafeInteger(set)) throw new Error('bad sample set');
  await tx.query(
    `CREATE OR REPLACE VIEW ${quoteIdent(name)} AS
     SELECT node, idx, elapsed_s AS "ElapsedTime", epoch_s AS "EpochTime", power_w AS "NodePower",
       energy_j, energy_counter_j AS "Energy", cpu_frequency AS "CPUFrequency", cpu_time AS "CPUTime",
       cpu_utilization AS "CPUUtilization", gpu_utilization AS "GPUUtilization", gpu_mem_mb AS "GPUMemMB",
       rss AS "RSS", vm_size AS "VMSize", pages AS "Pages", read_mb AS "ReadMB", write_mb AS "WriteMB"
     FROM bench_samples WHERE sample_set = ${set}`,
  );
}

export async function dropView(tx: Queryable, name: string): Promise<void> {
  await tx.query(`DROP VIEW IF EXISTS ${quoteIdent(name)}`);
}

/** Jobs visible to the caller: `owner` null means all (admins). */
export async function list(db: Queryable, owner: string | null, limit: number, offset: number) {
  const r = await db.query<BenchJobRow>(
    `SELECT * FROM bench_jobs WHERE ($1::text IS NULL OR owner = $1)
     ORDER BY updated_at DESC, id DESC LIMIT $2 OFFSET $3`,
    [owner, limit, offset],
  );
  return r.rows;
}

/** The newest profile with this job id visible to the caller. */
export async function byJobId(
  db: Queryable,
  jobId: string,
  owner: string | null,
): Promise<BenchJobRow | null> {
  const r = await db.query<BenchJobRow>(
    `SELECT * FROM bench_jobs WHERE job_id = $1 AND ($2::text IS NULL OR owner = $2)
     ORDER BY updated_at DESC, id DESC LIMIT 1`,
    [jobId, owner],
  );
  return r.rows[0] ?? null;
}

export async function deleteJob(tx: Queryable, row: BenchJobRow): Promise<void> {
  const r = await tx.query<{ sample_set: number | null; pending_set: number | null }>(
    'DELETE FROM bench_jobs WHERE id = $1 RETURNING sample_set, pending_set',
    [row.id],
  );
  for (const set of [r.rows[0]?.sample_set, r.rows[0]?.pending_set])
    if (set !== null && set !== undefined) await deleteSampleSet(tx, set);
}

/**
 * The samples of a profile reduced in SQL to at most `maxPoints` per node: consecutive samples
 * are grouped into equal buckets and averaged (the time is the bucket's first sample).
 */
export async function series(db: Queryable, set: number, columns: readonly string[], maxPoints: number) {
  for (const c of columns) if (!SERIES_COLUMNS.includes(c)) throw new Error(`unknown column ${c}`);
  const r = await db.query<Record<string, number | string | null>>(
    `WITH s AS (
       SELECT node, idx, elapsed_s, ${columns.join(', ')}, count(*) OVER (PARTITION BY node) AS n
       FROM bench_samples WHERE sample_set = $1)
     SELECT node, min(elapsed_s) AS elapsed_s${columns.map((c) => `, avg(${c}) AS ${c}`).join('')}
     FROM s GROUP BY node, floor(idx::float8 * $2 / greatest(n, $2))
     ORDER BY node, min(elapsed_s)`,
    [set, maxPoints],
  );
  return r.rows;
}
