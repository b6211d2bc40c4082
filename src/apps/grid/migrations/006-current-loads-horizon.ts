import type { Migration } from '../../../platform/db/migrate.ts';

/**
 * A VEN's current loads are those of its newest reading that has loads, or of its newest loads
 * snapshot when that is newer. That reading was found by reading the VEN's readings backwards until
 * one had loads, so a VEN whose metering carries no loads, or no longer does, had its whole history
 * read on every `/api/vens`: 115–145 ms for a VEN with 1,000,000 such readings (`grid-store`),
 * growing with its history.
 *
 * Now only the VEN's newest 1,000 readings are looked at: its current loads are those of the
 * newest of them that has loads (on its row, or in load rows for a reading stored before 005), or
 * of its newest snapshot when that is newer. A VEN's "latest telemetry" (the spec's words) is its
 * newest reading; the 1,000 tolerate metering that now and then carries no loads. A VEN none of
 * whose last 1,000 readings has loads shows its newest snapshot's loads, or none. A VEN's row reads
 * at most 1,000 readings on each side, and counts at most 1,000 more when only an old one has
 * loads; for a VEN that reports loads, it reads one.
 *
 * An index of the readings that have loads would find the newest one exactly, but it would cost
 * ingest an index entry for nearly every message (measured: PostgreSQL CPU per message ×1.27) for
 * the sake of a VEN that does not report loads.
 */
export const currentLoadsHorizon: Migration = {
  id: '006_current_loads_horizon',
  up: `
    DROP VIEW grid_vens_current;
    CREATE VIEW grid_vens_current AS
      SELECT v.id, v.name, v.status, v.lat, v.lon, v.registration_id, v.created_at, v.last_seen, v.latest_at,
             v.current_power_kw, v.shed_availability_kw, v.active_event_id, coalesce(n.loads, v.loads) AS loads,
             v.desired
        FROM grid_vens_state v
        -- The newest reading stored before 005 that has load rows, among the VEN's newest 1,000
        -- such readings: a probe of the load rows per reading (written as EXISTS, the planner took
        -- it for a semi join and scanned the load rows instead).
        LEFT JOIN LATERAL (
          SELECT r.ts
            FROM (SELECT ts FROM grid_readings WHERE ven_id = v.id AND loads IS NULL
                   ORDER BY ts DESC LIMIT 1000) r
           WHERE (SELECT true FROM grid_load_readings l WHERE l.ts = r.ts AND l.ven_id = v.id LIMIT 1)
           ORDER BY r.ts DESC LIMIT 1) prior ON true
        -- The newest reading with loads on its row, among the VEN's newest 1,000 readings newer
        -- than that one. Rows are taken from the newest on only as far as needed: for a VEN that
        -- reports loads, one.
        LEFT JOIN LATERAL (
          SELECT r.ts
            FROM (SELECT ts, loads FROM grid_readings
                   WHERE ven_id = v.id AND ts > coalesce(prior.ts, '-infinity')
                   ORDER BY ts DESC LIMIT 1000) r
           WHERE r.loads <> '[]' ORDER BY r.ts DESC LIMIT 1) inline ON true
        -- The reading whose loads are current: that one, or else the old one if it is among the
        -- VEN's newest 1,000 readings (counted only then).
        CROSS JOIN LATERAL (
          SELECT CASE
                   WHEN inline.ts IS NOT NULL THEN inline.ts
                   WHEN prior.ts IS NOT NULL
                    AND (SELECT count(*) FROM (SELECT FROM grid_readings
                                                WHERE ven_id = v.id AND ts > prior.ts LIMIT 1000) c) < 1000
                     THEN prior.ts
                 END AS ts) reading
        LEFT JOIN LATERAL (
          SELECT s.ts FROM grid_load_snapshots s WHERE s.ven_id = v.id ORDER BY s.ts DESC LIMIT 1) snap ON true
        -- A snapshot when it is newer than that reading (the reading wins a tie).
        CROSS JOIN LATERAL (
          SELECT coalesce(snap.ts > reading.ts, snap.ts IS NOT NULL) AS snapshot) pick
        CROSS JOIN LATERAL (
          SELECT CASE WHEN pick.snapshot THEN snap.ts ELSE reading.ts END AS ts, pick.snapshot) newest
        LEFT JOIN LATERAL (
          SELECT jsonb_agg(jsonb_build_object('id', l.load_id, 'name', coalesce(l.name, l.load_id),
                   'type', coalesce(l.type, 'other'), 'capacityKw', coalesce(l.capacity_kw, 0),
                   'shedCapabilityKw', coalesce(l.shed_capability_kw, 0),
                   'currentPowerKw', coalesce(l.current_power_kw, 0), 'enabled', coalesce(l.enabled, true))
                   ORDER BY l.load_id) AS loads
            FROM (
              SELECT load_id, name, type, capacity_kw, shed_capability_kw, current_power_kw, enabled
                FROM grid_reading_loads WHERE NOT newest.snapshot AND ven_id = v.id AND ts = newest.ts
              UNION ALL
              SELECT load_id, name, type, capacity_kw, shed_capability_kw, current_power_kw, enabled
                FROM grid_load_snapshots WHERE newest.snapshot AND ven_id = v.id AND ts = newest.ts) l) n ON true;
  `,
};
