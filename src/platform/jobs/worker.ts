/**
 * Runs jobs: claims work with `FOR UPDATE SKIP LOCKED` when woken by NOTIFY, by a poll timer
 * (the fallback when a notification is lost) or when a slot frees up; runs up to `concurrency`
 * handlers at once, each with a timeout; stops claiming and drains on `stop()`.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import type { Database } from '../db/port.ts';
import type { Stoppable } from '../app.ts';
import { PermanentJobError, type JobContext, type JobHandler, type JobQueue } from './port.ts';
import {
  JOBS_CHANNEL,
  appendLog,
  claimJobs,
  completeJob,
  failJob,
  lostJobs,
  runDueSchedules,
  type ClaimedJob,
} from './queue.ts';

export interface WorkerOptions {
  db: Database;
  queue: JobQueue;
  log: Logger;
  handlers: ReadonlyMap<string, JobHandler>;
  /** Jobs run at once by this worker (default 2). */
  concurrency?: number;
  /** Poll interval in ms, the fallback for lost notifications and expired leases (default 2000). */
  pollMs?: number;
  /** How long `stop()` waits for running jobs before aborting them (default 10000). */
  drainMs?: number;
  /** Unique id written as `locked_by` (default host:pid:random). */
  workerId?: string;
}

interface Running {
  job: ClaimedJob;
  controller: AbortController;
  done: Promise<void>;
}

export class JobWorker implements Stoppable {
  readonly workerId: string;
  private readonly opts: Required<Omit<WorkerOptions, 'workerId'>>;
  private readonly running = new Map<number, Running>();
  private readonly names: string[];
  private stopped = false;
  private filling: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;

  constructor(opts: WorkerOptions) {
    this.workerId = opts.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.opts = { concurrency: 2, pollMs: 2000, drainMs: 10_000, ...opts };
    this.names = [...opts.handlers.keys()];
  }

  async start(): Promise<void> {
    this.unlisten = await this.opts.db.listen(JOBS_CHANNEL, (name) => {
      if (this.names.includes(name)) this.wake();
    });
    this.timer = setInterval(() => this.tick(), this.opts.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Claims work now (coalesces concurrent calls). */
  wake(): void {
    if (this.stopped) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = this.fill()
      .catch((e: unknown) => this.opts.log.warn({ err: e }, 'claiming jobs failed'))
      .finally(() => {
        this.filling = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private tick(): void {
    void this.checkLost();
    void runDueSchedules(this.opts.db, this.opts.queue, this.names).then(
      () => undefined,
      (e: unknown) => this.opts.log.warn({ err: e }, 'schedules failed'),
    );
    this.wake();
  }

  private async fill(): Promise<void> {
    while (!this.stopped) {
      const free = this.opts.concurrency - this.running.size;
      if (free <= 0 || this.names.length === 0) return;
      const jobs = await claimJobs(this.opts.db, this.names, this.workerId, free);
      for (const job of jobs) this.run(job);
      if (jobs.length < free) return;
    }
  }

  /** Aborts handlers whose job was cancelled or taken over by another worker. */
  private async checkLost(): Promise<void> {
    try {
      const lost = await lostJobs(this.opts.db, [...this.running.keys()], this.workerId);
      for (const id of lost) this.running.get(id)?.controller.abort(new Error('job cancelled or lease lost'));
    } catch (e) {
      this.opts.log.warn({ err: e }, 'checking running jobs failed');
    }
  }

  private run(job: ClaimedJob): void {
    const handler = this.opts.handlers.get(job.name);
    const controller = new AbortController();
    const timeout = setTimeout(
      () => controller.abort(new Error(`timed out after ${job.timeoutMs} ms`)),
      job.timeoutMs,
    );
    const { db, log } = this.opts;
    const ctx: JobContext = {
      id: job.id,
      name: job.name,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
      signal: controller.signal,
      log: (message, level = 'info') => appendLog(db, job.id, job.attempt, level, message),
    };
    const done = (async () => {
      try {
        if (!handler) throw new PermanentJobError(`no handler for job '${job.name}'`);
        await ctx.log(`attempt ${job.attempt} started by ${this.workerId}`);
        await Promise.race([handler(job.payload, ctx), aborted(controller.signal)]);
        await completeJob(db, job, this.workerId);
      } catch (thrown) {
        // a handler that honours the signal rejects with its own error: report why it was stopped
        const e: unknown = controller.signal.aborted ? controller.signal.reason : thrown;
        const message = e instanceof Error ? e.message : String(e);
        const permanent = e instanceof PermanentJobError;
        await ctx.log(message, 'error').catch(() => undefined);
        const outcome = await failJob(db, job, this.workerId, message, permanent);
        log.warn({ job: job.id, name: job.name, attempt: job.attempt, outcome, err: message }, 'job failed');
      } finally {
        clearTimeout(timeout);
        this.running.delete(job.id);
        this.wake();
      }
    })().catch((e: unknown) => log.error({ err: e, job: job.id }, 'recording the job outcome failed'));
    this.running.set(job.id, { job, controller, done });
  }

  /** Stops claiming, waits up to `drainMs` for running jobs, then aborts the rest. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.filling;
    await this.unlisten?.().catch(() => undefined);
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      all().then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.opts.drainMs))),
    ]);
    clearTimeout(timer);
    if (!drained) {
      for (const r of this.running.values()) r.controller.abort(new Error('worker shutting down'));
      await all();
    }
  }

  /** Jobs this worker is running now (tests, metrics). */
  get active(): number {
    return this.running.size;
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
