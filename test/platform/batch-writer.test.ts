/**
 * The batch writer on both backends: every column type through COPY (PostgreSQL) and the unnest
 * insert (both), redelivered rows stored once although COPY has no ON CONFLICT, and a bad value
 * failing only its own unit, and a transaction lost after its statements ran written again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCopy } from '../../src/platform/db/copy.ts';
import type { Database, Queryable } from '../../src/platform/db/port.ts';
import { BatchWriter, type TableSpec } from '../../src/platform/ingest/batch-writer.ts';
import { backends, freshDatabase, silentLog, type TestDatabase } from '../helpers/db.ts';

const SPEC: TableSpec = {
  table: 'bw_rows',
  columns: [
    { name: 'k', type: 'text' },
    { name: 'ts', type: 'timestamptz' },
    { name: 'f', type: 'float8' },
    { name: 'i', type: 'int4' },
    { name: 'b', type: 'int8' },
    { name: 'ok', type: 'bool' },
    { name: 'doc', type: 'json' },
    { name: 'docb', type: 'jsonb' },
  ],
  onConflict: 'ON CONFLICT (k, ts) DO NOTHING',
  copy: true,
};

describe.each(backends())('batch writer (%s)', (backend) => {
  let t: TestDatabase;
  let writer: BatchWriter;

  beforeAll(async () => {
    t = await freshDatabase(backend);
    await t.db
      .query(`CREATE TABLE bw_rows (k text NOT NULL, ts timestamptz NOT NULL, f float8, i int4, b int8,
                        ok boolean, doc json, docb jsonb, PRIMARY KEY (k, ts))`);
    writer = new BatchWriter(t.db, { name: 'test', tables: [SPEC], maxBatch: 100, log: silentLog });
  });
  afterAll(async () => {
    await writer.close();
    await t.dispose();
  });

  const at = new Date('2026-03-04T05:06:07.891Z');
  const row = (k: string, over: Partial<Record<number, unknown>> = {}) => {
    const r: unknown[] = [k, at, 1.5, -7, 2 ** 40, true, '{"a":[1,"é"]}', '{"z":{"y":null}}'];
    for (const [i, v] of Object.entries(over)) r[Number(i)] = v;
    return r;
  };

  it('round-trips every column type, NULLs included', async () => {
    await Promise.all([
      writer.write({ bw_rows: [row('full')] }),
      writer.write({ bw_rows: [['nulls', at, null, null, null, null, null, null]] }),
      writer.write({ bw_rows: [row('nan', { 2: Number.NaN })] }),
    ]);
    const r = await t.db.query<Record<string, unknown>>('SELECT * FROM bw_rows ORDER BY k');
    expect(r.rows).toEqual([
      {
        k: 'full',
        ts: at,
        f: 1.5,
        i: -7,
        b: 2 ** 40,
        ok: true,
        doc: { a: [1, 'é'] },
        docb: { z: { y: null } },
      },
      // A float that is not finite is stored as NULL (COPY) or NaN (insert): never a wrong number.
      expect.objectContaining({ k: 'nan', i: -7 }),
      { k: 'nulls', ts: at, f: null, i: null, b: null, ok: null, doc: null, docb: null },
    ]);
    const nan = r.rows.find((x) => x.k === 'nan')!.f;
    expect(nan === null || Number.isNaN(nan)).toBe(true);
  });

  it('stores redelivered rows once, next to new ones in the same batch', async () => {
    const again = Array.from({ length: 20 }, (_, i) => row(`dup-${i}`));
    await Promise.all(again.map((r) => writer.write({ bw_rows: [r] })));
    // The same 20 rows again, mixed with 20 new ones: COPY hits the unique key, the insert skips.
    await Promise.all(
      [...again, ...Array.from({ length: 20 }, (_, i) => row(`new-${i}`))].map((r) =>
        writer.write({ bw_rows: [r] }),
      ),
    );
    const r = await t.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM bw_rows WHERE k LIKE 'dup-%' OR k LIKE 'new-%'`,
    );
    expect(Number(r.rows[0]!.n)).toBe(40);
  });

  it('fails only the unit that holds a bad value', async () => {
    const results = await Promise.allSettled([
      writer.write({ bw_rows: [row('good-1')] }),
      writer.write({ bw_rows: [row('bad-ts', { 1: 'not a time' })] }),
      writer.write({ bw_rows: [row('bad-int', { 3: 1.5 })] }),
      writer.write({ bw_rows: [row('good-2')] }),
    ]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const r = await t.db.query<{ k: string }>(
      `SELECT k FROM bw_rows WHERE k LIKE 'good-%' OR k LIKE 'bad-%' ORDER BY k`,
    );
    expect(r.rows.map((x) => x.k)).toEqual(['good-1', 'good-2']);
  });

  it('makes units given as functions when their batch is written, each failing alone', async () => {
    let made = 0;
    const lazy = (k: string) => () => {
      made++;
      return { bw_rows: [row(k)] };
    };
    const results = await Promise.allSettled([
      writer.write(lazy('lazy-1')),
      writer.write(() => {
        throw new Error('cannot make this one');
      }),
      writer.write(() => ({ no_such_table: [[1]] })),
      writer.write(lazy('lazy-2')),
    ]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'cannot make this one' });
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({
      message: 'unknown table no_such_table',
    });
    expect(made).toBeGreaterThanOrEqual(2);
    const r = await t.db.query<{ k: string }>(`SELECT k FROM bw_rows WHERE k LIKE 'lazy-%' ORDER BY k`);
    expect(r.rows.map((x) => x.k)).toEqual(['lazy-1', 'lazy-2']);
  });

  it('calls back once per unit, never before it is committed', async () => {
    const calls: { k: string; err: Error | undefined; stored: boolean }[] = [];
    await Promise.all(
      ['cb-good', 'cb-bad'].map(
        (k) =>
          new Promise<void>((resolve) => {
            const r = k === 'cb-bad' ? row(k, { 3: 'x' }) : row(k);
            writer.add({ bw_rows: [r] }, (err) => {
              void t.db
                .query<{ n: string }>('SELECT count(*) AS n FROM bw_rows WHERE k = $1', [k])
                .then((q) => {
                  calls.push({ k, err, stored: Number(q.rows[0]!.n) === 1 });
                  resolve();
                });
            });
          }),
      ),
    );
    await writer.drain();
    calls.sort((a, b) => a.k.localeCompare(b.k));
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ k: 'cb-bad', stored: false });
    expect(calls[0]!.err).toBeInstanceOf(Error);
    expect(calls[1]).toEqual({ k: 'cb-good', err: undefined, stored: true });
  });

  it('tells every unit of a batch even when one callback throws', async () => {
    const told: string[] = [];
    await new Promise<void>((resolve) => {
      writer.add({ bw_rows: [row('throws-1')] }, () => {
        told.push('throws-1');
        throw new Error('a callback that throws');
      });
      writer.add({ bw_rows: [row('throws-2')] }, (err) => {
        told.push(err ? 'failed' : 'throws-2');
        resolve();
      });
    });
    expect(told).toEqual(['throws-1', 'throws-2']);
  });
  it('writes a batch again, intact, when its transaction is lost after the statements ran', async () => {
    // The first attempt sends everything and then fails as a lost connection would (rolled back);
    // before the retry, other COPY encodings take whatever buffers the pool has, so a retry that
    // sent buffers already handed back would send their bytes instead.
    let attempts = 0;
    const flaky = Object.create(t.db) as Database;
    flaky.transaction = async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
      if (++attempts > 1) return t.db.transaction(fn);
      const lost = new Error('connection terminated unexpectedly');
      await t.db
        .transaction(async (tx) => {
          await fn(tx);
          throw lost;
        })
        .catch(() => undefined);
      for (let i = 0; i < 4; i++)
        encodeCopy('bw_rows', [{ name: 'k', type: 'text' }], [['x'.repeat(1000)]]).release();
      throw lost;
    };
    const retrying = new BatchWriter(flaky, { name: 'retry', tables: [SPEC], maxBatch: 100, log: silentLog });
    const rows = Array.from({ length: 50 }, (_, i) => row(`retry-${i}`, { 3: i }));
    await Promise.all(rows.map((r) => retrying.write({ bw_rows: [r] })));
    await retrying.close();
    expect(attempts).toBe(2);
    const r = await t.db.query<{ k: string; i: number; doc: unknown }>(
      `SELECT k, i, doc FROM bw_rows WHERE k LIKE 'retry-%' ORDER BY i`,
    );
    expect(r.rows).toEqual(rows.map((x) => ({ k: x[0], i: x[3], doc: { a: [1, 'é'] } })));
  });
});
