/**
 * Multi-row write shapes for the batch writer, measured on the same database in the same run:
 * `INSERT ... SELECT FROM unnest($1::t[], ...)` (one parameter per column) against
 * `INSERT ... VALUES (...), (...)` (one parameter per value) and row-by-row inserts as the
 * baseline. COPY is not offered by PGlite's driver, so it is not a portable option here.
 */
import type { Database } from '../../src/platform/db/port.ts';

const COLS = ['ven_id', 'load_id', 'ts', 'current_power_kw', 'capacity_kw', 'type'];

function rows(n: number, offset: number): unknown[][] {
  return Array.from({ length: n }, (_, i) => [
    `v${(i + offset) % 500}`,
    `c${(i + offset) % 5}`,
    new Date(Date.UTC(2026, 0, 1) + i + offset).toISOString(),
    1.5,
    7.2,
    'hvac',
  ]);
}

export async function measureInsertShapes(
  db: Database,
  opts: { total: number; batch: number },
): Promise<Record<string, number>> {
  await db.query(`DROP TABLE IF EXISTS bench_shapes`);
  await db.query(
    `CREATE TABLE bench_shapes (ven_id text, load_id text, ts timestamptz, current_power_kw float8, capacity_kw float8,
       type text, PRIMARY KEY (ven_id, load_id, ts))`,
  );
  const unnest = `INSERT INTO bench_shapes (${COLS.join(', ')})
    SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[], $5::float8[], $6::text[])
    ON CONFLICT DO NOTHING`;
  const out: Record<string, number> = {};
  const time = async (name: string, offset: number, write: (batch: unknown[][]) => Promise<void>) => {
    const t0 = performance.now();
    for (let done = 0; done < opts.total; done += opts.batch) {
      const batch = rows(Math.min(opts.batch, opts.total - done), offset + done);
      await write(batch);
    }
    out[name] = Math.round(opts.total / ((performance.now() - t0) / 1000));
  };
  await time('unnest rows/s', 0, async (batch) => {
    await db.query(
      unnest,
      COLS.map((_, c) => batch.map((r) => r[c])),
    );
  });
  await time('VALUES rows/s', 10_000_000, async (batch) => {
    const params: unknown[] = [];
    const tuples = batch.map((r) => `(${r.map((v) => `$${params.push(v)}`).join(', ')})`);
    await db.query(
      `INSERT INTO bench_shapes (${COLS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`,
      params,
    );
  });
  const single = Math.min(opts.total, 2000);
  const t0 = performance.now();
  await db.transaction(async (tx) => {
    for (const r of rows(single, 20_000_000))
      await tx.query(
        `INSERT INTO bench_shapes (${COLS.join(', ')}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        r,
      );
  });
  out['row-by-row rows/s'] = Math.round(single / ((performance.now() - t0) / 1000));
  await db.query(`DROP TABLE bench_shapes`);
  return out;
}
