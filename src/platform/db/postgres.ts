import pg from 'pg';
import type { Logger } from 'pino';
import { PgDatabase, typeParsers, type ListenBackend } from './pg-database.ts';

/** Quotes a channel name as an identifier for LISTEN/UNLISTEN. */
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * LISTEN on a dedicated connection (a pooled one would be handed to other queries). Reconnects
 * with backoff and re-subscribes every channel after a connection loss.
 */
class PostgresListener implements ListenBackend {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private closed = false;
  private readonly url: string;
  private readonly log: Logger;

  constructor(url: string, log: Logger) {
    this.url = url;
    this.log = log;
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      for (let attempt = 0; ; attempt++) {
        const client = new pg.Client({ connectionString: this.url, types: typeParsers });
        try {
          await client.connect();
          client.on('notification', (m) => {
            for (const h of this.handlers.get(m.channel) ?? []) h(m.payload ?? '');
          });
          client.on('error', (e) => {
            this.log.warn({ err: e }, 'LISTEN connection lost; reconnecting');
            this.client = null;
            client.end().catch(() => undefined);
            if (!this.closed) this.reconnectSoon();
          });
          for (const channel of this.handlers.keys()) await client.query(`LISTEN ${ident(channel)}`);
          this.client = client;
          this.connecting = null;
          return client;
        } catch (e) {
          await client.end().catch(() => undefined);
          if (this.closed) throw e;
          const delay = Math.min(5000, 100 * 2 ** attempt);
          this.log.warn({ err: e, delay }, 'LISTEN connection failed; retrying');
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    })();
    return this.connecting;
  }

  private reconnectSoon() {
    this.connect().catch((e: unknown) => this.log.error({ err: e }, 'LISTEN reconnect gave up'));
  }

  async listen(channel: string, handler: (payload: string) => void) {
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    const client = await this.connect();
    if (first) await client.query(`LISTEN ${ident(channel)}`);
    return async () => {
      const s = this.handlers.get(channel);
      s?.delete(handler);
      if (s && s.size === 0) {
        this.handlers.delete(channel);
        await this.client?.query(`UNLISTEN ${ident(channel)}`).catch(() => undefined);
      }
    };
  }

  async close() {
    this.closed = true;
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => undefined);
  }
}

/**
 * Settings of Conflux's sessions (a URL that sets `options` replaces them). No JIT compilation:
 * PostgreSQL compiles a query once its estimated cost passes `jit_above_cost`, and the apps'
 * queries are index range scans whose estimates grow with the rows they might touch, not with
 * what they do. `npm run bench -- grid-store --jit` shows the difference: "every VEN with its
 * current loads" on 200 VENs' readings stored before migration 005 took 477 ms with JIT (nearly
 * all of it compiling) and 13 ms without.
 */
export const SESSION_OPTIONS = '-c jit=off';

export interface PostgresOptions {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
  log: Logger;
  /** Seconds to wait for the first connection. */
  connectTimeoutMs?: number;
}

/** Opens a pool against real PostgreSQL and checks that it answers. */
export async function openPostgres(opts: PostgresOptions): Promise<PgDatabase> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolMax,
    types: typeParsers,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    statement_timeout: opts.statementTimeoutMs === 0 ? undefined : opts.statementTimeoutMs,
    // A connection whose server went away without a word (a half-open TCP connection) would
    // otherwise leave its query waiting for the OS to give up, some 15 minutes: keepalive probes,
    // and a client-side limit a little beyond the server's statement timeout.
    keepAlive: true,
    query_timeout: opts.statementTimeoutMs === 0 ? undefined : opts.statementTimeoutMs + 10_000,
    application_name: 'conflux',
    options: SESSION_OPTIONS,
  });
  pool.on('error', (e) => opts.log.warn({ err: e }, 'idle database connection failed'));
  try {
    await pool.query('SELECT 1');
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  return new PgDatabase({
    kind: 'postgres',
    pool,
    listener: new PostgresListener(opts.url, opts.log),
    log: opts.log,
  });
}
