import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { AppError } from './errors.ts';

/**
 * An exclusive, process-wide lock on the data directory. PGlite loses writes silently when two
 * processes open one cluster, so a second process must be refused. The lock is a file holding
 * the owner's pid, created with O_EXCL; a lock whose pid no longer runs (the owner was killed)
 * is taken over.
 */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, 'conflux.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        path: lockPath,
        release() {
          if (released) return;
          released = true;
          rmSync(lockPath, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(readFileSync(lockPath, 'utf8').trim());
      } catch {
        continue; // removed between our open and read: try again
      }
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner)) {
        throw new AppError(
          'data_dir_locked',
          500,
          `DATA_DIR ${dataDir} is in use by another Conflux process (pid ${owner}). ` +
            'Stop it, or give this process its own DATA_DIR, or point DATABASE_URL at a shared PostgreSQL.',
        );
      }
      rmSync(lockPath, { force: true }); // stale: its owner is gone
    }
  }
  throw new AppError('data_dir_locked', 500, `could not lock DATA_DIR ${dataDir}`);
}
