/**
 * `postinstall`: prepares the pristine embedded cluster that new data directories start from
 * (see src/platform/db/pglite-template.ts). Never fails the install: without the template,
 * Conflux runs initdb on a first start instead.
 */
import { defaultTemplateDir, prepareTemplate } from '../src/platform/db/pglite-template.ts';

const t0 = performance.now();
try {
  const dir = defaultTemplateDir();
  if (await prepareTemplate(dir)) {
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    process.stdout.write(`conflux: prepared the embedded database template in ${s} s (${dir})\n`);
  }
} catch (e) {
  process.stdout.write(
    `conflux: could not prepare the embedded database template (${(e as Error).message}); ` +
      'a first start will create the database itself\n',
  );
}
