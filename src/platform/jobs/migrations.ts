import type { Migration } from '../db/migrate.ts';

/** Tables of the job queue: jobs, their log lines and interval schedules. */
export const JOBS_MIGRATIONS: readonly Migration[] = [
  {
    id: 'jobs_001_init',
    up: `
CREATE TABLE platform_jobs (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  priority integer NOT NULL DEFAULT 0,
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
  timeout_ms integer NOT NULL DEFAULT 300000 CHECK (timeout_ms > 0),
  run_at timestamptz NOT NULL DEFAULT now(),
  locked_by text,
  locked_until timestamptz,
  idempotency_key text UNIQUE,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
-- the claim query scans only work that can run: queued jobs and leases that may have expired
CREATE INDEX platform_jobs_runnable ON platform_jobs (name, run_at) WHERE status IN ('queued', 'running');
CREATE TABLE platform_job_logs (
  id bigserial PRIMARY KEY,
  job_id bigint NOT NULL REFERENCES platform_jobs (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  level text NOT NULL,
  message text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX platform_job_logs_job ON platform_job_logs (job_id, id);
CREATE TABLE platform_job_schedules (
  name text PRIMARY KEY,
  job_name text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  interval_ms bigint NOT NULL CHECK (interval_ms >= 1000),
  next_run_at timestamptz NOT NULL DEFAULT now()
);`,
  },
];
