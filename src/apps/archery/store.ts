/**
 * The archery app's SQL. Every statement is parameterised; column names come only from the
 * whitelists below, never from a request. Functions take a `Queryable` so that the server,
 * transactions and the sensor processes run the very same SQL.
 */
import type { Queryable } from '../../platform/db/port.ts';

/** Columns a client may filter on or write, per table. */
export const COLUMNS = {
  archery_arrows: [
    'id',
    'human_identifier',
    'length',
    'registration_date',
    'is_programmed',
    'is_active',
    'voided_date',
    'weight',
    'diameter',
    'spine',
    'label_position',
  ],
  archery_sessions: ['id', 'is_opened', 'start_time', 'end_time', 'location', 'is_indoor'],
  archery_targets: ['id', 'max_x', 'max_y', 'distance', 'session_id'],
  archery_faces: ['id', 'target_id', 'x', 'y', 'human_identifier', 'radii', 'points'],
  archery_shots: [
    'id',
    'arrow_id',
    'session_id',
    'arrow_engage_time',
    'arrow_disengage_time',
    'arrow_landing_time',
    'x',
    'y',
  ],
} as const;
export type Table = keyof typeof COLUMNS;
type Row = Record<string, unknown>;

/** Order rows come back in, per table (stable listings). */
const ORDER: Record<Table, string> = {
  archery_arrows: 'registration_date, id',
  archery_sessions: 'start_time, id',
  archery_targets: 'id',
  archery_faces: 'human_identifier, id',
  archery_shots: 'arrow_disengage_time, id',
};

function checkColumns(table: Table, names: readonly string[]) {
  const allowed: readonly string[] = COLUMNS[table];
  for (const n of names) if (!allowed.includes(n)) throw new Error(`${table}: no column ${n}`);
}

/** `SELECT * FROM table WHERE col = $1 AND ...` over whitelisted columns, in a stable order. */
export async function selectWhere<R extends Row>(
  q: Queryable,
  table: Table,
  filters: Record<string, unknown> = {},
  limit = 10_000,
): Promise<R[]> {
  const names = Object.keys(filters).filter((k) => filters[k] !== undefined);
  checkColumns(table, names);
  const where = names.map((n, i) => `${n} = $${i + 1}`).join(' AND ');
  const params = names.map((n) => filters[n]);
  const sql = `SELECT * FROM ${table}${where ? ` WHERE ${where}` : ''} ORDER BY ${ORDER[table]} LIMIT ${Math.trunc(limit)}`;
  return (await q.query<R>(sql, params)).rows;
}

export async function selectById<R extends Row>(
  q: Queryable,
  table: Table,
  id: string,
): Promise<R | undefined> {
  return (await q.query<R>(`SELECT * FROM ${table} WHERE id = $1`, [id])).rows[0];
}

/** Inserts rows (all with the same keys) in one statement; returns them as stored. */
export async function insertRows<R extends Row>(
  q: Queryable,
  table: Table,
  rows: readonly Row[],
): Promise<R[]> {
  if (rows.length === 0) return [];
  const names = Object.keys(rows[0] as Row);
  checkColumns(table, names);
  const params: unknown[] = [];
  const values = rows.map((row) => {
    const slots = names.map((n) => {
      params.push(row[n] ?? null);
      return `$${params.length}`;
    });
    return `(${slots.join(', ')})`;
  });
  const cols = names.join(', ');
  const sql = `INSERT INTO ${table} (${cols}) VALUES ${values.join(', ')} RETURNING *`;
  return (await q.query<R>(sql, params)).rows;
}

/** Updates the given columns of one row; returns the row as stored, undefined when absent. */
export async function updateById<R extends Row>(
  q: Queryable,
  table: Table,
  id: string,
  patch: Row,
): Promise<R | undefined> {
  const names = Object.keys(patch).filter((k) => patch[k] !== undefined);
  if (names.length === 0) return selectById<R>(q, table, id);
  checkColumns(table, names);
  const sets = names.map((n, i) => `${n} = $${i + 2}`).join(', ');
  const sql = `UPDATE ${table} SET ${sets} WHERE id = $1 RETURNING *`;
  return (await q.query<R>(sql, [id, ...names.map((n) => patch[n])])).rows[0];
}

