/**
 * The `live_events` table: recent events of durable topics (for clients that reconnect) and
 * events too large for a NOTIFY payload (fetched by id by the other instances). Ids per topic
 * come from `live_topics`, whose row lock serialises concurrent publishers of one topic across
 * instances, so ids increase in commit order.
 */
import type { Migration } from '../db/migrate.ts';
import type { Database } from '../db/port.ts';
import type { LiveEvent } from './port.ts';
import { patternToLike } from './topics.ts';

export const LIVE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'live_001_events',
    up: `
      CREATE TABLE live_topics (
        topic text PRIMARY KEY,
        last_id bigint NOT NULL,
        -- size of the last batch that took ids, so the upsert can hand out a range
        last_batch integer NOT NULL
      );
      CREATE TABLE live_events (
        topic text NOT NULL,
        id bigint NOT NULL,
        ts timestamptz NOT NULL,
        data jsonb NOT NULL,
        -- false: kept only so other instances can fetch an oversized event; never replayed
        durable boolean NOT NULL,
        PRIMARY KEY (topic, id)
      );
      CREATE INDEX live_events_id ON live_events (id) WHERE durable;
      CREATE INDEX live_events_ts ON live_events (ts);`,
  },
];

/** An event as read back, with `data` still as JSON text (sent to sockets as is). */
export interface StoredEvent {
  event: LiveEvent;
  dataJson: string;
}

export interface AppendItem {
  topic: string;
  ts: string;
  dataJson: string;
  /** Smallest id acceptable for this event (time-derived), so ids stay comparable across topics. */
  floor: number;
}

export interface Retention {
  /** Durable events kept per topic. */
  perTopic: number;
  /** Durable events older than this are dropped. */
  maxAgeMinutes: number;
}

interface Row {
  topic: string;
  id: number;
  ts: Date;
  data: string;
}

const toStored = (r: Row): StoredEvent => ({
  event: { topic: r.topic, id: r.id, ts: r.ts.toISOString(), data: JSON.parse(r.data) as unknown },
  dataJson: r.data,
});

export class LiveStore {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** live.append: takes ids for a batch of durable events and writes them, in one transaction. */
  async append(items: readonly AppendItem[]): Promise<number[]> {
    const byTopic = new Map<string, { n: number; floor: number }>();
    for (const it of items) {
      const t = byTopic.get(it.topic);
      if (t) t.n++;
      else byTopic.set(it.topic, { n: 1, floor: it.floor });
    }
    const topics = [...byTopic.keys()].sort(); // one lock order everywhere: no deadlocks
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ topic: string; last_id: number; last_batch: number }>(
        `INSERT INTO live_topics (topic, last_id, last_batch)
         SELECT t, f + n - 1, n FROM unnest($1::text[], $2::int[], $3::bigint[]) AS u(t, n, f) ORDER BY t
         ON CONFLICT (topic) DO UPDATE
           SET last_id = GREATEST(live_topics.last_id + EXCLUDED.last_batch, EXCLUDED.last_id),
               last_batch = EXCLUDED.last_batch
         RETURNING topic, last_id, last_batch`,
        [topics, topics.map((t) => byTopic.get(t)?.n), topics.map((t) => byTopic.get(t)?.floor)],
      );
      const next = new Map(rows.map((r) => [r.topic, r.last_id - r.last_batch + 1]));
      const ids = items.map((it) => {
        const id = next.get(it.topic) as number;
        next.set(it.topic, id + 1);
        return id;
      });
      await tx.query(
        `INSERT INTO live_events (topic, id, ts, data, durable)
         SELECT t, i, ts, d::jsonb, true
         FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::text[]) AS u(t, i, ts, d)`,
        [items.map((it) => it.topic), ids, items.map((it) => it.ts), items.map((it) => it.dataJson)],
      );
      return ids;
    });
  }

  /** live.keep_oversized: stores non-durable events that other instances will fetch by id. */
  async keep(events: readonly { event: LiveEvent; dataJson: string }[]): Promise<void> {
    await this.db.query(
      `INSERT INTO live_events (topic, id, ts, data, durable)
       SELECT t, i, ts, d::jsonb, false
       FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::text[]) AS u(t, i, ts, d)
       ON CONFLICT (topic, id) DO NOTHING`,
      [
        events.map((e) => e.event.topic),
        events.map((e) => e.event.id),
        events.map((e) => e.event.ts),
        events.map((e) => e.dataJson),
      ],
    );
  }

  /** live.fetch: events by (topic, id), in the order asked; missing ones (pruned) are skipped. */
  async fetch(refs: readonly (readonly [string, number])[]): Promise<StoredEvent[]> {
    if (refs.length === 0) return [];
    const { rows } = await this.db.query<Row>(
      `SELECT e.topic, e.id, e.ts, e.data::text AS data
       FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS r(t, i, n)
       JOIN live_events e ON e.topic = r.t AND e.id = r.i
       ORDER BY r.n`,
      [refs.map((r) => r[0]), refs.map((r) => r[1])],
    );
    return rows.map(toStored);
  }

  /**
   * live.replay: durable events after `since` on topics matching any pattern: the latest
   * `limit` of them (so that they join up with what follows live), oldest first.
   */
  async replay(patterns: readonly string[], since: number, limit: number): Promise<StoredEvent[]> {
    if (patterns.length === 0) return [];
    const { rows } = await this.db.query<Row>(
      `SELECT * FROM (
         SELECT topic, id, ts, data::text AS data FROM live_events
         WHERE durable AND id > $2 AND topic LIKE ANY ($1::text[])
         ORDER BY id DESC, topic DESC LIMIT $3) latest
       ORDER BY id, topic`,
      [patterns.map(patternToLike), since, limit],
    );
    return rows.map(toStored);
  }

  /** live.prune: bounds the table by age and by count per topic; returns rows deleted. */
  async prune(retention: Retention): Promise<number> {
    const old = await this.db.query(
      `DELETE FROM live_events
       WHERE ts < now() - make_interval(mins => $1) OR (NOT durable AND ts < now() - interval '5 minutes')`,
      [retention.maxAgeMinutes],
    );
    const excess = await this.db.query(
      `DELETE FROM live_events e USING (
         SELECT topic, id FROM (
           SELECT topic, id, row_number() OVER (PARTITION BY topic ORDER BY id DESC) AS rn
           FROM live_events WHERE durable) ranked
         WHERE rn > $1) x
       WHERE e.topic = x.topic AND e.id = x.id`,
      [retention.perTopic],
    );
    return (old.rowCount ?? 0) + (excess.rowCount ?? 0);
  }
}
