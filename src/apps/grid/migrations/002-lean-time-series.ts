import type { Migration } from '../../../platform/db/migrate.ts';

/**
 * Cheaper ingest for the two high-volume tables, measured with `npm run bench -- grid-ingest`:
 * - no foreign key from the ingested tables (readings, load readings, status reports) to their
 *   VEN: the check ran once per row, six times per metering message. Ingest registers a VEN in
 *   the transaction of the first rows it stores of it, and deleting a VEN deletes its rows
 *   explicitly.
 * - load readings keyed (ven_id, ts, load_id): the one index serves per-VEN windows, per-load
 *   windows and "the loads of one reading"; the separate (ven_id, ts) index goes.
 * - the raw payload as `json`: the text as received, validated but not converted.
 * - a VEN's current loads are its newest load readings (one index probe, the view
 *   `grid_vens_current`) instead of a jsonb copy rewritten with every message: that copy was most
 *   of the cost of the per-batch VEN upsert. The upsert also no longer touches an index
 *   (status, last_seen) that the offline sweep, a scan of a small table, does not need, and free
 *   space on each page (fillfactor) lets PostgreSQL update VEN rows in place (HOT).
 */
export const leanTimeSeries: Migration = {
  id: '002_lean_time_series',
  up: `
    ALTER TABLE grid_readings DROP CONSTRAINT IF EXISTS grid_readings_ven_id_fkey;
    ALTER TABLE grid_load_readings DROP CONSTRAINT IF EXISTS grid_load_readings_ven_id_fkey;
    ALTER TABLE grid_status_reports DROP CONSTRAINT IF EXISTS grid_status_reports_ven_id_fkey;
    ALTER TABLE grid_load_readings DROP CONSTRAINT grid_load_readings_pkey;
    ALTER TABLE grid_load_readings ADD PRIMARY KEY (ven_id, ts, load_id);
    DROP INDEX grid_load_readings_ven_ts_idx;
    ALTER TABLE grid_readings ALTER COLUMN raw TYPE json USING raw::json;
    DROP INDEX grid_vens_status_seen_idx;
    ALTER TABLE grid_vens SET (fillfactor = 50);
    CREATE VIEW grid_vens_current AS
      SELECT v.id, v.name, v.status, v.lat, v.lon, v.registration_id, v.created_at, v.last_seen, v.latest_at,
             v.current_power_kw, v.shed_availability_kw, v.active_event_id, coalesce(n.loads, v.loads) AS loads,
             v.desired
        FROM grid_vens v
        LEFT JOIN LATERAL (
          SELECT jsonb_agg(jsonb_build_object('id', l.load_id, 'name', coalesce(l.name, l.load_id),
                   'type', coalesce(l.type, 'other'), 'capacityKw', coalesce(l.capacity_kw, 0),
                   'shedCapabilityKw', coalesce(l.shed_capability_kw, 0),
                   'currentPowerKw', coalesce(l.current_power_kw, 0), 'enabled', coalesce(l.enabled, true))
                   ORDER BY l.load_id) AS loads
            FROM grid_load_readings l
           WHERE l.ven_id = v.id AND l.ts = (SELECT max(ts) FROM grid_load_readings WHERE ven_id = v.id)) n ON true;
  `,
};
