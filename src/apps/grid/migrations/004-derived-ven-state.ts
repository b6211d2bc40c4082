import type { Migration } from '../../../platform/db/migrate.ts';

/**
 * A VEN's latest state (power, shed availability, active event) is read from its newest reading
 * and newest status report instead of being copied onto its row by every message, measured with
 * `npm run bench -- grid-ingest`: the upsert cost each message an index probe, a row update and
 * its WAL, and two batches carrying the same VENs queued behind each other's row locks until the
 * first committed. The row keeps what is the VEN's own (registration, status, desired state) and
 * `last_seen`, which ingest refreshes at most every few seconds per VEN (see `GridIngest`); the
 * newest reading or report is one index probe away on their (ven_id, ts) keys.
 *
 * `grid_vens_state`: the row plus the latest state; `grid_vens_current`: that plus current loads.
 */
export const derivedVenState: Migration = {
  id: '004_derived_ven_state',
  up: `
    DROP VIEW grid_vens_current;
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

    -- As in migration 003, on top of the derived state.
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
