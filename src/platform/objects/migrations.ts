import type { Migration } from '../db/migrate.ts';

/**
 * Object versions seen by any source (store, webhook, rescan), and which subscriber handled
 * which version. A version is (bucket, key, etag, modified): `modified` is its write time in
 * whole seconds (002; 0 for versions recorded before it); `done` means every subscriber that wanted it
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
  {
    // The same content uploaded again under a key (A, B, then A again; or after its job was
    // deleted) is a new version: the write time tells it apart from another announcement of an
    // upload already seen. Rows from before keep 0, so the first rescan after this announces
    // existing objects once more; subscribers' handlers are idempotent (bench finds them done).
    id: 'objects_002_version_time',
    up: `
ALTER TABLE platform_object_versions ADD COLUMN modified bigint NOT NULL DEFAULT 0;
ALTER TABLE platform_object_versions DROP CONSTRAINT platform_object_versions_pkey;
ALTER TABLE platform_object_versions ADD PRIMARY KEY (bucket, key, etag, modified);
ALTER TABLE platform_object_deliveries ADD COLUMN modified bigint NOT NULL DEFAULT 0;
ALTER TABLE platform_object_deliveries DROP CONSTRAINT platform_object_deliveries_pkey;
ALTER TABLE platform_object_deliveries ADD PRIMARY KEY (subscriber, bucket, key, etag, modified);`,
  },
];
