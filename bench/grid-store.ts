/**
 * `npm run bench -- grid-store [--messages 60000] [--vens 1000] [--scale 200x5000] [--jit]`: the database's
 * share of grid ingest, on PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL; fresh databases,
 * dropped after).
 *
 * 1. Writes: metering messages (a reading and 5 loads each) COPY-ed in batches of 2000 as the batch
 *    writer does, into the grid schema as migrated and, as baselines in the same run, into the
 *    schema before migration 005 (a row per load) and before migration 003 (load rows keyed per
 *    VEN, a per-message VEN upsert, payloads in a json column). Payloads are the size grid-ingest's
 *    VENs send (about 700 bytes). Reports the backend's CPU per message, per table, read from
 *    /proc, and WAL bytes per message.
 * 2. Reads at scale: VENS × READINGS readings (5 loads each) and the time-series queries of the
 *    API on them, with their execution time: with the loads on the readings (as stored now), in
 *    load rows (as stored before migration 005, still read), and half and half (upgraded).
 *    `--jit` runs them with PostgreSQL's JIT compilation on (Conflux's sessions have it off).
 * 3. A VEN whose metering carries no loads, with 1,000,000 readings: its current loads as migrated
 *    and, as the baseline, with the view before migration 006.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { init } from '../src/apps/grid/migrations/001-init.ts';
import { leanTimeSeries } from '../src/apps/grid/migrations/002-lean-time-series.ts';
import { leanIngest } from '../src/apps/grid/migrations/003-lean-ingest.ts';
import { payloadText } from '../src/apps/grid/migrations/004-payload-text.ts';
import { loadsInline } from '../src/apps/grid/migrations/005-loads-inline.ts';
import { currentLoadsHorizon } from '../src/apps/grid/migrations/006-current-loads-horizon.ts';
import type { LoadReport } from '../src/apps/grid/codec.ts';
import { inlineLoads, LOAD_SNAPSHOTS, READINGS, snapshotUnit, VEN_UPSERT } from '../src/apps/grid/tables.ts';
import type { Migration } from '../src/platform/db/migrate.ts';
import { copyRows, type CopyType } from '../src/platform/db/copy.ts';
import { SESSION_OPTIONS } from '../src/platform/db/postgres.ts';
import { insertSql } from '../src/platform/ingest/batch-writer.ts';
import { createDatabase, dropDatabase } from './lib/databases.ts';
import { table } from './util.ts';

const BATCH = 2000;

/** A metering payload as the grid-ingest benchmark's VENs send it (5 loads, about 700 bytes). */
function payload(venId: string, timestamp: number): string {
  const loads = Array.from({ length: 5 }, (_, i) => ({
    id: `c${i}`,
    name: `circuit ${i}`,
    type: i === 0 ? 'hvac' : i === 1 ? 'ev_charger' : 'lighting',
    capacityKw: 7.2,
    shedCapabilityKw: i === 0 ? 0 : 1.5,
    currentPowerKw: 1 + (i % 5) * 0.3,
    enabled: true,
  }));
  return JSON.stringify({ venId, timestamp, usedPowerKw: 5, shedPowerKw: 4.5, loads });
}

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
}

/**
 * The session settings: the app's (no JIT), or with `--jit` PostgreSQL's JIT on, to see what it
 * costs these queries.
 */
let sessionOptions = SESSION_OPTIONS;

