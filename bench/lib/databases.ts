/** Throwaway PostgreSQL databases for benchmarks: created on the server `admin` points at, dropped after. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Creates a database with a fresh name; returns its URL. */
export async function createDatabase(admin: string): Promise<string> {
  const name = `conflux_bench_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Drops the database of `url` (made by `createDatabase`), closing its connections. */
export async function dropDatabase(admin: string, url: string): Promise<void> {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  await c.end();
}