export async function deleteById(q: Queryable, table: Table, id: string): Promise<boolean> {
  return ((await q.query(`DELETE FROM ${table} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
}

/** Makes the shot trigger NOTIFY on the configured channel (every instance writes the same). */
export async function setWsChannel(q: Queryable, channel: string): Promise<void> {
  await q.query('UPDATE archery_settings SET ws_channel = $1 WHERE ws_channel IS DISTINCT FROM $1', [
    channel,
  ]);
}

export interface TargetWithFaces {
  id: string;
  session_id: string;
  max_x: number;
  max_y: number;
  distance: number;
  faces: { id: string; x: number; y: number; human_identifier: string; radii: number[]; points: number[] }[];
}

const TARGET_WITH_FACES = `
  SELECT t.*, coalesce(
    (SELECT json_agg(json_build_object('id', f.id, 'x', f.x, 'y', f.y, 'human_identifier',
       f.human_identifier, 'radii', f.radii, 'points', f.points) ORDER BY f.human_identifier)
     FROM archery_faces f WHERE f.target_id = t.id), '[]'::json) AS faces
  FROM archery_targets t`;

export async function targetsOfSessions(
  q: Queryable,
  sessionIds: readonly string[],
): Promise<TargetWithFaces[]> {
  if (sessionIds.length === 0) return [];
  const sql = `${TARGET_WITH_FACES} WHERE t.session_id = ANY($1::uuid[])`;
  return (await q.query<TargetWithFaces>(sql, [sessionIds])).rows;
}

export interface ShotWithArrow {
  id: string;
  arrow_id: string;
  session_id: string;
  arrow_engage_time: Date;
  arrow_disengage_time: Date;
  arrow_landing_time: Date | null;
  x: number | null;
  y: number | null;
  human_identifier: string;
}

const SHOT_WITH_ARROW = `
  SELECT s.*, a.human_identifier FROM archery_shots s JOIN archery_arrows a ON a.id = s.arrow_id`;

export async function shotsByIds(q: Queryable, ids: readonly string[]): Promise<ShotWithArrow[]> {
  const sql = `${SHOT_WITH_ARROW} WHERE s.id = ANY($1::uuid[]) ORDER BY s.arrow_disengage_time, s.id`;
  return (await q.query<ShotWithArrow>(sql, [ids])).rows;
}

/**
 * Shots with their session's target and faces in one round trip (the live feed's hot path):
 * the target columns are null when the session has none.
 */
export async function shotsWithTargets(
  q: Queryable,
  ids: readonly string[],
): Promise<{ shot: ShotWithArrow; target: TargetWithFaces | null }[]> {
  const sql = `
    SELECT s.*, a.human_identifier, row_to_json(tf) AS target
    FROM archery_shots s
    JOIN archery_arrows a ON a.id = s.arrow_id
    LEFT JOIN LATERAL (${TARGET_WITH_FACES} WHERE t.session_id = s.session_id) tf ON true
    WHERE s.id = ANY($1::uuid[])`;
  const rows = (await q.query<ShotWithArrow & { target: TargetWithFaces | null }>(sql, [ids])).rows;
  return rows.map(({ target, ...shot }) => ({ shot, target }));
}

export async function shotsOfSession(q: Queryable, sessionId: string): Promise<ShotWithArrow[]> {
  const sql = `${SHOT_WITH_ARROW} WHERE s.session_id = $1 ORDER BY s.arrow_disengage_time, s.id`;
  return (await q.query<ShotWithArrow>(sql, [sessionId])).rows;
}

export async function openSession<R extends Row>(q: Queryable): Promise<R | undefined> {
  return (await q.query<R>('SELECT * FROM archery_sessions WHERE end_time IS NULL')).rows[0];
}

// --- sensor readings: the only state the three sensor processes share ---

export type ReadingStage = 'bow' | 'target';

export interface Reading {
  id: string;
  session_id: string;
  arrow_id: string;
  read_at: Date;
  arrow_engage_time: Date | null;
  arrow_disengage_time: Date | null;
  target_read: boolean;
  arrow_landing_time: Date | null;
  x: number | null;
  y: number | null;
  shot_id: string | null;
}

export async function insertReading(q: Queryable, sessionId: string, arrowId: string): Promise<Reading> {
  const sql = 'INSERT INTO archery_shot_readings (session_id, arrow_id) VALUES ($1, $2) RETURNING *';
  return (await q.query<Reading>(sql, [sessionId, arrowId])).rows[0] as Reading;
}

/** Readings waiting for the bow reader (no release yet) or the target reader (released, not landed). */
export async function pendingReadings(q: Queryable, sessionId: string, stage: ReadingStage, limit = 100) {
  const cond = stage === 'bow' ? 'arrow_engage_time IS NULL' : 'arrow_engage_time IS NOT NULL';
  const sql = `SELECT * FROM archery_shot_readings WHERE session_id = $1 AND NOT target_read AND ${cond}
               ORDER BY read_at, id LIMIT $2`;
  return (await q.query<Reading>(sql, [sessionId, limit])).rows;
}

export async function recordBow(q: Queryable, id: string, engage: Date, disengage: Date) {
  const sql = `UPDATE archery_shot_readings SET arrow_engage_time = $2, arrow_disengage_time = $3
               WHERE id = $1 AND arrow_engage_time IS NULL RETURNING *`;
  return (await q.query<Reading>(sql, [id, engage, disengage])).rows[0];
}

export interface Landing {
  time: Date | null;
  x: number | null;
  y: number | null;
}

/**
 * Landing (all null for a miss; the database refuses a partial one); the database then turns
 * the reading into a shot.
 */
export async function recordTarget(q: Queryable, id: string, landing: Landing) {
  const sql = `UPDATE archery_shot_readings SET target_read = true, arrow_landing_time = $2, x = $3, y = $4
               WHERE id = $1 AND NOT target_read RETURNING *`;
  const params = [id, landing.time, landing.x, landing.y];
  return (await q.query<Reading>(sql, params)).rows[0];
}
