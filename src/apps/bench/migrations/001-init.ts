import type { Migration } from '../../../platform/db/migrate.ts';

/** One row per profile object (owner + key), its summary, and its samples in typed columns. */
export const init: Migration = {
  id: '001_init',
  up: `
CREATE TABLE bench_jobs (
  id bigserial PRIMARY KEY,
  owner text NOT NULL,
  bucket text NOT NULL,
  object_key text NOT NULL,
  etag text NOT NULL,
  size bigint,
  stem text NOT NULL,
  job_id text NOT NULL,
  view_name text UNIQUE,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'succeeded', 'failed')),
  error text,
  queue_job_id bigint,
  processed_etag text,
  nodes integer,
  samples bigint,
  energy_j double precision,
  energy_kwh double precision,
  tts_s double precision,
  avg_power_w double precision,
  peak_power_w double precision,
  peak_at_s double precision,
  edp_js double precision,
  cost_eur double precision,
  equivalent jsonb,
  node_summaries jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz,
  UNIQUE (bucket, object_key)
);
CREATE INDEX bench_jobs_owner_job ON bench_jobs (owner, job_id);
-- no foreign key: its per-row check costs more than the insert at a million rows; samples are
-- only written and deleted together with their bench_jobs row, in one transaction
CREATE TABLE bench_samples (
  job_ref bigint NOT NULL,
  node text NOT NULL,
  idx integer NOT NULL,
  elapsed_s double precision NOT NULL,
  epoch_s double precision,
  power_w double precision,
  energy_j double precision,
  energy_counter_j double precision,
  cpu_frequency double precision,
  cpu_time double precision,
  cpu_utilization double precision,
  gpu_utilization double precision,
  gpu_mem_mb double precision,
  rss double precision,
  vm_size double precision,
  pages double precision,
  read_mb double precision,
  write_mb double precision,
  PRIMARY KEY (job_ref, node, idx)
);`,
};
