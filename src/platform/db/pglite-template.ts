/**
 * A pristine embedded cluster to start new data directories from. initdb is the slowest part of a
 * first start (about 3.5 s of WebAssembly, more than everything else together), and its result is
 * the same every time for one PGlite version: `npm install` runs it once (`postinstall`) into
 * `node_modules/.cache/conflux/pglite-<version>`, and a new data directory is a copy of that.
 * Without the template (install scripts skipped, cache deleted, EMBEDDED_DB_TEMPLATE=false)
 * initdb runs as before.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
/** Marks a finished template: written last, so a half-copied one is never used. */
const DONE = 'conflux-template-complete';

/** Where the template of the installed PGlite version lives (it need not exist). */
export function defaultTemplateDir(): string {
  // <project>/node_modules/@electric-sql/pglite/dist/index.cjs → the package, then node_modules.
  const pkgDir = path.resolve(path.dirname(require.resolve('@electric-sql/pglite')), '..');
  const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return path.join(pkgDir, '..', '..', '.cache', 'conflux', `pglite-${version}`);
}

export function hasTemplate(templateDir: string): boolean {
  return existsSync(path.join(templateDir, DONE));
}

/**
 * Copies the template into `dataDir`, which must be missing or empty: into a sibling first, then
 * one rename, so that a start cut off halfway leaves no cluster that looks complete.
 */
export function copyTemplate(templateDir: string, dataDir: string): void {
  const work = `${dataDir}.copy-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  cpSync(templateDir, work, { recursive: true, filter: (src) => path.basename(src) !== DONE });
  renameSync(work, dataDir); // replaces an empty directory
}

/** Runs initdb into `dataDir` in a short-lived child process (see `pglite-initdb.ts`). */
export function initdbInChild(dataDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./pglite-initdb.ts', import.meta.url)), [dataDir], {
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`creating the embedded database failed (exit ${code})`)),
    );
  });
}

/**
 * Makes the template unless it exists: initdb into a sibling directory, then a rename, so that
 * concurrent installs and readers never see a partial one. Returns whether it made one.
 */
export async function prepareTemplate(templateDir: string): Promise<boolean> {
  if (hasTemplate(templateDir)) return false;
  const work = `${templateDir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    await initdbInChild(work);
    writeFileSync(path.join(work, DONE), `${new Date().toISOString()}\n`);
    rmSync(templateDir, { recursive: true, force: true });
    renameSync(work, templateDir);
    return true;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
