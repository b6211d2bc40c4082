/**
 * The binary COPY encoder against real PostgreSQL (PGlite's driver has no COPY): every type it
 * writes, with the edge values that take its special paths, reads back as it went in.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows, CopyValueError, type CopyType } from '../../src/platform/db/copy.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';

const COLUMNS: { name: string; type: CopyType }[] = [
  { name: 'n', type: 'int4' },
  { name: 'big', type: 'int8' },
  { name: 'f', type: 'float8' },
  { name: 'b', type: 'bool' },
  { name: 't', type: 'text' },
  { name: 'j', type: 'json' },
  { name: 'jb', type: 'jsonb' },
  { name: 'ts', type: 'timestamptz' },
];

describe.runIf(process.env.TEST_DATABASE_URL)('binary COPY on PostgreSQL', () => {
  let fresh: TestDatabase;
  let client: pg.PoolClient;
  beforeAll(async () => {
    fresh = await freshDatabase('postgres');
    client = await fresh.db.pool.connect();
    await client.query(
      `CREATE TABLE copy_all (n int4, big int8, f float8, b bool, t text, j json, jb jsonb, ts timestamptz)`,
    );
  });
  afterAll(async () => {
    client.release();
    await fresh.dispose();
  });

  it('writes every type, nulls and edge values exactly', async () => {
    const rows: unknown[][] = [
      [1, 0, 1.5, true, 'c1', '{"a":1}', { a: [1, 2] }, new Date('2026-01-01T00:00:00.123Z')],
      [-2147483648, -1, -0.25, false, 'ünïcødé ✓ 𝄞', Buffer.from('{"raw":"bytés"}'), '[]', 0],
      [
        2147483647,
        Number.MAX_SAFE_INTEGER,
        Number.NaN,
        true,
        'x'.repeat(40),
        { o: 'bj' },
        null,
        '1999-12-31T23:59:59.999Z',
      ],
      [null, -(2 ** 40) - 7, 1e300, null, '', null, Buffer.from('{"k":"v"}'), Date.UTC(1970, 0, 1)],
      [0, 12n, Infinity, false, null, 'null', '"s"', null],
    ];
    await client.query('BEGIN');
    await copyRows(client, 'copy_all', COLUMNS, rows);
    await client.query('COMMIT');
    const { rows: back } = await client.query<Record<string, unknown>>(
      `SELECT n, big::text AS big, f, b, t, j::text AS j, jb::text AS jb, ts FROM copy_all ORDER BY ctid`,
    );
    expect(back).toEqual([
      {
        n: 1,
        big: '0',
        f: 1.5,
        b: true,
        t: 'c1',
        j: '{"a":1}',
        jb: '{"a": [1, 2]}',
        ts: new Date('2026-01-01T00:00:00.123Z'),
      },
      {
        n: -2147483648,
        big: '-1',
        f: -0.25,
        b: false,
        t: 'ünïcødé ✓ 𝄞',
        j: '{"raw":"bytés"}',
        jb: '[]',
        ts: new Date(0),
      },
      {
        n: 2147483647,
        big: String(Number.MAX_SAFE_INTEGER),
        f: null,
        b: true,
        t: 'x'.repeat(40),
        j: '{"o":"bj"}',
        jb: null,
        ts: new Date('1999-12-31T23:59:59.999Z'),
      },
      {
        n: null,
        big: String(-(2 ** 40) - 7),
        f: 1e300,
        b: null,
        t: '',
        j: null,
        jb: '{"k": "v"}',
        ts: new Date(0),
      },
      { n: 0, big: '12', f: null, b: false, t: null, j: 'null', jb: '"s"', ts: null },
    ]);
  });

  it('refuses values a column cannot hold, as a data error', async () => {
    for (const row of [[1.5], [2 ** 31], ['x']]) {
      const err = await copyRows(client, 'copy_all', [COLUMNS[0]!], [row]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CopyValueError);
      expect((err as CopyValueError).code).toBe('22000');
    }
    const big = await copyRows(client, 'copy_all', [COLUMNS[1]!], [[2 ** 60]]).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(CopyValueError);
  });

  it('fails a COPY the server refuses while chunks are still being sent, and the connection stays usable', async () => {
    // About 20 MB: when the duplicate key in the first row is refused, most of the chunks are
    // still waiting for the socket to drain (they must be dropped, not written afterwards).
    await client.query('CREATE TABLE copy_refused (n int4 PRIMARY KEY, t text)');
    await client.query(`INSERT INTO copy_refused VALUES (0, 'already here')`);
    const rows = Array.from({ length: 40_000 }, (_, i) => [i, 'r'.repeat(500)]);
    const err = await copyRows(
      client,
      'copy_refused',
      [
        { name: 'n', type: 'int4' },
        { name: 't', type: 'text' },
      ],
      rows,
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '23505' });
    await new Promise((r) => setTimeout(r, 100));
    const { rows: left } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM copy_refused');
    expect(left[0]!.n).toBe(1);
  });

  it('keeps every row of COPYs spanning many chunks, one after the other (buffers are reused)', async () => {
    await client.query('CREATE TABLE copy_many (n int4, t text)');
    // About 600 KB a COPY: three chunks each, so the second and third COPY run on recycled
    // buffers (and one row is larger than what is left of a chunk).
    const text = (i: number) => (i === 1234 ? 'y'.repeat(300_000) : `row ${i} ${'z'.repeat(i % 97)}`);
    for (let round = 0; round < 3; round++) {
      const rows = Array.from({ length: 8000 }, (_, i) => [round * 8000 + i, text(i)]);
      await copyRows(
        client,
        'copy_many',
        [
          { name: 'n', type: 'int4' },
          { name: 't', type: 'text' },
        ],
        rows,
      );
    }
    const { rows } = await client.query<{ n: number; t: string }>('SELECT n, t FROM copy_many ORDER BY n');
    expect(rows).toHaveLength(24_000);
    for (const r of rows) if (r.t !== text(r.n % 8000)) expect(r).toEqual({ n: r.n, t: text(r.n % 8000) });
  });
});
