import type { Migration } from '../../../platform/db/migrate.ts';

/**
 * A metering message's loads go on its reading's row, not in five rows of their own. Measured
 * with `npm run bench -- grid-store`: a load row cost PostgreSQL a heap tuple, an entry in the
 * (ts, ven_id, load_id) key and the WAL of both, five times a message, which was more than half of
 * what the server spent on ingest. The reading row now carries them in `loads`, as compact JSON
 * text, one array per load in a fixed order:
 *
 *   [[id, name, type, capacityKw, shedCapabilityKw, currentPowerKw, enabled, priority], ...]
 *
 * ingest writes `[]` when a message has none. The column is `text` for the reason the payload is
 * (migration 004): ingest wrote it from values it had validated, and a `json` column would make
 * the server parse it again on the way in. Readers parse it when they need the loads, which is
 * far rarer than writing them.
 *
 * A second message with the same VEN and time is taken for a redelivery, as the reading always
 * was: stored once, loads and all (before, its loads were added to the first's if their ids
 * differed).
 *
 * Rows stored before keep their loads in `grid_load_readings` (moving them would rewrite the two
 * largest tables at start-up); their `loads` is NULL. A partial index finds those old readings,
 * and only those: new rows are not in it, so it costs ingest nothing, and for a window holding
 * only new readings the old rows' side of every query is one empty index probe. Building it reads
 * the readings once, during the upgrade (writes to them wait for it). A gateway of before 005
 * still running beside upgraded ones (a rolling upgrade) writes old-style rows, which the views
 * read, but does not see the loads of new rows until it is upgraded too.
 *
 * `grid_reading_loads` is every metering load, old (`grid_row_loads`) or new
 * (`grid_inline_loads`), one row per load. Per-VEN windows reach both through the readings'
 * (ven_id, ts) key.
 */
export const loadsInline: Migration = {
  id: '005_loads_inline',
  up: `
    ALTER TABLE grid_readings ADD COLUMN loads text;
    CREATE INDEX grid_readings_old_loads_idx ON grid_readings (ven_id, ts) WHERE loads IS NULL;

    -- The loads of new readings, and those of readings stored before (through the readings, as in 003).
    CREATE VIEW grid_inline_loads AS
      SELECT r.ven_id, r.ts, e->>0 AS load_id, e->>1 AS name, e->>2 AS type,
             (e->>3)::float8 AS capacity_kw, (e->>4)::float8 AS shed_capability_kw,
             (e->>5)::float8 AS current_power_kw, (e->>6)::boolean AS enabled, (e->>7)::integer AS priority
        FROM grid_readings r CROSS JOIN LATERAL jsonb_array_elements(r.loads::jsonb) e
       WHERE r.loads IS NOT NULL;
    CREATE VIEW grid_row_loads AS
      SELECT r.ven_id, r.ts, l.load_id, l.name, l.type, l.capacity_kw, l.shed_capability_kw,
             l.current_power_kw, l.enabled, l.priority
        FROM grid_readings r JOIN grid_load_readings l ON l.ts = r.ts AND l.ven_id = r.ven_id
       WHERE r.loads IS NULL;
    -- Both. For "the newest N", query each side with its own ORDER BY and LIMIT: each is then
    -- read backwards along the readings' key and stops once it has N, which the planner does not
    -- do through the union. (The new side reads past the old readings in its window, testing
    -- each one's loads column.)
    CREATE VIEW grid_reading_loads AS
      SELECT * FROM grid_inline_loads UNION ALL SELECT * FROM grid_row_loads;

    -- As in 003, with the newest reading that has loads found on either side.
    DROP VIEW grid_vens_current;
    CREATE VIEW grid_vens_current AS
      SELECT v.id, v.name, v.status, v.lat, v.lon, v.registration_id, v.created_at, v.last_seen, v.latest_at,
             v.current_power_kw, v.shed_availability_kw, v.active_event_id, coalesce(n.loads, v.loads) AS loads,
             v.desired
        FROM grid_vens_state v
        -- The newest reading stored before 005 that has load rows. A probe per reading, newest
        -- first: written as EXISTS, the planner took it for a semi join and, counting on the LIMIT
        -- to stop it early, scanned the load rows instead.
        LEFT JOIN LATERAL (
          SELECT r.ts FROM grid_readings r
           WHERE r.ven_id = v.id AND r.loads IS NULL
             AND (SELECT true FROM grid_load_readings l WHERE l.ts = r.ts AND l.ven_id = r.ven_id LIMIT 1)
           ORDER BY r.ts DESC LIMIT 1) prior ON true
        LEFT JOIN LATERAL (
          SELECT x.ts, x.snapshot FROM (
            -- A newer reading with its loads on its row. Only those newer than that one are looked at,
            -- so that a VEN with only old readings is not walked back to its first one here.
            (SELECT r.ts, false AS snapshot FROM grid_readings r
              WHERE r.ven_id = v.id AND r.loads IS NOT NULL AND r.loads <> '[]'
                AND r.ts > coalesce(prior.ts, '-infinity')
              ORDER BY r.ts DESC LIMIT 1)
            UNION ALL
            (SELECT prior.ts, false WHERE prior.ts IS NOT NULL)
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
                FROM grid_reading_loads WHERE NOT newest.snapshot AND ven_id = v.id AND ts = newest.ts
              UNION ALL
              SELECT load_id, name, type, capacity_kw, shed_capability_kw, current_power_kw, enabled
                FROM grid_load_snapshots WHERE newest.snapshot AND ven_id = v.id AND ts = newest.ts) l) n ON true;
  `,
};
