/**
 * Fresh databases for tests: every call gets its own — an in-memory PGlite cloned from the run's
 * template, or a new database on the PostgreSQL of `TEST_DATABASE_URL` (dropped afterwards).
 * Database suites run once per backend with `describe.each(backends())`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import pino from 'pino';
import { inject } from 'vitest';
import type { PgDatabase } from '../../src/platform/db/pg-database.ts';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { openPostgres } from '../../src/platform/db/postgres.ts';

export type Backend = 'pglite' | 'postgres';

/** The backends this run can test: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function backends(): Backend[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export const silentLog = pino({ level: 'silent' });

export interface TestDatabase {
  db: PgDatabase;
  /** The URL of the new PostgreSQL database (null for PGlite). */
  url: string | null;
  /** Closes the database and drops it (PostgreSQL). */
  dispose(): Promise<void>;
}

let template: Blob | undefined;

/** Opens a fresh PGlite (from the template) without opening a PgDatabase, e.g. for a server. */
export async function freshDatabase(backend: Backend): Promise<TestDatabase> {
  if (backend === 'pglite') {
    template ??= new Blob([readFileSync(inject('pgliteTemplate'))]);
    const db = await openPglite({ dataDir: 'memory://', loadDataDir: template, log: silentLog });
    return { db, url: null, dispose: () => db.close() };
  }
  const url = await createPostgresDatabase();
  const db = await openPostgres({ url, poolMax: 5, statementTimeoutMs: 30_000, log: silentLog });
  return {
    db,
    url,
    async dispose() {
      await db.close();
      await dropPostgresDatabase(url);
    },
  };
}

/** Creates an empty database on TEST_DATABASE_URL's server and returns its URL. */
export async function createPostgresDatabase(): Promise<string> {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error('TEST_DATABASE_URL is not set');
  const name = `conflux_t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropPostgresDatabase(url: string): Promise<void> {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) return;
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
