/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts, whose default export takes the
 * remaining arguments, prints a table and writes its figures to bench/results/<name>.json.
 */
import { existsSync, readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
if (
  name === undefined ||
  !/^[a-z0-9-]+$/.test(name) ||
  !existsSync(new URL(`./${name}.ts`, import.meta.url))
) {
  process.stderr.write(`usage: npm run bench -- <name> [args]\nbenchmarks: ${available.join(', ')}\n`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> };
await mod.default(args);
