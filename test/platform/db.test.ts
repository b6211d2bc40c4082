import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAppError } from '../../src/platform/errors.ts';
import { runMigrations, type MigrationSet } from '../../src/platform/db/migrate.ts';
import { openPostgres } from '../../src/platform/db/postgres.ts';
import { backends, freshDatabase, silentLog, type TestDatabase } from '../helpers/db.ts';

const sets: MigrationSet[] = [
  {
    owner: 'demo',
    migrations: [
      { id: '001_things', up: 'CREATE TABLE demo_things (id int PRIMARY KEY, name text NOT NULL UNIQUE)' },
      {
        id: '002_check',
        up: async (tx) => {
          await tx.query('ALTER TABLE demo_things ADD CONSTRAINT demo_things_id_positive CHECK (id > 0)');
        },
      },
    ],
  },
];

describe.each(backends())('database on %s', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase(backend);
    await runMigrations(t.db, sets, silentLog);
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('parses int8, numeric, jsonb and timestamptz the same way on every backend', async () => {
    const { rows } = await t.db.query<{ a: number; n: number; j: unknown; d: Date }>(
      `SELECT 9007199254740991::int8 AS a, 1.25::numeric AS n, '{"x":[1]}'::jsonb AS j, now() AS d`,
    );
    expect(rows[0]).toMatchObject({ a: 9007199254740991, n: 1.25, j: { x: [1] } });
    expect(rows[0]?.d).toBeInstanceOf(Date);
  });

  it('commits a transaction and rolls back a failed one', async () => {
    await t.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO demo_things VALUES (1, 'one')`);
    });
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query(`INSERT INTO demo_things VALUES (2, 'two')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await t.db.query('SELECT id FROM demo_things ORDER BY id');
    expect(rows).toEqual([{ id: 1 }]);
  });

  it('maps SQLSTATEs to HTTP errors naming the rule', async () => {
    const dup = await t.db.query(`INSERT INTO demo_things VALUES (3, 'one')`).catch((e: unknown) => e);
    expect(toAppError(dup)).toMatchObject({ status: 409, message: 'already exists: demo_things_name_key' });
    const check = await t.db.query(`INSERT INTO demo_things VALUES (-1, 'neg')`).catch((e: unknown) => e);
    expect(toAppError(check)).toMatchObject({
      status: 400,
      message: 'violates a rule: demo_things_id_positive',
    });
    const unknown = await t.db.query(`SELECT * FROM no_such_table`).catch((e: unknown) => e);
    expect(toAppError(unknown)).toMatchObject({ status: 500, message: 'internal server error' });
  });

  it('works through Kysely on the same pool', async () => {
    const rows = await t.db.kysely
      .withTables<{ demo_things: { id: number; name: string } }>()
      .selectFrom('demo_things')
      .select(['id', 'name'])
      .execute();
    expect(rows).toEqual([{ id: 1, name: 'one' }]);
  });

  it('delivers NOTIFY to listeners after commit only', async () => {
    const got: string[] = [];
    const unlisten = await t.db.listen('demo_events', (p) => got.push(p));
    await t.db
      .transaction(async (tx) => {
        await tx.query(`SELECT pg_notify('demo_events', 'rolled-back')`);
        throw new Error('abort');
      })
      .catch(() => undefined);
    await t.db.notify('demo_events', 'hello');
    await expect.poll(() => got, { timeout: 5000 }).toEqual(['hello']);
    await unlisten();
  });

  it('answers ping with a latency', async () => {
    expect(await t.db.ping()).toBeGreaterThanOrEqual(0);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('sessions and transactions on PostgreSQL', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase('postgres');
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('run without JIT compilation, unless the URL sets its own options', async () => {
    expect((await t.db.query<{ jit: string }>('SHOW jit')).rows[0]!.jit).toBe('off');
    // Options in the URL replace the sessions' default.
    const own = new URL(process.env.TEST_DATABASE_URL!);
    own.searchParams.set('options', '-c jit=on');
    const other = await openPostgres({ url: own.href, poolMax: 1, statementTimeoutMs: 0, log: silentLog });
    try {
      expect((await other.query<{ jit: string }>('SHOW jit')).rows[0]!.jit).toBe('on');
    } finally {
      await other.close();
    }
  });

  it('fail, and do not end the process, when the server ends the session between statements', async () => {
    // A restart, a failover or idle_in_transaction_session_timeout does the same as this
    // pg_terminate_backend: the server closes the connection of a transaction that is idle, with
    // no query running to receive the error.
    const outcome = await t.db
      .transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await t.db.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        // Give the client time to see its connection close while nothing is running on it.
        await new Promise((r) => setTimeout(r, 200));
        await tx.query('SELECT 1');
      })
      .then(
        () => 'committed',
        (e: unknown) => (e as Error).message,
      );
    expect(outcome).not.toBe('committed');
    // The broken client was discarded: the pool still serves queries and transactions.
    expect((await t.db.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
    await expect(t.db.transaction((tx) => tx.query('SELECT 1'))).resolves.toBeDefined();
  });
});

describe.each(backends())('migrations on %s', (backend) => {
  it('apply once, are idempotent, and are safe when two migrators start together', async () => {
    const t = await freshDatabase(backend);
    try {
      const [a, b] = await Promise.all([
        runMigrations(t.db, sets, silentLog),
        runMigrations(t.db, sets, silentLog),
      ]);
      expect([...a.applied, ...b.applied].sort()).toEqual(['demo/001_things', 'demo/002_check']);
      const again = await runMigrations(t.db, sets, silentLog);
      expect(again.applied).toEqual([]);
      const { rows } = await t.db.query('SELECT owner, id FROM conflux_migrations ORDER BY id');
      expect(rows).toEqual([
        { owner: 'demo', id: '001_things' },
        { owner: 'demo', id: '002_check' },
      ]);
    } finally {
      await t.dispose();
    }
  });

  it('refuses a database migrated by a newer version', async () => {
    const t = await freshDatabase(backend);
    try {
      await runMigrations(t.db, sets, silentLog);
      const older: MigrationSet[] = [{ owner: 'demo', migrations: sets[0]!.migrations.slice(0, 1) }];
      await expect(runMigrations(t.db, older, silentLog)).rejects.toThrow(/newer Conflux/);
    } finally {
      await t.dispose();
    }
  });

  it('rolls back a failing migration and names it', async () => {
    const t = await freshDatabase(backend);
    try {
      const bad: MigrationSet[] = [
        { owner: 'bad', migrations: [{ id: '001', up: 'CREATE TABLE bad_t (id int); SELECT no_such_fn()' }] },
      ];
      await expect(runMigrations(t.db, bad, silentLog)).rejects.toThrow(/migration bad\/001 failed/);
      const { rows } = await t.db.query(`SELECT to_regclass('bad_t') AS t`);
      expect(rows[0]).toEqual({ t: null });
    } finally {
      await t.dispose();
    }
  });
});
