import type { Logger } from 'pino';
import type { PoolClient } from 'pg';
import type { Queryable } from './port.ts';
import type { PgDatabase } from './pg-database.ts';

/**
 * A forward-only schema change. `id` sorts in application order (`001_init`, `002_...`); a
 * migration never changes once released: new needs get a new migration.
 */
export interface Migration {
  id: string;
  up: string | ((tx: Queryable) => Promise<void>);
}

/** The migrations of one owner (the platform or an app), applied in `id` order. */
export interface MigrationSet {
  owner: string;
  migrations: readonly Migration[];
}

/** Arbitrary but fixed key of the advisory lock that serialises migrators across instances. */
const LOCK_KEY = 0x636f6e66; // 'conf'

/**
 * Applies every pending migration, each in its own transaction, while holding a session
 * advisory lock so that instances starting together take turns. Applying twice changes nothing.
 * Refuses to start when the database holds migrations this code does not know (newer schema).
 */
export async function runMigrations(
  db: PgDatabase,
  sets: readonly MigrationSet[],
  log: Logger,
): Promise<{ applied: string[] }> {
  const client: PoolClient = await db.pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS conflux_migrations (
      owner text NOT NULL,
      id text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (owner, id))`);
    const { rows } = await client.query<{ owner: string; id: string }>(
      'SELECT owner, id FROM conflux_migrations',
    );
    const done = new Set(rows.map((r) => `${r.owner}/${r.id}`));

    for (const set of sets) {
      const known = new Set(set.migrations.map((m) => m.id));
      const unknown = rows.filter((r) => r.owner === set.owner && !known.has(r.id));
      if (unknown.length > 0) {
        throw new Error(
          `the database has migrations of '${set.owner}' that this version does not know ` +
            `(${unknown.map((u) => u.id).join(', ')}): it was migrated by a newer Conflux`,
        );
      }
      const ordered = [...set.migrations].sort((a, b) => a.id.localeCompare(b.id));
      for (const m of ordered) {
        if (done.has(`${set.owner}/${m.id}`)) continue;
        await client.query('BEGIN');
        try {
          if (typeof m.up === 'string') await client.query(m.up);
          else await m.up(client);
          await client.query('INSERT INTO conflux_migrations(owner, id) VALUES ($1, $2)', [set.owner, m.id]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${set.owner}/${m.id} failed: ${(e as Error).message}`, { cause: e });
        }
        applied.push(`${set.owner}/${m.id}`);
        log.info({ migration: `${set.owner}/${m.id}` }, 'migration applied');
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
  return { applied };
}
