import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import pg from 'pg';
import type { Logger } from 'pino';
import { PgDatabase, typeParsers, type ListenBackend } from './pg-database.ts';
import { copyTemplate, hasTemplate, initdbInChild } from './pglite-template.ts';

export interface PgliteOptions {
  /** Directory of the cluster, or `memory://` for a throwaway one (tests). */
  dataDir: string;
  log: Logger;
  /** A `dumpDataDir()` tarball to start from instead of running initdb (tests). */
  loadDataDir?: Blob;
  /** A pristine cluster to copy into a new data directory (see `pglite-template.ts`); null = none. */
  templateDir?: string | null;
}

/**
 * Embedded PostgreSQL. PGlite is one backend session, so the pool has exactly one connection:
 * transactions and statements queue for it, and LISTEN goes through the pool too so that it
 * never lands inside another caller's transaction. The caller must hold the data-directory lock.
 */
export async function openPglite(opts: PgliteOptions): Promise<PgDatabase> {
  const onDisk = !opts.dataDir.startsWith('memory://');
  if (onDisk) mkdirSync(opts.dataDir, { recursive: true });
  if (onDisk && !opts.loadDataDir && !existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    if (opts.templateDir && hasTemplate(opts.templateDir)) {
      opts.log.info({ dataDir: opts.dataDir }, 'creating the embedded database from the installed template');
      copyTemplate(opts.templateDir, opts.dataDir);
    } else {
      opts.log.info({ dataDir: opts.dataDir }, 'creating the embedded database (first start only)');
      await initdbInChild(opts.dataDir);
    }
  }
  const lite = await PGlite.create({
    dataDir: opts.dataDir,
    ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
    // Keep the embedded cluster small: the defaults size it for a dedicated server.
    postgresqlconf: ['shared_buffers=16MB', 'work_mem=8MB', 'maintenance_work_mem=32MB'],
  });
  const pool = new pg.Pool({ ...createPgConfig(lite), max: 1, types: typeParsers });
  pool.on('error', (e) => opts.log.warn({ err: e }, 'embedded database connection error'));

  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await fn();
    } finally {
      client.release();
    }
  };
  const listener: ListenBackend = {
    async listen(channel, handler) {
      const unlisten = await exclusive(() => lite.listen(channel, handler));
      return () => exclusive(() => unlisten());
    },
    async close() {},
  };
  return new PgDatabase({
    kind: 'pglite',
    pool,
    listener,
    log: opts.log,
    onClose: () => lite.close(),
  });
}
