/**
 * Object storage: the embedded store (files under DATA_DIR/objects, URLs signed by the server)
 * or any S3 API. Keys are `<username>/<object name>`. Implementations map their own errors onto
 * this contract: a missing object is `null` from `head`/`open` and a no-op for `delete`.
 * Every method refuses an invalid key (see `keys.ts`) with a 400 AppError; the embedded store
 * refuses a key that is both an object and a folder (`a/b` and `a/b/c`) with 409, and objects
 * over its size limit with 413. ETags are bare (no quotes).
 */
import type { Readable } from 'node:stream';
import type { Queryable } from '../db/port.ts';

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  contentType?: string;
}

export interface PresignedUrl {
  url: string;
  /** Seconds the URL stays valid, true to the URL itself. */
  expiresIn: number;
}

export interface ObjectStore {
  readonly bucket: string;
  /** Resolves when the store can be used (bucket reachable); throws otherwise. For `/ready`. */
  ready(): Promise<void>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Streams the object; `null` when absent. The caller must consume or destroy the stream. */
  open(key: string): Promise<Readable | null>;
  put(
    key: string,
    body: Buffer | Readable,
    opts?: { contentType?: string; size?: number },
  ): Promise<ObjectInfo>;
  delete(key: string): Promise<void>;
  /** Every object under `prefix` (all pages). */
  list(prefix: string): Promise<ObjectInfo[]>;
  presignUpload(key: string, expiresIn: number): Promise<PresignedUrl>;
  presignDownload(key: string, expiresIn: number): Promise<PresignedUrl>;
  /**
   * Where the store keeps objects on local disk: makes the object's current content appear at the
   * local path `dest` without copying it (a hard link, so a later version does not change it).
   * False when it cannot (absent object, `dest` on another file system): then use `open`.
   */
  linkTo?(key: string, dest: string): Promise<boolean>;
}

/** One new object version, as every source (store, webhook, rescan) reports it. */
export interface ObjectEvent {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /**
   * When this version was written, as the store reports it. With the ETag it names the version:
   * uploading content that the key held before (A, then B, then A again) is a new version, while
   * every source announcing the same upload agrees on both.
   */
  lastModified?: Date;
}

/**
 * A version's write time in whole seconds (S3 gives seconds from HEAD and milliseconds from LIST),
 * 0 when the source did not say.
 */
export const modifiedSeconds = (e: Pick<ObjectEvent, 'lastModified'>): number =>
  e.lastModified ? Math.max(0, Math.floor(e.lastModified.getTime() / 1000)) : 0;

/** `etag@seconds`: a name for the version, for idempotency keys and logs. */
export const versionOf = (e: ObjectEvent): string => `${e.etag}@${modifiedSeconds(e)}`;

/**
 * Sources: the embedded store after each completed put, `POST /minio-event` (S3 notifications)
 * and a periodic rescan of the bucket (OBJECT_RESCAN_INTERVAL_SECONDS, one instance at a time).
 * Subscribe while the app starts (`start`), before events flow. A subscriber only sees versions
 * that were not yet fully handled when it subscribed: an app enabled later does not get the
 * bucket's history replayed (it can list the store itself).
 */
export interface ObjectEvents {
  /**
   * Calls `handler` once per new object version (ETag and write time) whose key `filter`
   * accepts, however many sources announce it and across restarts. The handler runs inside the
   * transaction that records the version as seen, so work it enqueues with `tx` commits
   * atomically with that record; if it throws, the version stays unseen and a later announcement or rescan retries it.
   * Each subscriber is handled in its own transaction: one failing does not hold back another.
   * `name` must be unique and stable (it keys the delivery records across restarts).
   */
  subscribe(
    name: string,
    filter: (key: string) => boolean,
    handler: (event: ObjectEvent, tx: Queryable) => Promise<void>,
  ): void;
}

/** S3 ETags come quoted from HEAD/LIST and bare in event notifications: compare them bare. */
export const bareEtag = (etag: string | undefined) => (etag ?? '').replace(/^W\//, '').replace(/"/g, '');
