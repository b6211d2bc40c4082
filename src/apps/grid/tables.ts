/**
 * The tables the ingest batch writer fills, and how one decoded message becomes rows for them.
 * Every insert is idempotent (readings keyed by VEN and time), so a message the broker
 * redelivers after a crash is stored once.
 */
import type { TableSpec, Unit } from '../../platform/ingest/batch-writer.ts';
import type { LoadReport, Metering, LoadSnapshot, StatusReport } from './codec.ts';

const latest = (col: string, keep = true) =>
  `${col} = CASE WHEN grid_vens.latest_at IS NULL OR excluded.latest_at >= grid_vens.latest_at
     THEN ${keep ? `coalesce(excluded.${col}, grid_vens.${col})` : `excluded.${col}`} ELSE grid_vens.${col} END`;

export const VEN_UPSERT: TableSpec = {
  table: 'grid_vens',
  columns: [
    { name: 'id', type: 'text' },
    { name: 'name', type: 'text' },
    { name: 'status', type: 'text' },
    { name: 'registration_id', type: 'text' },
    { name: 'last_seen', type: 'timestamptz' },
    { name: 'latest_at', type: 'timestamptz' },
    { name: 'current_power_kw', type: 'float8' },
    { name: 'shed_availability_kw', type: 'float8' },
    { name: 'active_event_id', type: 'text' },
    { name: 'loads', type: 'jsonb' },
  ],
  // Unknown VENs register themselves; every message refreshes lastSeen and marks the VEN online;
  // the "latest" fields only move forward in time (messages may arrive out of order).
  onConflict: `ON CONFLICT (id) DO UPDATE SET
    status = 'online',
    last_seen = greatest(grid_vens.last_seen, excluded.last_seen),
    ${latest('current_power_kw')},
    ${latest('shed_availability_kw')},
    ${latest('active_event_id', false)},
    ${latest('loads')},
    latest_at = greatest(grid_vens.latest_at, excluded.latest_at)`,
  key: (row) => row[0] as string,
  merge: (a, b) => {
    const newer = (b[5] as string) >= (a[5] as string) ? b : a;
    const older = newer === b ? a : b;
    const out = [...newer];
    out[4] = (a[4] as string) > (b[4] as string) ? a[4] : b[4];
    // A status report carries no loads: keep the other message's.
    if (out[9] === null) out[9] = older[9];
    return out;
  },
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
    { name: 'raw', type: 'jsonb' },
  ],
  onConflict: 'ON CONFLICT (ven_id, ts) DO NOTHING',
};

export const LOAD_READINGS: TableSpec = {
  table: 'grid_load_readings',
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
    { name: 'source', type: 'text' },
  ],
  onConflict: 'ON CONFLICT (ven_id, load_id, ts) DO NOTHING',
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

/** Parents first: the VEN row must exist before its readings reference it. */
export const GRID_TABLES: readonly TableSpec[] = [VEN_UPSERT, READINGS, LOAD_READINGS, STATUS_REPORTS];

const iso = (d: Date) => d.toISOString();

function loadsJson(loads: LoadReport[]): string {
  return JSON.stringify(
    loads.map((l) => ({
      id: l.id,
      name: l.name ?? l.id,
      type: l.type ?? 'other',
      capacityKw: l.capacityKw ?? 0,
      shedCapabilityKw: l.shedCapabilityKw ?? 0,
      currentPowerKw: l.currentPowerKw ?? 0,
      enabled: l.enabled ?? true,
    })),
  );
}

function venRow(
  venId: string,
  at: Date,
  receivedAt: Date,
  power: number | null,
  shed: number | null,
  eventId: string | null,
  loads: string | null,
): unknown[] {
  return [venId, venId, 'online', venId, iso(receivedAt), iso(at), power, shed, eventId, loads];
}

function loadRows(venId: string, at: Date, loads: LoadReport[], source: string): unknown[][] {
  return loads.map((l) => [
    venId,
    l.id,
    iso(at),
    l.name,
    l.type,
    l.capacityKw,
    l.shedCapabilityKw,
    l.currentPowerKw,
    l.enabled,
    l.priority,
    source,
  ]);
}

export function meteringUnit(m: Metering, receivedAt: Date): Unit {
  return {
    grid_vens: [
      venRow(m.venId, m.timestamp, receivedAt, m.usedPowerKw, m.shedPowerKw, m.eventId, loadsJson(m.loads)),
    ],
    grid_readings: [
      [
        m.venId,
        iso(m.timestamp),
        m.usedPowerKw,
        m.shedPowerKw,
        m.requestedReductionKw,
        m.eventId,
        m.batterySoc,
        JSON.stringify(m.raw),
      ],
    ],
    grid_load_readings: loadRows(m.venId, m.timestamp, m.loads, 'metering'),
  };
}

export function statusUnit(s: StatusReport, receivedAt: Date): Unit {
  return {
    grid_vens: [
      venRow(s.venId, s.timestamp, receivedAt, s.currentPowerKw, s.shedAvailabilityKw, s.activeEventId, null),
    ],
    grid_status_reports: [
      [
        s.venId,
        iso(s.timestamp),
        s.status,
        s.currentPowerKw,
        s.shedAvailabilityKw,
        s.activeEventId,
        JSON.stringify(s.raw),
      ],
    ],
  };
}

export function snapshotUnit(s: LoadSnapshot, receivedAt: Date): Unit {
  // A snapshot refreshes lastSeen and the loads, not the VEN's power figures.
  return {
    grid_vens: [
      [
        s.venId,
        s.venId,
        'online',
        s.venId,
        iso(receivedAt),
        null,
        null,
        null,
        null,
        loadsJson(s.loads),
        null,
      ],
    ],
    grid_load_readings: loadRows(s.venId, s.timestamp, s.loads, 'snapshot'),
  };
}
