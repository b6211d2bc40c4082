import type { Migration } from '../../../platform/db/migrate.ts';

/**
 * Load rows keyed time first, measured with `npm run bench -- grid-ingest`:
 * - A B-tree keyed (ven_id, ts, load_id) takes every new row at one of as many insertion points as
 *   there are VENs: each of the five load rows of a message cost a descent to its own leaf, a page
 *   split in the middle of the tree now and then and the WAL of both, which was over half of
 *   PostgreSQL's time per message. Keyed (ts, ven_id, load_id), new rows land at the right edge of
 *   the index, B-tree's cheap case. Per-VEN reads go through the readings' (ven_id, ts) key and
 *   then look their loads up by (ts, ven_id), which that key serves.
 * - Snapshot loads (the loads topic) have no reading to go through: they get their own table,
 *   keyed per VEN as before (the seed kept them apart too, as `load_snapshots`); they are rare.
 * - The readings' time index becomes a BRIN index: readings arrive in time order, so a block
 *   range summary finds a window as well as a B-tree does, for next to nothing per insert.
 */
export const timeFirstLoads: Migration = {
  id: '003_time_first_loads',
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

    -- A VEN's current loads: those of its newest reading or snapshot that has any.
    CREATE VIEW grid_vens_current AS
      SELECT v.id, v.name, v.status, v.lat, v.lon, v.registration_id, v.created_at, v.last_seen, v.latest_at,
             v.current_power_kw, v.shed_availability_kw, v.active_event_id, coalesce(n.loads, v.loads) AS loads,
             v.desired
        FROM grid_vens v
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
