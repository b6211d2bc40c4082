import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { hasTemplate, prepareTemplate } from '../../src/platform/db/pglite-template.ts';
import { silentLog } from '../helpers/db.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'conflux-template-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function tablesOf(dataDir: string, templateDir: string | null) {
  const db = await openPglite({ dataDir, templateDir, log: silentLog });
  try {
    await db.query('CREATE TABLE t (x int)');
    await db.query('INSERT INTO t VALUES (1), (2)');
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    return rows[0]?.n;
  } finally {
    await db.close();
  }
}

describe('the embedded cluster template', () => {
  const template = path.join(root, 'template');

  it('is made once, atomically, and new data directories start as copies of it', async () => {
    expect(hasTemplate(template)).toBe(false);
    expect(await prepareTemplate(template)).toBe(true);
    expect(hasTemplate(template)).toBe(true);
    expect(await prepareTemplate(template)).toBe(false); // already there
    expect(readdirSync(root).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    expect(await tablesOf(a, template)).toBe(2);
    expect(await tablesOf(b, template)).toBe(2); // copies are independent clusters
    expect(existsSync(path.join(a, 'PG_VERSION'))).toBe(true);
    expect(existsSync(path.join(a, 'conflux-template-complete'))).toBe(false);
    // An existing data directory is opened as it is, whatever the template.
    const db = await openPglite({ dataDir: a, templateDir: template, log: silentLog });
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0]?.n).toBe(2);
    await db.close();
  }, 120_000);

  it('is not needed: without one, initdb creates the cluster', async () => {
    const c = path.join(root, 'c');
    expect(await tablesOf(c, path.join(root, 'no-such-template'))).toBe(2);
  }, 120_000);
});
