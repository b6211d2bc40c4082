import type { Migration } from '../../../platform/db/migrate.ts';

/**
 * Sample sets: a profile's samples are written as a new set, on several connections at once and
 * outside the transaction that publishes them, then one short transaction points the profile at
 * the new set (and deletes the old one). Readers see the old set or the new one, never a mix.
 * `bench_samples.sample_set` (formerly job_ref) names the set; `bench_jobs.sample_set` is the
 * published one and `pending_set` the one being written (deleted on retry after a crash).
 *
 * No per-row B-tree any more: maintaining the (job_ref, node, idx) key cost as much as the rows
 * in `npm run bench -- bench-ingest`. A set is written in one go, so its rows lie together and a
 * BRIN index finds them at next to no cost; uniqueness needs no index because a set is only ever
 * written once, by one processing run.
 */
export const sampleSets: Migration = {
  id: '002_sample_sets',
  up: `
    ALTER TABLE bench_samples DROP CONSTRAINT bench_samples_pkey;
    ALTER TABLE bench_samples RENAME COLUMN job_ref TO sample_set;
    CREATE INDEX bench_samples_set_brin ON bench_samples USING brin (sample_set)
      WITH (pages_per_range = 32, autosummarize = on);
    ALTER TABLE bench_jobs ADD COLUMN sample_set bigint, ADD COLUMN pending_set bigint;
    -- the samples written so far are keyed by their profile's id
    UPDATE bench_jobs SET sample_set = id WHERE samples IS NOT NULL;
    CREATE SEQUENCE bench_sample_sets;
    SELECT setval('bench_sample_sets', greatest((SELECT max(id) FROM bench_jobs), 1));
  `,
};
