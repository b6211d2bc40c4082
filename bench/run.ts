/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts, whose default export does the work,
 * prints a table and returns figures that are written to bench/results/<name>.json.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'util.ts'].includes(f))
  .map((f) => f.slice(0, -3));

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\navailable: ${available.join(', ')}\n`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<unknown> };
const result = await mod.default(args);
mkdirSync(path.join(here, 'results'), { recursive: true });
const out = path.join(here, 'results', `${name}.json`);
writeFileSync(out, JSON.stringify({ name, at: new Date().toISOString(), result }, null, 2));
process.stdout.write(`\nresults written to ${path.relative(process.cwd(), out)}\n`);
process.exit(0);
