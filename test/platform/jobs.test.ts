import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/platform/db/migrate.ts';
import { PLATFORM_MIGRATIONS } from '../../src/platform/migrations.ts';
import { PermanentJobError, type JobHandler } from '../../src/platform/jobs/port.ts';
import { PgJobQueue, backoffMs, claimJobs } from '../../src/platform/jobs/queue.ts';
import { JobWorker } from '../../src/platform/jobs/worker.ts';
import { backends, freshDatabase, silentLog, type TestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

describe('backoff', () => {
  it('grows exponentially with jitter within ±50 %', () => {
    expect(backoffMs(1, () => 0)).toBe(500);
    expect(backoffMs(1, () => 0.999)).toBe(1499);
    expect(backoffMs(4, () => 0.5)).toBe(8000);
    expect(backoffMs(30, () => 0.5)).toBe(600_000);
  });
});

describe.each(backends())('job queue on %s', (backend) => {
  let t: TestDatabase;
  let queue: PgJobQueue;
  const workers: JobWorker[] = [];
  beforeEach(async () => {
    t = await freshDatabase(backend);
    await runMigrations(t.db, [{ owner: 'platform', migrations: PLATFORM_MIGRATIONS }], silentLog);
    queue = new PgJobQueue(t.db);
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    await t.dispose();
  });

  const worker = async (handlers: Record<string, JobHandler>, extra: { workerId?: string } = {}) => {
    const w = new JobWorker({
      db: t.db,
      queue,
      log: silentLog,
      handlers: new Map(Object.entries(handlers)),
      pollMs: 100,
      drainMs: 2000,
      ...extra,
    });
    workers.push(w);
    await w.start();
    return w;
  };
  const status = async (id: number) => (await queue.get(id))?.status;

  it('enqueues inside a transaction: rolled back, no job; committed, it runs with its payload', async () => {
    await expect(
      t.db.transaction(async (tx) => {
        await queue.enqueue(tx, 'echo', { n: 1 });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect((await t.db.query('SELECT count(*)::int AS n FROM platform_jobs')).rows[0]).toEqual({ n: 0 });
    const seen: unknown[] = [];
    await worker({
      echo: async (p, ctx) => {
        seen.push(p);
        await ctx.log('hello from the handler');
      },
    });
    const { id } = await t.db.transaction((tx) => queue.enqueue(tx, 'echo', { n: 2 }));
    await waitFor(async () => (await status(id)) === 'succeeded', 10_000, 'job to succeed');
    expect(seen).toEqual([{ n: 2 }]);
    const logs = await queue.logs(id);
    expect(logs.map((l) => l.message)).toContain('hello from the handler');
  });

  it('gives one job per idempotency key', async () => {
    const a = await queue.enqueue(t.db, 'x', {}, { idempotencyKey: 'k1' });
    const b = await queue.enqueue(t.db, 'x', {}, { idempotencyKey: 'k1' });
    expect(a.created).toBe(true);
    expect(b).toEqual({ id: a.id, created: false });
  });

  it('retries a failing job with backoff, then succeeds; a permanent error fails at once', async () => {
    let calls = 0;
    await worker({
      flaky: async () => {
        calls++;
        if (calls === 1) throw new Error('first attempt fails');
      },
      broken: () => Promise.reject(new PermanentJobError('cannot be fixed by retrying')),
    });
    const flaky = await queue.enqueue(t.db, 'flaky', {}, { maxAttempts: 3 });
    const broken = await queue.enqueue(t.db, 'broken', {}, { maxAttempts: 3 });
    await waitFor(async () => (await status(flaky.id)) === 'succeeded', 10_000, 'retry');
    await waitFor(async () => (await status(broken.id)) === 'failed', 10_000, 'failure');
    const f = await queue.get(flaky.id);
    expect(f?.attempts).toBe(2);
    expect(f?.lastError).toBe('first attempt fails');
    const b = await queue.get(broken.id);
    expect(b?.attempts).toBe(1);
    expect(b?.lastError).toBe('cannot be fixed by retrying');
  });

  it('resumes a job whose worker died once its lease expires', async () => {
    const { id } = await queue.enqueue(t.db, 'resume', {}, { timeoutMs: 300 });
    // a worker that claims and then vanishes
    const claimed = await claimJobs(t.db, ['resume'], 'dead-worker', 1);
    expect(claimed.map((j) => j.id)).toEqual([id]);
    const runs: number[] = [];
    await worker({
      resume: (_p, ctx) => {
        runs.push(ctx.attempt);
        return Promise.resolve();
      },
    });
    await waitFor(async () => (await status(id)) === 'succeeded', 10_000, 'resumed job');
    expect(runs).toEqual([2]);
  });

  it('times out a hanging attempt and fails it after the last attempt', async () => {
    await worker({
      hang: (_p, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))),
    });
    const { id } = await queue.enqueue(t.db, 'hang', {}, { timeoutMs: 200, maxAttempts: 1 });
    await waitFor(async () => (await status(id)) === 'failed', 10_000, 'timeout');
    expect((await queue.get(id))?.lastError).toMatch(/timed out after 200 ms/);
  });

  it('cancels queued and running jobs', async () => {
    const queued = await queue.enqueue(t.db, 'slow', {}, { runAt: new Date(Date.now() + 60_000) });
    expect(await queue.cancel(queued.id)).toBe(true);
    let aborted = false;
    await worker({
      slow: (_p, ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('cancelled'));
          }),
        ),
    });
    const running = await queue.enqueue(t.db, 'slow', {});
    await waitFor(async () => (await status(running.id)) === 'running', 10_000, 'start');
    expect(await queue.cancel(running.id)).toBe(true);
    await waitFor(() => aborted, 10_000, 'abort');
    expect(await status(running.id)).toBe('cancelled');
    expect(await status(queued.id)).toBe('cancelled');
    expect(await queue.cancel(running.id)).toBe(false);
  });

  it('runs interval schedules once per slot across two workers', async () => {
    let runs = 0;
    const tick = () => {
      runs++;
      return Promise.resolve();
    };
    await worker({ tick }, { workerId: 'w1' });
    await worker({ tick }, { workerId: 'w2' });
    await queue.schedule('every-minute', 'tick', {}, 60_000);
    await waitFor(() => runs >= 1, 10_000, 'scheduled run');
    const n = await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM platform_jobs WHERE name = 'tick'",
    );
    expect(n.rows[0]?.n).toBe(1);
  });

  it('drains a running job on stop', async () => {
    let finished = false;
    const w = await worker({
      work: async () => {
        await new Promise((r) => setTimeout(r, 200));
        finished = true;
      },
    });
    const { id } = await queue.enqueue(t.db, 'work', {});
    await waitFor(() => w.active > 0, 10_000, 'job start');
    await w.stop();
    expect(finished).toBe(true);
    expect(await status(id)).toBe('succeeded');
  });
});
