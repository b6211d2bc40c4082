/**
 * Child process that creates a new PGlite cluster (initdb) and exits. initdb needs a few hundred
 * megabytes that a process does not give back once used; doing it in a short-lived child keeps
 * the server's resident memory at what serving needs.
 */
import { PGlite } from '@electric-sql/pglite';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: pglite-initdb.ts <dataDir>');
const lite = await PGlite.create({ dataDir });
await lite.close();