/** `sql` run under EXPLAIN ANALYZE: the lines of its plan, and its execution time in ms. */
async function explain(c: pg.Client, sql: string, params: unknown[] = []) {
  const r = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, FORMAT TEXT) ${sql}`, params);
  const plan = r.rows.map((x) => x['QUERY PLAN']);
  return { plan, ms: Number(/Execution Time: ([\d.]+)/.exec(plan.at(-1) ?? '')?.[1] ?? NaN) };
}

/** A fresh database with `migrations` applied, and one connection to it. */
async function freshDatabase(admin: string, migrations: Migration[]) {
  const url = await createDatabase(admin);
  const c = new pg.Client({ connectionString: url, options: sessionOptions });
  await c.connect();
  for (const m of migrations) await c.query(m.up as string);
  const drop = async () => {
    await c.end();
    await dropDatabase(admin, url);
  };
  return { c, drop };
}

/** The backend's CPU seconds (utime + stime), from /proc: the server runs on this machine. */
function backendCpu(pid: number): number {
  const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const columns = (spec: { columns: readonly { name: string; type: string }[] }) =>
  spec.columns as { name: string; type: CopyType }[];

type Layout = 'current' | 'before 005' | 'before 003';

/** The columns of a load row before migration 005 (a snapshot's still; with `source`, before 003). */
const LOAD_ROW_COLUMNS = columns(LOAD_SNAPSHOTS);

const MIGRATIONS: Record<Layout, Migration[]> = {
  current: [init, leanTimeSeries, leanIngest, payloadText, loadsInline, currentLoadsHorizon],
  'before 005': [init, leanTimeSeries, leanIngest, payloadText],
  'before 003': [init, leanTimeSeries],
};

async function writes(admin: string, layout: Layout, messages: number, vens: number) {
  const { c, drop } = await freshDatabase(admin, MIGRATIONS[layout]);
  try {
    const pid = (await c.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
    const lsn0 = (await c.query<{ l: string }>('SELECT pg_current_wal_lsn() AS l')).rows[0]!.l;
    const base = Date.UTC(2026, 0, 1);
    const parts = { readings: 0, loads: 0, vens: 0, commit: 0 };
    const wall0 = performance.now();
    // The reading's columns in each layout: before 004 the payload went into `raw`, a json
    // column; before 005 there was no `loads`.
    const readingColumns = columns(READINGS)
      .filter((col) => layout === 'current' || col.name !== 'loads')
      .map((col) =>
        layout === 'before 003' && col.name === 'payload' ? { name: 'raw', type: 'json' as const } : col,
      );
    const loadColumns =
      layout === 'before 003'
        ? [...LOAD_ROW_COLUMNS, { name: 'source', type: 'text' as const }]
        : LOAD_ROW_COLUMNS;
    for (let s = 0; s < messages; s += BATCH) {
      const readings: unknown[][] = [];
      const loads: (readonly unknown[])[] = [];
      const venRows = new Map<string, unknown[]>();
      for (let q = s; q < Math.min(messages, s + BATCH); q++) {
        const ven = `bench-${q % vens}`;
        const ts = new Date(base + q);
        const raw = Buffer.from(payload(ven, base + q));
        const reported: LoadReport[] = Array.from({ length: 5 }, (_, i) => ({
          id: `c${i}`,
          name: `circuit ${i}`,
          type: 'hvac',
          capacityKw: 7.2,
          shedCapabilityKw: 1.5,
          currentPowerKw: 1.3,
          enabled: true,
          priority: null,
        }));
        const reading = [ven, ts, 5, 4.5, null, null, null, raw];
        if (layout === 'current') {
          readings.push([...reading, inlineLoads(reported)]);
        } else {
          readings.push(reading);
          // A load row before 005 had a snapshot's columns.
          const rows = snapshotUnit(
            { venId: ven, timestamp: ts, loads: reported },
            0,
            false,
          ).grid_load_snapshots!;
          for (const row of rows) loads.push(layout === 'before 003' ? [...row, 'metering'] : row);
        }
        // Before 003 every message upserted its VEN with its latest state; now ingest touches a
        // VEN's row every few seconds at most (none of these 60,000 messages span that long).
        venRows.set(ven, layout === 'before 003' ? [ven, ven, 'online', ven, ts, ts, 5, 4.5, null] : []);
      }
      await c.query('BEGIN');
      let t = backendCpu(pid);
      const step = (k: keyof typeof parts) => {
        const now = backendCpu(pid);
        parts[k] += now - t;
        t = now;
      };
      await copyRows(c, 'grid_readings', readingColumns, readings);
      step('readings');
      if (loads.length > 0) await copyRows(c, 'grid_load_readings', loadColumns, loads);
      step('loads');
      if (layout === 'before 003') {
        const rows = [...venRows.values()];
        const upsert = insertSql({
          ...VEN_UPSERT,
          columns: [
            ...VEN_UPSERT.columns,
            { name: 'latest_at', type: 'timestamptz' },
            { name: 'current_power_kw', type: 'float8' },
            { name: 'shed_availability_kw', type: 'float8' },
            { name: 'active_event_id', type: 'text' },
          ],
          onConflict: `ON CONFLICT (id) DO UPDATE SET status = 'online',
            last_seen = greatest(grid_vens.last_seen, excluded.last_seen), latest_at = excluded.latest_at,
            current_power_kw = excluded.current_power_kw, shed_availability_kw = excluded.shed_availability_kw`,
        });
        await c.query(
          upsert,
          rows[0]!.map((_, i) => rows.map((r) => (r[i] instanceof Date ? r[i].toISOString() : r[i]))),
        );
      }
      step('vens');
      await c.query('COMMIT');
      step('commit');
    }
    const wallS = (performance.now() - wall0) / 1000;
    const wal = Number(
      (await c.query<{ b: string }>('SELECT pg_current_wal_lsn() - $1::pg_lsn AS b', [lsn0])).rows[0]!.b,
    );
    const us = (seconds: number) => Math.round((seconds / messages) * 1e7) / 10;
    return {
      layout,
      'PG CPU µs/msg': us(parts.readings + parts.loads + parts.vens + parts.commit),
      'readings µs': us(parts.readings),
      'loads µs': us(parts.loads),
      'VEN upsert µs': us(parts.vens),
      'commit µs': us(parts.commit),
      'WAL B/msg': Math.round(wal / messages),
      'msg/s (one connection)': Math.round(messages / wallS),
    };
  } finally {
    await drop();
  }
}

/**
 * Where the loads of the readings are: on the readings (as stored now), in load rows (as stored
 * before migration 005), or in load rows for the older half of each VEN's readings and on the
 * readings for the newer half (a database upgraded half way through its history).
 */
const READ_LAYOUTS = {
  current: 'on the readings',
  'before 005': 'in load rows (before 005)',
  upgraded: 'in load rows for the older half of the readings, on the readings for the newer half',
} as const;
type ReadLayout = keyof typeof READ_LAYOUTS;

async function reads(admin: string, vens: number, perVen: number, layout: ReadLayout) {
  const { c, drop } = await freshDatabase(admin, MIGRATIONS.current);
  try {
    const t0 = performance.now();
    await c.query(
      `INSERT INTO grid_vens (id, name, registration_id, status, last_seen)
       SELECT 'v' || i, 'v' || i, 'v' || i, 'online', now() FROM generate_series(1, $1) i`,
      [vens],
    );
    // Five loads, c1..c5, on each reading (their powers differ from reading to reading, as in life:
    // identical texts would let the planner cache their parse) or in rows of their own (`loads`
    // NULL: stored before 005).
    const loads = (s: string) =>
      `(SELECT jsonb_agg(jsonb_build_array('c' || l, 'circuit', 'hvac', 7.2, 1.5, 1.0 + l + ${s} * 0.001, true, NULL))
          FROM generate_series(1, 5) l)::text`;
    await c.query(
      `INSERT INTO grid_readings (ven_id, ts, used_power_kw, shed_power_kw, payload, loads)
       SELECT 'v' || v, now() - make_interval(secs => ($2 - s) * 5), 5 + (s % 7), 1.5, '{}',
              ${layout === 'current' ? loads('s') : layout === 'upgraded' ? `CASE WHEN s > $2 / 2 THEN ${loads('s')} END` : 'NULL'}
         FROM generate_series(1, $2) s, generate_series(1, $1) v ORDER BY 2`,
      [vens, perVen],
    );
    if (layout !== 'current')
      await c.query(
        `INSERT INTO grid_load_readings (ven_id, load_id, ts, name, type, capacity_kw, shed_capability_kw,
                                         current_power_kw, enabled)
         SELECT r.ven_id, 'c' || l, r.ts, 'circuit', 'hvac', 7.2, 1.5, 1.0 + l, true
           FROM grid_readings r, generate_series(1, 5) l WHERE r.loads IS NULL ORDER BY r.ts`,
      );
    await c.query('VACUUM ANALYZE');
    const loadS = (performance.now() - t0) / 1000;
    const day = [new Date(Date.now() - 86_400_000), new Date()];
    const queries: [string, string, unknown[]][] = [
      ['one VEN with its current loads', `SELECT * FROM grid_vens_current WHERE id = 'v7'`, []],
      ['every VEN with its current loads', `SELECT * FROM grid_vens_current`, []],
      ['network totals (latest state)', `SELECT sum(current_power_kw) FROM grid_vens_state`, []],
      [
        'newest 1,000 circuit rows of a VEN',
        // As the store asks it: each side of the loads its own newest 1,000 (see circuitSnapshots).
        `SELECT * FROM (
           (SELECT load_id, ts FROM grid_inline_loads
             WHERE ven_id = 'v7' AND ts >= $1 AND ts < $2 ORDER BY ts DESC, load_id DESC LIMIT 1000)
           UNION ALL
           (SELECT load_id, ts FROM grid_row_loads
             WHERE ven_id = 'v7' AND ts >= $1 AND ts < $2 ORDER BY ts DESC, load_id DESC LIMIT 1000)) u
          ORDER BY ts DESC, load_id DESC LIMIT 1000`,
        day,
      ],
      [
        "one load's day in 5-minute buckets",
        `SELECT date_bin('5 minutes', ts, 'epoch'), avg(current_power_kw) FROM grid_reading_loads
          WHERE ven_id = 'v7' AND ts >= $1 AND ts < $2 AND load_id = 'c2' GROUP BY 1`,
        day,
      ],
      [
        'every load row of a VEN in a day, counted',
        `SELECT count(*) FROM grid_reading_loads WHERE ven_id = 'v7' AND ts >= $1 AND ts < $2`,
        day,
      ],
      [
        'network hour in 5-minute buckets',
        `SELECT date_bin('5 minutes', ts, 'epoch'), sum(used_power_kw) FROM grid_readings
          WHERE ts >= now() - interval '1 hour' GROUP BY 1`,
        [],
      ],
    ];
    const rows: Record<string, string | number>[] = [];
    for (const [name, sql, params] of queries) {
      const { plan, ms } = await explain(c, sql, params);
      // How the large tables are reached (the others are empty here).
      const scans = new Set<string>();
      for (const line of plan) {
        const m =
          /((?:Index Only |Index |Bitmap Index |Bitmap Heap |Seq )Scan(?: Backward)?(?: using \w+)?) on (grid_(?:load_)?readings)\b/.exec(
            line,
          );
        if (m) scans.add(`${m[1]} on ${m[2]}`);
      }
      rows.push({
        loads: layout,
        query: name,
        ms,
        'access to readings and load rows': [...scans].join('; '),
      });
    }
    return { loadS, rows };
  } finally {
    await drop();
  }
}

/** Readings of the VEN without loads in {@link quietVen}. */
const QUIET_READINGS = 1_000_000;

/**
 * A VEN whose metering carries no loads, with a long history, beside 100 VENs that report loads:
 * its current loads, and every VEN's, as migrated and, as the baseline, with the view of migration
 * 005 (which read that VEN's readings backwards until one had loads).
 */
async function quietVen(admin: string, schema: 'current' | 'before 006') {
  const { c, drop } = await freshDatabase(
    admin,
    schema === 'current' ? MIGRATIONS.current : MIGRATIONS.current.filter((m) => m !== currentLoadsHorizon),
  );
  try {
    await c.query(
      `INSERT INTO grid_vens (id, name, registration_id, status, last_seen)
       SELECT id, id, id, 'online', now() FROM (SELECT 'v' || i AS id FROM generate_series(1, 100) i
                                                UNION ALL SELECT 'quiet') x`,
    );
    await c.query(
      `INSERT INTO grid_readings (ven_id, ts, used_power_kw, payload, loads)
       SELECT 'v' || v, now() - make_interval(secs => s * 5), 5, '{}',
              '[["c1","circuit","hvac",7.2,1.5,' || (1 + s * 0.001) || ',true,null]]'
         FROM generate_series(1, 1000) s, generate_series(1, 100) v
       UNION ALL
       SELECT 'quiet', now() - make_interval(secs => s * 5), 3, '{}', '[]' FROM generate_series(1, $1) s`,
      [QUIET_READINGS],
    );
    await c.query('VACUUM ANALYZE');
    const ms = async (sql: string) => (await explain(c, sql)).ms;
    return {
      view: schema,
      'the VEN without loads, ms': await ms(`SELECT * FROM grid_vens_current WHERE id = 'quiet'`),
      'a VEN with loads, ms': await ms(`SELECT * FROM grid_vens_current WHERE id = 'v7'`),
      'every VEN with its current loads, ms': await ms('SELECT * FROM grid_vens_current'),
    };
  } finally {
    await drop();
  }
}

export default async function gridStore(args: string[]) {
  const admin =
    process.env.BENCH_DATABASE_URL ??
    process.env.TEST_DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/postgres';
  if (args.includes('--jit')) sessionOptions = '-c jit=on';
  const messages = Number(arg(args, 'messages', '60000'));
  const vens = Number(arg(args, 'vens', '1000'));
  const [scaleVens, scaleReadings] = arg(args, 'scale', '200x5000').split('x').map(Number) as [
    number,
    number,
  ];

  const written = [
    await writes(admin, 'before 003', messages, vens),
    await writes(admin, 'before 005', messages, vens),
    await writes(admin, 'current', messages, vens),
  ];
  const cpu = (layout: Layout) => written.find((w) => w.layout === layout)!['PG CPU µs/msg'];
  process.stdout.write(
    `\ngrid-store writes: ${messages} metering messages (a reading + 5 loads) from ${vens} VENs, COPY in batches of ${BATCH}\n` +
      `${table(written)}\n` +
      `ratio PostgreSQL CPU per message, current / before 005: ${(cpu('current') / cpu('before 005')).toFixed(2)}, ` +
      `current / before 003: ${(cpu('current') / cpu('before 003')).toFixed(2)}\n`,
  );
  const readRows: Record<string, string | number>[] = [];
  for (const layout of Object.keys(READ_LAYOUTS) as ReadLayout[]) {
    const read = await reads(admin, scaleVens, scaleReadings, layout);
    process.stdout.write(
      `\ngrid-store reads, loads ${READ_LAYOUTS[layout]}${sessionOptions === SESSION_OPTIONS ? '' : ', JIT on'}: ` +
        `${scaleVens} VENs × ${scaleReadings} readings (${(scaleVens * scaleReadings * 5).toLocaleString('en')} loads, loaded in ${read.loadS.toFixed(0)} s)\n` +
        `${table(read.rows)}\n`,
    );
    readRows.push(...read.rows);
  }
  const quiet = [await quietVen(admin, 'before 006'), await quietVen(admin, 'current')];
  process.stdout.write(
    `\ngrid-store reads, a VEN whose ${QUIET_READINGS.toLocaleString('en')} readings have no loads, beside 100 VENs with 1,000 readings with loads each\n` +
      `${table(quiet)}\n`,
  );
  return { written, quiet, reads: readRows };
}
