/**
 * The database port. One implementation (`pg` driver + Kysely) serves both backends: real
 * PostgreSQL through a `pg.Pool`, and embedded PGlite through PGlite's node-postgres adapter,
 * so SQL, type parsing and error codes are the same everywhere.
 */
import type { Kysely } from 'kysely';
import type { QueryResult, QueryResultRow } from 'pg';

export type DatabaseKind = 'pglite' | 'postgres';

/** Anything that runs parameterised SQL: the database itself or a transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/** Apps widen this with their own table types via `db.kysely.withTables<T>()`. */
export type AnyTables = Record<never, never>;

export interface Database extends Queryable {
  readonly kind: DatabaseKind;
  /** Kysely over the same pool; use `withTables<T>()` for an app's typed tables. */
  readonly kysely: Kysely<AnyTables>;
  /**
   * Runs `fn` in one transaction on one connection; commits when it resolves, rolls back when
   * it throws. Retried (with jittered backoff) on serialization failures and deadlocks, so
   * `fn` must be safe to run again.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribes to NOTIFY on `channel`. The handler gets every payload; the returned function
   * unsubscribes. Survives reconnects on PostgreSQL (notifications sent while disconnected are lost,
   * as with PostgreSQL itself; callers that need every event keep them in a table).
   */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /** Round-trip latency in milliseconds; throws when the database is unreachable. */
  ping(): Promise<number>;
  /** Pool figures for /metrics. */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}
