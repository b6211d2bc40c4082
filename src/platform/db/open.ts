/**
 * Opens the database the configuration names: PostgreSQL when `DATABASE_URL` is set, otherwise
 * the embedded PGlite cluster under `<DATA_DIR>/pg`, after taking the data directory's lock.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { lockDataDir, type DataDirLock } from '../data-dir-lock.ts';
import { StartupError } from '../startup-error.ts';
import type { PgDatabase } from './pg-database.ts';
import { openPglite } from './pglite.ts';
import { defaultTemplateDir } from './pglite-template.ts';
import { openPostgres } from './postgres.ts';

export interface OpenedDatabase {
  db: PgDatabase;
  /** The data directory's lock (embedded database only); release it after closing `db`. */
  lock: DataDirLock | null;
}

export async function openDatabase(config: Config, log: Logger): Promise<OpenedDatabase> {
  if (config.database.url === null) {
    const lock = lockDataDir(config.dataDir);
    try {
      const db = await openPglite({
        dataDir: path.join(config.dataDir, 'pg'),
        templateDir: config.database.embeddedTemplate ? defaultTemplateDir() : null,
        log,
      });
      return { db, lock };
    } catch (e) {
      lock.release();
      throw new StartupError(
        `cannot open the embedded database in ${config.dataDir}/pg: ${(e as Error).message}`,
        'DATA_DIR',
        e,
      );
    }
  }
  try {
    const db = await openPostgres({
      url: config.database.url,
      poolMax: config.database.poolMax,
      statementTimeoutMs: config.database.statementTimeoutMs,
      log,
    });
    return { db, lock: null };
  } catch (e) {
    throw new StartupError(`cannot connect to PostgreSQL: ${(e as Error).message}`, 'DATABASE_URL', e);
  }
}
