/**
 * Object events: every source (the embedded store after a put, the S3 webhook, the rescan)
 * calls {@link ObjectEventHub.announce}; each subscriber whose filter accepts the key gets the
 * version once. A version is the ETag with the write time in whole seconds, so content a key held
 * before, uploaded again, is new. Exactly-once per (subscriber, bucket, key, version) comes from the delivery row
 * inserted in the same transaction the handler runs in: a concurrent announcer blocks on the
 * row and then finds it taken; a handler that throws rolls its row back, so a later announcement
 * or rescan retries it. A version is `done` once every subscriber that wanted it has it, and
 * the rescan skips done versions.
 */
import type { Logger } from 'pino';
import type { Stoppable } from '../app.ts';
import type { PgDatabase } from '../db/pg-database.ts';
import type { Queryable } from '../db/port.ts';
import { modifiedSeconds, type ObjectEvent, type ObjectEvents, type ObjectStore } from './port.ts';

interface Subscriber {
  name: string;
  filter: (key: string) => boolean;
  handler: (event: ObjectEvent, tx: Queryable) => Promise<void>;
}

export type EventSource = 'store' | 'webhook' | 'rescan';

export interface Announced {
  event: ObjectEvent;
  /** Subscribers whose filter accepted the key (whether or not this call delivered it). */
  subscribers: string[];
  /** Subscribers that got the event during this call. */
  delivered: string[];
  /** Subscribers whose handler threw (retried later). */
  failed: string[];
}

/** Advisory-lock key that makes one instance the rescanning leader ('objs'). */
const RESCAN_LOCK = 0x6f626a73;
const BATCH = 500;

export class ObjectEventHub implements ObjectEvents {
  private readonly subscribers: Subscriber[] = [];
  private readonly db: PgDatabase;
  private readonly store: ObjectStore;
  private readonly log: Logger;

  constructor(opts: { db: PgDatabase; store: ObjectStore; log: Logger }) {
    this.db = opts.db;
    this.store = opts.store;
    this.log = opts.log;
  }

  subscribe(
    name: string,
    filter: (key: string) => boolean,
    handler: (event: ObjectEvent, tx: Queryable) => Promise<void>,
  ): void {
    if (this.subscribers.some((s) => s.name === name))
      throw new Error(`object event subscriber ${name} exists`);
    this.subscribers.push({ name, filter, handler });
  }

  /** Which subscribers want `key` (the webhook reports it per subscriber). */
  interestedIn(key: string): string[] {
    return this.subscribers.filter((s) => s.filter(key)).map((s) => s.name);
  }

  async announce(event: ObjectEvent, source: EventSource): Promise<Announced> {
    const wanted = this.subscribers.filter((s) => s.filter(event.key));
    const result: Announced = { event, subscribers: wanted.map((s) => s.name), delivered: [], failed: [] };
    const modified = modifiedSeconds(event);
    const inserted = await this.db.query<{ done: boolean }>(
      `INSERT INTO platform_object_versions (bucket, key, etag, modified, size, source, done)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING done`,
      [event.bucket, event.key, event.etag, modified, event.size, source, wanted.length === 0],
    );
    if (inserted.rows.length === 0) {
      const { rows } = await this.db.query<{ done: boolean }>(
        `SELECT done FROM platform_object_versions
          WHERE bucket = $1 AND key = $2 AND etag = $3 AND modified = $4`,
        [event.bucket, event.key, event.etag, modified],
      );
      if (rows[0]?.done) return result;
    }
    for (const s of wanted) {
      try {
        const delivered = await this.db.transaction(async (tx) => {
          const claim = await tx.query(
            `INSERT INTO platform_object_deliveries (subscriber, bucket, key, etag, modified)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1`,
            [s.name, event.bucket, event.key, event.etag, modified],
          );
          if (claim.rows.length === 0) return false;
          await s.handler(event, tx);
          return true;
        });
        if (delivered) result.delivered.push(s.name);
      } catch (e) {
        result.failed.push(s.name);
        this.log.error({ err: e, subscriber: s.name, key: event.key, source }, 'object event handler failed');
      }
    }
    if (wanted.length > 0 && result.failed.length === 0) {
      await this.db.query(
        `UPDATE platform_object_versions SET done = true
          WHERE bucket = $1 AND key = $2 AND etag = $3 AND modified = $4`,
        [event.bucket, event.key, event.etag, modified],
      );
    }
    return result;
  }

  /**
   * Lists the whole bucket and announces every version not yet done. Only one instance scans at
   * a time (session advisory lock on PostgreSQL; PGlite has a single process by construction).
   * Returns `null` when another instance holds the lock.
   */
  async rescan(): Promise<{ listed: number; announced: number } | null> {
    const release = await this.lead();
    if (release === null) return null;
    try {
      const objects = await this.store.list('');
      let announced = 0;
      for (let i = 0; i < objects.length; i += BATCH) {
        const batch = objects.slice(i, i + BATCH);
        const { rows } = await this.db.query<{ key: string; etag: string; modified: string }>(
          `SELECT key, etag, modified FROM platform_object_versions
            WHERE bucket = $1 AND key = ANY($2) AND done`,
          [this.store.bucket, batch.map((o) => o.key)],
        );
        const done = new Set(rows.map((r) => `${r.etag}@${r.modified}\n${r.key}`));
        for (const o of batch) {
          const version = {
            bucket: this.store.bucket,
            key: o.key,
            size: o.size,
            etag: o.etag,
            lastModified: o.lastModified,
          };
          if (done.has(`${o.etag}@${modifiedSeconds(version)}\n${o.key}`)) continue;
          await this.announce(version, 'rescan');
          announced++;
        }
      }
      return { listed: objects.length, announced };
    } finally {
      await release();
    }
  }

  private async lead(): Promise<(() => Promise<void>) | null> {
    if (this.db.kind === 'pglite') return async () => undefined;
    const client = await this.db.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        RESCAN_LOCK,
      ]);
      if (rows[0]?.ok) {
        return async () => {
          await client.query('SELECT pg_advisory_unlock($1)', [RESCAN_LOCK]).catch(() => undefined);
          client.release();
        };
      }
    } catch (e) {
      client.release();
      throw e;
    }
    client.release();
    return null;
  }

  /** Rescans every `intervalSeconds` (first one right after start); stop waits for a running scan. */
  startRescans(intervalSeconds: number): Stoppable {
    if (intervalSeconds <= 0) return { stop: async () => undefined };
    let running: Promise<unknown> = Promise.resolve();
    let busy = false;
    const tick = () => {
      if (busy) return; // a slow scan is still going: skip this turn rather than pile up
      busy = true;
      running = this.rescan()
        .then(
          (r) => {
            if (r && r.announced > 0) this.log.info(r, 'object rescan announced unseen versions');
          },
          (e: unknown) => this.log.error({ err: e }, 'object rescan failed'),
        )
        .finally(() => {
          busy = false;
        });
    };
    const first = setTimeout(tick, 1000);
    const timer = setInterval(tick, intervalSeconds * 1000);
    first.unref();
    timer.unref();
    return {
      stop: async () => {
        clearTimeout(first);
        clearInterval(timer);
        await running;
      },
    };
  }
}
