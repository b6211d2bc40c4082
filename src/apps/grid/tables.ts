/**
 * The tables the ingest batch writer fills, and how one decoded message becomes rows for them.
 * Every insert is idempotent (readings keyed by VEN and time), so a message the broker
 * redelivers after a crash is stored once.
 */
import type { TableSpec, Unit } from '../../platform/ingest/batch-writer.ts';
import type { LoadReport, Metering, LoadSnapshot, StatusReport } from './codec.ts';

/**
 * A VEN's row as ingest touches it: registered when unknown, marked online, `last_seen` moved
 * forward. Its latest state is not copied here (it is read from the newest reading or report,
 * migration 003), and ingest includes this row only when the VEN is not known to be online or
 * its `last_seen` was written more than a few seconds ago (see `GridIngest`). Written last in
 * each batch, so that its row locks are held only for the statement and the COMMIT.
 */
export const VEN_UPSERT: TableSpec = {
  table: 'grid_vens',
  columns: [
    { name: 'id', type: 'text' },
    { name: 'name', type: 'text' },
    { name: 'status', type: 'text' },
    { name: 'registration_id', type: 'text' },
    { name: 'last_seen', type: 'timestamptz' },
  ],
  onConflict: `ON CONFLICT (id) DO UPDATE SET
    status = 'online',
    last_seen = greatest(grid_vens.last_seen, excluded.last_seen)`,
  key: (row) => row[0] as string,
  merge: (a, b) => (time(b[4]) >= time(a[4]) ? b : a),
};

export const READINGS: TableSpec = {
  table: 'grid_readings',
  columns: [
    { name: 'ven_id', type: 'text' },
    { name: 'ts', type: 'timestamptz' },
    { name: 'used_power_kw', type: 'float8' },
    { name: 'shed_power_kw', type: 'float8' },
    { name: 'requested_reduction_kw', type: 'float8' },
    { name: 'event_id', type: 'text' },
    { name: 'battery_soc', type: 'float8' },
    // The payload as received (migration 004; rows stored before it have theirs in `raw`).
    { name: 'payload', type: 'text' },
    // The loads, compact JSON text (migration 005; rows stored before it have them in
    // `grid_load_readings`).
    { name: 'loads', type: 'text' },
  ],
  onConflict: 'ON CONFLICT (ven_id, ts) DO NOTHING',
  copy: true,
};

/** The loads of the loads topic's snapshots (rare), keyed per VEN. */
export const LOAD_SNAPSHOTS: TableSpec = {
  table: 'grid_load_snapshots',
  columns: [
    { name: 'ven_id', type: 'text' },
    { name: 'load_id', type: 'text' },
    { name: 'ts', type: 'timestamptz' },
    { name: 'name', type: 'text' },
    { name: 'type', type: 'text' },
    { name: 'capacity_kw', type: 'float8' },
    { name: 'shed_capability_kw', type: 'float8' },
    { name: 'current_power_kw', type: 'float8' },
    { name: 'enabled', type: 'bool' },
    { name: 'priority', type: 'int4' },
  ],
  onConflict: 'ON CONFLICT (ven_id, ts, load_id) DO NOTHING',
};

export const STATUS_REPORTS: TableSpec = {
  table: 'grid_status_reports',
  columns: [
    { name: 'ven_id', type: 'text' },
    { name: 'ts', type: 'timestamptz' },
    { name: 'status', type: 'text' },
    { name: 'current_power_kw', type: 'float8' },
    { name: 'shed_availability_kw', type: 'float8' },
    { name: 'active_event_id', type: 'text' },
    { name: 'raw', type: 'jsonb' },
  ],
  onConflict: 'ON CONFLICT (ven_id, ts) DO NOTHING',
};

/**
 * What the ingest batch writer fills, in this order: the time series (no foreign keys, see
 * migration 002), then the VENs' state, which also registers unknown VENs in the same transaction.
 */
export const GRID_TABLES: readonly TableSpec[] = [READINGS, LOAD_SNAPSHOTS, STATUS_REPORTS, VEN_UPSERT];

/** Milliseconds of a timestamp cell (a Date, or null: before everything). */
const time = (v: unknown) => (v instanceof Date ? v.getTime() : -Infinity);

/** The VEN's row, when the unit is to touch it (see {@link VEN_UPSERT}). */
function venRows(venId: string, receivedAt: number, touch: boolean): unknown[][] {
  return touch ? [[venId, venId, 'online', venId, new Date(receivedAt)]] : [];
}

/** A load's fields in the order of the `loads` column (migration 005). */
function loadFields(l: LoadReport): unknown[] {
  return [l.id, l.name, l.type, l.capacityKw, l.shedCapabilityKw, l.currentPowerKw, l.enabled, l.priority];
}

/** Rows of LOAD_SNAPSHOTS: the VEN and time, with the id, then the load's other fields. */
function loadRows(venId: string, at: Date, loads: LoadReport[]): unknown[][] {
  return loads.map((l) => {
    const [id, ...rest] = loadFields(l);
    return [venId, id, at, ...rest];
  });
}

/**
 * A reading's loads as its `loads` column holds them (migration 005): one array per load, its
 * fields in a fixed order. The codec admits no string that PostgreSQL's JSON parser refuses (NUL,
 * unpaired surrogates), so readers can always parse what this writes.
 */
export function inlineLoads(loads: LoadReport[]): string {
  return loads.length === 0 ? '[]' : JSON.stringify(loads.map(loadFields));
}

/**
 * `receivedAt`: epoch ms; `raw`: the payload as received (valid JSON: it was just decoded);
 * `touch`: write the VEN's row.
 */
export function meteringUnit(m: Metering, receivedAt: number, raw: string | Buffer, touch: boolean): Unit {
  return {
    grid_readings: [
      [
        m.venId,
        m.timestamp,
        m.usedPowerKw,
        m.shedPowerKw,
        m.requestedReductionKw,
        m.eventId,
        m.batterySoc,
        raw,
        inlineLoads(m.loads),
      ],
    ],
    grid_vens: venRows(m.venId, receivedAt, touch),
  };
}

export function statusUnit(s: StatusReport, receivedAt: number, touch: boolean): Unit {
  return {
    grid_status_reports: [
      [
        s.venId,
        s.timestamp,
        s.status,
        s.currentPowerKw,
        s.shedAvailabilityKw,
        s.activeEventId,
        JSON.stringify(s.raw),
      ],
    ],
    grid_vens: venRows(s.venId, receivedAt, touch),
  };
}

export function snapshotUnit(s: LoadSnapshot, receivedAt: number, touch: boolean): Unit {
  return {
    grid_load_snapshots: loadRows(s.venId, s.timestamp, s.loads),
    grid_vens: venRows(s.venId, receivedAt, touch),
  };
}
