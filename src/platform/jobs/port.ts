/**
 * Durable background jobs in PostgreSQL (PGlite or a server): enqueue in the same transaction
 * as the write that causes the job, at-least-once execution, retries with exponential backoff
 * and jitter, a lease per attempt (a job whose worker died or overran its timeout is run
 * again), cancellation, interval schedules and per-job log lines.
 */
import type { Queryable } from '../db/port.ts';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface EnqueueOptions {
  /** Run no earlier than this (default now). */
  runAt?: Date;
  /** Attempts before the job is marked failed (default 5). */
  maxAttempts?: number;
  /** Milliseconds an attempt may run; also the lease length (default 300000). */
  timeoutMs?: number;
  /** Higher runs first (default 0). */
  priority?: number;
  /**
   * At most one job per key, ever: enqueueing a key that exists returns the existing job
   * (`created: false`) instead of adding another.
   */
  idempotencyKey?: string;
}

export interface JobRecord {
  id: number;
  name: string;
  payload: unknown;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  runAt: Date;
  lastError: string | null;
  idempotencyKey: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface JobLogLine {
  at: Date;
  level: 'info' | 'warn' | 'error';
  attempt: number;
  message: string;
}

/** What a handler gets besides its payload. */
export interface JobContext {
  readonly id: number;
  readonly name: string;
  /** 1 for the first run. */
  readonly attempt: number;
  /** The last attempt the job gets. */
  readonly maxAttempts: number;
  /** Aborted on timeout, cancellation or a shutdown that outlasts the drain. */
  readonly signal: AbortSignal;
  /** Appends a line to the job's log (committed at once, visible while the job runs). */
  log(message: string, level?: JobLogLine['level']): Promise<void>;
}

/** Throw this from a handler for a failure that retrying cannot fix: the job fails at once. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

export type JobHandler = (payload: unknown, ctx: JobContext) => Promise<void>;

export interface JobQueue {
  /** Adds a job inside `tx` (or the database itself); workers are woken when `tx` commits. */
  enqueue(
    tx: Queryable,
    name: string,
    payload: unknown,
    opts?: EnqueueOptions,
  ): Promise<{ id: number; created: boolean }>;
  get(id: number): Promise<JobRecord | null>;
  logs(id: number): Promise<JobLogLine[]>;
  /** Queued jobs never run; a running job's signal is aborted. False when already finished. */
  cancel(id: number): Promise<boolean>;
  /**
   * Declares (or updates) a schedule: every `intervalMs` one job `jobName` is enqueued by
   * whichever worker gets there first (interval schedules, not cron expressions).
   */
  schedule(scheduleName: string, jobName: string, payload: unknown, intervalMs: number): Promise<void>;
}
