import type { Migration } from '../db/migrate.ts';

/**
 * Object versions seen by any source (store, webhook, rescan), and which subscriber handled
 * which version. A version is (bucket, key, etag); `done` means every subscriber that wanted it
 * has handled it, so the rescan can skip it.
 */
export const OBJECTS_MIGRATIONS: readonly Migration[] = [
  {
    id: 'objects_001_versions',
    up: `
CREATE TABLE platform_object_versions (
  bucket text NOT NULL,
  key text NOT NULL,
  etag text NOT NULL,
  size bigint NOT NULL,
  source text NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  done boolean NOT NULL DEFAULT false,
  PRIMARY KEY (bucket, key, etag)
);

CREATE TABLE platform_object_deliveries (
  subscriber text NOT NULL,
  bucket text NOT NULL,
  key text NOT NULL,
  etag text NOT NULL,
  delivered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscriber, bucket, key, etag)
);`,
  },
];
