/** `npm run bench -- <name>`: runs `bench/<name>.ts`'s default export. */
const name = process.argv[2];
if (!name || !/^[a-z0-9-]+$/.test(name)) {
  process.stderr.write('usage: npm run bench -- <name>   (a file bench/<name>.ts)\n');
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> };
await mod.default(process.argv.slice(3));
