/**
 * The SQL of the job queue, in one place. Every statement takes a `Queryable` so that callers
 * can run it inside their own transaction (enqueue) or on the database (workers).
 */
import type { Database, Queryable } from '../db/port.ts';
import type { EnqueueOptions, JobLogLine, JobQueue, JobRecord, JobStatus } from './port.ts';

/** NOTIFY channel that wakes workers when a job is added (delivered on commit). */
export const JOBS_CHANNEL = 'platform_jobs';

interface JobRow {
  id: number;
  name: string;
  payload: unknown;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  run_at: Date;
  last_error: string | null;
  idempotency_key: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/**
 * The lease outlives the attempt's timeout by this much, so that a live worker records its own
 * timeout before anyone else may take the job over.
 */
export const LEASE_GRACE_MS = 2000;

/** A job a worker holds: its lease is fenced by (locked_by, attempts). */
export interface ClaimedJob {
  id: number;
  name: string;
  payload: unknown;
  attempt: number;
  maxAttempts: number;
  timeoutMs: number;
}

const toRecord = (r: JobRow): JobRecord => ({
  id: r.id,
  name: r.name,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  runAt: r.run_at,
  lastError: r.last_error,
  idempotencyKey: r.idempotency_key,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

/** Retry delay: exponential from 1 s, capped at 10 min, with ±50 % jitter so retries spread. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(600_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random()));
}

export class PgJobQueue implements JobQueue {
  private readonly db: Database;
  constructor(db: Database) {
    this.db = db;
  }

  async enqueue(tx: Queryable, name: string, payload: unknown, opts: EnqueueOptions = {}) {
    const inserted = await tx.query<{ id: number }>(
      `INSERT INTO platform_jobs (name, payload, run_at, max_attempts, timeout_ms, priority, idempotency_key)
       VALUES ($1, $2::jsonb, coalesce($3::timestamptz, now()), $4, $5, $6, $7)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
      [
        name,
        JSON.stringify(payload ?? {}),
        opts.runAt ?? null,
        opts.maxAttempts ?? 5,
        opts.timeoutMs ?? 300_000,
        opts.priority ?? 0,
        opts.idempotencyKey ?? null,
      ],
    );
    const row = inserted.rows[0];
    if (row) {
      await tx.query('SELECT pg_notify($1, $2)', [JOBS_CHANNEL, name]);
      return { id: row.id, created: true };
    }
    const existing = await tx.query<{ id: number }>(
      'SELECT id FROM platform_jobs WHERE idempotency_key = $1',
      [opts.idempotencyKey],
    );
    return { id: existing.rows[0]?.id ?? 0, created: false };
  }

  async get(id: number): Promise<JobRecord | null> {
    const r = await this.db.query<JobRow>('SELECT * FROM platform_jobs WHERE id = $1', [id]);
    return r.rows[0] ? toRecord(r.rows[0]) : null;
  }

  async logs(id: number): Promise<JobLogLine[]> {
    const r = await this.db.query<JobLogLine>(
      'SELECT at, level, attempt, message FROM platform_job_logs WHERE job_id = $1 ORDER BY id',
      [id],
    );
    return r.rows;
  }

  async cancel(id: number): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE platform_jobs SET status = 'cancelled', finished_at = now(), locked_until = NULL
       WHERE id = $1 AND status IN ('queued', 'running')`,
      [id],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async schedule(scheduleName: string, jobName: string, payload: unknown, intervalMs: number) {
    await this.db.query(
      `INSERT INTO platform_job_schedules (name, job_name, payload, interval_ms) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (name) DO UPDATE SET job_name = excluded.job_name, payload = excluded.payload,
         interval_ms = excluded.interval_ms`,
      [scheduleName, jobName, JSON.stringify(payload ?? {}), intervalMs],
    );
  }
}

/**
 * Claims up to `limit` runnable jobs of the given names: queued ones that are due, and running
 * ones whose lease expired (their worker died or overran). Expired jobs with no attempts left
 * are failed first. Rows locked by another claimer are skipped, never waited for.
 */
export async function claimJobs(
  db: Queryable,
  names: readonly string[],
  workerId: string,
  limit: number,
): Promise<ClaimedJob[]> {
  await db.query(
    `UPDATE platform_jobs SET status = 'failed', finished_at = now(), locked_by = NULL, locked_until = NULL,
       last_error = coalesce(last_error || '; ', '') || 'timed out (lease expired) on the last attempt'
     WHERE status = 'running' AND locked_until < now() AND attempts >= max_attempts AND name = ANY($1)`,
    [names],
  );
  const r = await db.query<JobRow>(
    `WITH next AS (
       SELECT id FROM platform_jobs
       WHERE name = ANY($1)
         AND ((status = 'queued' AND run_at <= now()) OR (status = 'running' AND locked_until < now()))
       ORDER BY priority DESC, run_at, id
       LIMIT $3 FOR UPDATE SKIP LOCKED)
     UPDATE platform_jobs j SET status = 'running', attempts = j.attempts + 1, locked_by = $2,
       locked_until = now() + (j.timeout_ms + $4) * interval '1 millisecond', started_at = coalesce(j.started_at, now())
     FROM next WHERE j.id = next.id
     RETURNING j.*`,
    [names, workerId, limit, LEASE_GRACE_MS],
  );
  return r.rows.map((j) => ({
    id: j.id,
    name: j.name,
    payload: j.payload,
    attempt: j.attempts,
    maxAttempts: j.max_attempts,
    timeoutMs: j.timeout_ms,
  }));
}

/** Marks a held job done; false when the lease was lost (reclaimed or cancelled meanwhile). */
export async function completeJob(db: Queryable, job: ClaimedJob, workerId: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE platform_jobs SET status = 'succeeded', finished_at = now(), locked_by = NULL, locked_until = NULL
     WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3`,
    [job.id, workerId, job.attempt],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Records a failed attempt: back to the queue after a backoff, or failed for good. */
export async function failJob(
  db: Queryable,
  job: ClaimedJob,
  workerId: string,
  error: string,
  permanent: boolean,
): Promise<'retry' | 'failed' | 'lost'> {
  const retry = !permanent && job.attempt < job.maxAttempts;
  const r = await db.query(
    `UPDATE platform_jobs SET status = $4, last_error = $5, locked_by = NULL, locked_until = NULL,
       run_at = CASE WHEN $4 = 'queued' THEN now() + $6 * interval '1 millisecond' ELSE run_at END,
       finished_at = CASE WHEN $4 = 'failed' THEN now() ELSE NULL END
     WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3`,
    [
      job.id,
      workerId,
      job.attempt,
      retry ? 'queued' : 'failed',
      error.slice(0, 4000),
      backoffMs(job.attempt),
    ],
  );
  if ((r.rowCount ?? 0) === 0) return 'lost';
  return retry ? 'retry' : 'failed';
}

/** Ids among `ids` that are no longer running under this worker (cancelled or reclaimed). */
export async function lostJobs(db: Queryable, ids: number[], workerId: string): Promise<number[]> {
  if (ids.length === 0) return [];
  const r = await db.query<{ id: number }>(
    `SELECT id FROM unnest($1::bigint[]) AS t(id)
     WHERE NOT EXISTS (SELECT 1 FROM platform_jobs j WHERE j.id = t.id AND j.status = 'running' AND j.locked_by = $2)`,
    [ids, workerId],
  );
  return r.rows.map((x) => x.id);
}

export async function appendLog(
  db: Queryable,
  jobId: number,
  attempt: number,
  level: string,
  message: string,
): Promise<void> {
  await db.query('INSERT INTO platform_job_logs (job_id, attempt, level, message) VALUES ($1, $2, $3, $4)', [
    jobId,
    attempt,
    level,
    message.slice(0, 4000),
  ]);
}

/** Enqueues one job per due schedule and moves the schedule on; concurrent workers skip locked rows. */
export async function runDueSchedules(
  db: Database,
  queue: JobQueue,
  names: readonly string[],
): Promise<number> {
  return db.transaction(async (tx) => {
    const due = await tx.query<{
      name: string;
      job_name: string;
      payload: unknown;
      slot: Date;
      interval_ms: number;
    }>(
      `SELECT name, job_name, payload, next_run_at AS slot, interval_ms FROM platform_job_schedules
       WHERE next_run_at <= now() AND job_name = ANY($1) FOR UPDATE SKIP LOCKED`,
      [names],
    );
    for (const s of due.rows) {
      await queue.enqueue(tx, s.job_name, s.payload, {
        idempotencyKey: `schedule:${s.name}:${s.slot.toISOString()}`,
        maxAttempts: 1,
      });
      // skip missed slots instead of running a burst after downtime
      await tx.query(
        `UPDATE platform_job_schedules SET next_run_at = next_run_at + interval_ms * interval '1 millisecond'
           * greatest(1, ceil(extract(epoch FROM (now() - next_run_at)) * 1000 / interval_ms))
         WHERE name = $1`,
        [s.name],
      );
    }
    return due.rows.length;
  });
}
