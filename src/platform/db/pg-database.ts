import { createRequire } from 'node:module';
import type * as KyselyModule from 'kysely';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { QueryResult, QueryResultRow } from 'pg';
import type { Logger } from 'pino';
import { asError } from '../errors.ts';
import type { AnyTables, Database, DatabaseKind, Queryable } from './port.ts';

const require = createRequire(import.meta.url);

/** SQLSTATEs worth retrying a whole transaction for (serialization failure, deadlock). */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

/** Parses int8 and numeric as JS numbers (the values here are counts and measurements, not money). */
export const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    // pg's own parser table is typed `any`; every entry is a (text) => value function.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
    const parse: (value: string) => unknown =
      format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
    return parse;
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export interface ListenBackend {
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** A Database over any `pg.Pool`; `listener` supplies LISTEN (PGlite and PostgreSQL differ there). */
export class PgDatabase implements Database {
  readonly kind: DatabaseKind;
  readonly pool: pg.Pool;
  private kyselyInstance: Kysely<AnyTables> | null = null;
  private readonly listener: ListenBackend;
  private readonly onClose: () => Promise<void>;
  private readonly log: Logger;

  constructor(opts: {
    kind: DatabaseKind;
    pool: pg.Pool;
    listener: ListenBackend;
    log: Logger;
    onClose?: () => Promise<void>;
  }) {
    this.kind = opts.kind;
    this.pool = opts.pool;
    this.listener = opts.listener;
    this.log = opts.log;
    this.onClose = opts.onClose ?? (async () => {});
  }

  /**
   * Kysely over the pool, made on first use: loading Kysely takes a noticeable share of start-up
   * and the stores write their SQL by hand, so a process that never builds a query never pays.
   */
  get kysely(): Kysely<AnyTables> {
    if (this.kyselyInstance === null) {
      const { Kysely, PostgresDialect } = require('kysely') as typeof KyselyModule;
      this.kyselyInstance = new Kysely<AnyTables>({ dialect: new PostgresDialect({ pool: this.pool }) });
    }
    return this.kyselyInstance;
  }

  query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    params?: unknown[],
  ): Promise<QueryResult<R>> {
    return this.pool.query<R>(text, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      // The pool stops listening for a client's errors while it is checked out. Without a
      // listener, the server ending the session between two statements (a restart, a failover,
      // idle_in_transaction_session_timeout) would be an uncaught 'error' and end the process;
      // with one, the next statement fails and the client is discarded.
      let broken: Error | undefined;
      const onError = (e: Error) => (broken ??= e);
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        // A client that cannot even roll back (its connection is gone, or a query timed out on
        // it) is discarded rather than given back to the pool.
        await client.query('ROLLBACK').catch((err: unknown) => (broken ??= asError(err)));
        const code = (e as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) {
          const delay = Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random());
          this.log.debug({ code, attempt, delay }, 'retrying transaction');
          await new Promise((r) => setTimeout(r, delay));
          continue;
        }
        throw e;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }

  listen(channel: string, handler: (payload: string) => void) {
    return this.listener.listen(channel, handler);
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.pool.query('SELECT 1');
    return performance.now() - t0;
  }

  poolStats() {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  private closing: Promise<void> | null = null;

  /** Closes the pool, the listener and (PGlite) the engine; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    await this.listener.close();
    // Kysely's destroy ends the pool it was given.
    if (this.kyselyInstance) await this.kyselyInstance.destroy();
    else await this.pool.end();
    await this.onClose();
  }
}
