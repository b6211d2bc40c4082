import type { Migration } from '../../../platform/db/migrate.ts';

/**
 * Ingest that appends instead of updating, measured with `npm run bench -- grid-store` (the
 * database's share) and `grid-ingest` (the whole path):
 * - Load rows keyed time first. A B-tree keyed (ven_id, ts, load_id) takes every new row at one of
 *   as many insertion points as there are VENs: each of the five load rows of a message cost a
 *   descent to its own leaf, a page split in the middle of the tree now and then and the WAL of
 *   both. Keyed (ts, ven_id, load_id), new rows land at the right edge of the index, B-tree's cheap
 *   case. Per-VEN reads go through the readings' (ven_id, ts) key and then look their loads up by
 *   (ts, ven_id), which that key serves.
 * - Snapshot loads (the loads topic) have no reading to go through: they get their own table,
 *   keyed per VEN as before (the seed kept them apart too, as `load_snapshots`); they are rare.
 * - The readings' time index becomes a BRIN index: readings arrive in time order, so a block
 *   range summary finds a window as well as a B-tree does, for next to nothing per insert.
 * - A VEN's latest state (power, shed availability, active event) is read from its newest reading
 *   and newest status report instead of being copied onto its row by every message: that upsert
 *   cost each message an index probe, a row update and its WAL, and two batches carrying the same
 *   VENs queued behind each other's row locks until the first committed. The row keeps what is the
 *   VEN's own (registration, status, desired state) and `last_seen`, which ingest refreshes at most
 *   every few seconds per VEN (see `GridIngest`).
 *
 * `grid_vens_state`: the row plus the latest state; `grid_vens_current`: that plus current loads.
 */
export const leanIngest: Migration = {
  id: '003_lean_ingest',
  up: `
    CREATE TABLE grid_load_snapshots (
      ven_id text NOT NULL,
      ts timestamptz NOT NULL,
      load_id text NOT NULL,
      name text,
      type text,
      capacity_kw double precision,
      shed_capability_kw double precision,
      current_power_kw double precision,
      enabled boolean,
      priority integer,
      PRIMARY KEY (ven_id, ts, load_id)
    );
    INSERT INTO grid_load_snapshots
      SELECT ven_id, ts, load_id, name, type, capacity_kw, shed_capability_kw, current_power_kw, enabled, priority
        FROM grid_load_readings WHERE source = 'snapshot';
    DROP VIEW grid_vens_current;
    DELETE FROM grid_load_readings WHERE source = 'snapshot';
    ALTER TABLE grid_load_readings DROP COLUMN source;
    ALTER TABLE grid_load_readings DROP CONSTRAINT grid_load_readings_pkey;
    ALTER TABLE grid_load_readings ADD PRIMARY KEY (ts, ven_id, load_id);

    DROP INDEX grid_readings_ts_idx;
    CREATE INDEX grid_readings_ts_brin ON grid_readings USING brin (ts);

    ALTER TABLE grid_vens DROP COLUMN latest_at, DROP COLUMN current_power_kw,
      DROP COLUMN shed_availability_kw, DROP COLUMN active_event_id;

    CREATE VIEW grid_vens_state AS
      SELECT v.id, v.name, v.status, v.lat, v.lon, v.registration_id, v.created_at, v.last_seen,
             greatest(r.ts, s.ts) AS latest_at,
             CASE WHEN s.ts > r.ts OR r.ts IS NULL THEN coalesce(s.power, r.power)
                  ELSE coalesce(r.power, s.power) END AS current_power_kw,
             CASE WHEN s.ts > r.ts OR r.ts IS NULL THEN coalesce(s.shed, r.shed)
                  ELSE coalesce(r.shed, s.shed) END AS shed_availability_kw,
             CASE WHEN s.ts > r.ts OR r.ts IS NULL THEN s.event_id ELSE r.event_id END AS active_event_id,
             v.loads, v.desired
        FROM grid_vens v
        LEFT JOIN LATERAL (
          SELECT ts, used_power_kw AS power, shed_power_kw AS shed, event_id
            FROM grid_readings WHERE ven_id = v.id ORDER BY ts DESC LIMIT 1) r ON true
        LEFT JOIN LATERAL (
          SELECT ts, current_power_kw AS power, shed_availability_kw AS shed, active_event_id AS event_id
            FROM grid_status_reports WHERE ven_id = v.id ORDER BY ts DESC LIMIT 1) s ON true;

    -- A VEN's current loads: those of its newest reading or snapshot that has any.
    CREATE VIEW grid_vens_current AS
      SELECT v.id, v.name, v.status, v.lat, v.lon, v.registration_id, v.created_at, v.last_seen, v.latest_at,
             v.current_power_kw, v.shed_availability_kw, v.active_event_id, coalesce(n.loads, v.loads) AS loads,
             v.desired
        FROM grid_vens_state v
        LEFT JOIN LATERAL (
          SELECT x.ts, x.snapshot FROM (
            (SELECT r.ts, false AS snapshot FROM grid_readings r
              WHERE r.ven_id = v.id
                AND EXISTS (SELECT 1 FROM grid_load_readings l WHERE l.ts = r.ts AND l.ven_id = r.ven_id)
              ORDER BY r.ts DESC LIMIT 1)
            UNION ALL
            (SELECT s.ts, true FROM grid_load_snapshots s WHERE s.ven_id = v.id ORDER BY s.ts DESC LIMIT 1)
          ) x ORDER BY x.ts DESC, x.snapshot LIMIT 1) newest ON true
        LEFT JOIN LATERAL (
          SELECT jsonb_agg(jsonb_build_object('id', l.load_id, 'name', coalesce(l.name, l.load_id),
                   'type', coalesce(l.type, 'other'), 'capacityKw', coalesce(l.capacity_kw, 0),
                   'shedCapabilityKw', coalesce(l.shed_capability_kw, 0),
                   'currentPowerKw', coalesce(l.current_power_kw, 0), 'enabled', coalesce(l.enabled, true))
                   ORDER BY l.load_id) AS loads
            FROM (
              SELECT load_id, name, type, capacity_kw, shed_capability_kw, current_power_kw, enabled
                FROM grid_load_readings WHERE NOT newest.snapshot AND ts = newest.ts AND ven_id = v.id
              UNION ALL
              SELECT load_id, name, type, capacity_kw, shed_capability_kw, current_power_kw, enabled
                FROM grid_load_snapshots WHERE newest.snapshot AND ven_id = v.id AND ts = newest.ts) l) n ON true;
  `,
};
