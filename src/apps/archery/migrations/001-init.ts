import type { Migration } from '../../../platform/db/migrate.ts';

/**
 * The archery schema. Every rule of the spec is enforced here, by the database, so that the
 * sensor processes writing directly to PostgreSQL obey the same rules as the API. Constraint
 * names are what clients see in `errors` when a rule is broken, so they say what the rule is.
 */
export const initMigration: Migration = {
  id: '001_init',
  up: `
CREATE TABLE archery_arrows (
  id uuid PRIMARY KEY,
  human_identifier varchar(10) NOT NULL,
  length real NOT NULL,
  registration_date timestamptz NOT NULL DEFAULT now(),
  is_programmed boolean NOT NULL DEFAULT false,
  -- Active ⇔ not voided: derived so that the two can never disagree.
  is_active boolean GENERATED ALWAYS AS (voided_date IS NULL) STORED,
  voided_date timestamptz,
  weight real,
  diameter real,
  spine real,
  label_position real,
  CONSTRAINT archery_arrows_identifier_not_blank CHECK (length(btrim(human_identifier)) > 0),
  CONSTRAINT archery_arrows_length_positive CHECK (length > 0),
  CONSTRAINT archery_arrows_measures_positive CHECK (
    coalesce(weight, 1) > 0 AND coalesce(diameter, 1) > 0 AND coalesce(spine, 1) > 0
    AND coalesce(label_position, 0) >= 0),
  CONSTRAINT archery_arrows_voided_after_registration CHECK (voided_date IS NULL OR voided_date >= registration_date)
);
CREATE UNIQUE INDEX archery_arrows_active_identifier_unique
  ON archery_arrows (human_identifier) WHERE voided_date IS NULL;

CREATE TABLE archery_sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  start_time timestamptz NOT NULL DEFAULT now(),
  end_time timestamptz,
  is_opened boolean GENERATED ALWAYS AS (end_time IS NULL) STORED,
  location varchar(255) NOT NULL,
  is_indoor boolean NOT NULL DEFAULT false,
  CONSTRAINT archery_sessions_end_after_start CHECK (end_time IS NULL OR end_time >= start_time)
);
-- At most one open session: every open row has the same key (true).
CREATE UNIQUE INDEX archery_sessions_one_open_session ON archery_sessions ((true)) WHERE end_time IS NULL;

CREATE TABLE archery_targets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  max_x real NOT NULL,
  max_y real NOT NULL,
  distance real NOT NULL,
  session_id uuid NOT NULL REFERENCES archery_sessions (id) ON DELETE CASCADE,
  CONSTRAINT archery_targets_one_per_session UNIQUE (session_id),
  CONSTRAINT archery_targets_dimensions_positive CHECK (max_x > 0 AND max_y > 0),
  CONSTRAINT archery_targets_distance_positive CHECK (distance > 0)
);

CREATE TABLE archery_faces (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  target_id uuid NOT NULL REFERENCES archery_targets (id) ON DELETE CASCADE,
  x real NOT NULL,
  y real NOT NULL,
  human_identifier varchar(10) NOT NULL,
  radii real[] NOT NULL,
  points integer[] NOT NULL,
  CONSTRAINT archery_faces_rings_not_empty CHECK (cardinality(radii) > 0),
  CONSTRAINT archery_faces_rings_equal_length CHECK (
    cardinality(radii) = cardinality(points) AND array_ndims(radii) = 1 AND array_ndims(points) = 1),
  CONSTRAINT archery_faces_rings_no_nulls CHECK (array_position(radii, NULL) IS NULL AND array_position(points, NULL) IS NULL),
  CONSTRAINT archery_faces_radii_positive CHECK (0 < ALL (radii)),
  CONSTRAINT archery_faces_points_not_negative CHECK (0 <= ALL (points)),
  CONSTRAINT archery_faces_identifier_unique_per_target UNIQUE (target_id, human_identifier)
);
CREATE INDEX archery_faces_target ON archery_faces (target_id);

-- Faces must lie inside their target (centre ± largest radius) and a target holds at most
-- three: a trigger, because a CHECK cannot look at another table. The target row is locked so
-- that concurrent inserts cannot both pass the count.
CREATE FUNCTION archery_faces_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t archery_targets%ROWTYPE;
  r real;
  n integer;
BEGIN
  SELECT * INTO t FROM archery_targets WHERE id = NEW.target_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NEW; -- the foreign key reports it
  END IF;
  SELECT max(v) INTO r FROM unnest(NEW.radii) AS v;
  IF NEW.x - r < 0 OR NEW.y - r < 0 OR NEW.x + r > t.max_x OR NEW.y + r > t.max_y THEN
    RAISE EXCEPTION 'face % (centre %,% radius %) does not fit inside the % x % target',
      NEW.human_identifier, NEW.x, NEW.y, r, t.max_x, t.max_y
      USING ERRCODE = '23514', CONSTRAINT = 'archery_faces_inside_target';
  END IF;
  SELECT count(*) INTO n FROM archery_faces WHERE target_id = NEW.target_id AND id <> NEW.id;
  IF n >= 3 THEN
    RAISE EXCEPTION 'a target holds at most three faces'
      USING ERRCODE = '23514', CONSTRAINT = 'archery_faces_at_most_three_per_target';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER archery_faces_check BEFORE INSERT OR UPDATE ON archery_faces
  FOR EACH ROW EXECUTE FUNCTION archery_faces_check();

-- Shrinking a target must not leave its faces hanging out.
CREATE FUNCTION archery_targets_check_faces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM archery_faces f, LATERAL (SELECT max(v) AS r FROM unnest(f.radii) v) m
    WHERE f.target_id = NEW.id
      AND (f.x - m.r < 0 OR f.y - m.r < 0 OR f.x + m.r > NEW.max_x OR f.y + m.r > NEW.max_y)) THEN
    RAISE EXCEPTION 'the target would no longer contain its faces'
      USING ERRCODE = '23514', CONSTRAINT = 'archery_faces_inside_target';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER archery_targets_check_faces BEFORE UPDATE OF max_x, max_y ON archery_targets
  FOR EACH ROW EXECUTE FUNCTION archery_targets_check_faces();

CREATE TABLE archery_shots (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  arrow_id uuid NOT NULL REFERENCES archery_arrows (id),
  session_id uuid NOT NULL REFERENCES archery_sessions (id) ON DELETE CASCADE,
  arrow_engage_time timestamptz NOT NULL,
  arrow_disengage_time timestamptz NOT NULL,
  arrow_landing_time timestamptz,
  x real,
  y real,
  CONSTRAINT archery_shots_landing_all_or_nothing CHECK (
    (arrow_landing_time IS NULL) = (x IS NULL) AND (x IS NULL) = (y IS NULL)),
  CONSTRAINT archery_shots_disengage_after_engage CHECK (arrow_disengage_time >= arrow_engage_time),
  CONSTRAINT archery_shots_landing_after_disengage CHECK (
    arrow_landing_time IS NULL OR arrow_landing_time >= arrow_disengage_time)
);
CREATE INDEX archery_shots_session_time ON archery_shots (session_id, arrow_disengage_time);
CREATE INDEX archery_shots_arrow ON archery_shots (arrow_id);

-- The live feed: every new shot, whoever writes it (API, sensor process, psql), is announced
-- with its id only (NOTIFY payloads are small); each server instance loads and scores it.
-- The channel comes from a one-row settings table that servers fill from ARCH_STATS_WS_CHANNEL.
CREATE TABLE archery_settings (
  only_row boolean PRIMARY KEY DEFAULT true CONSTRAINT archery_settings_one_row CHECK (only_row),
  ws_channel text NOT NULL DEFAULT 'archy'
);
INSERT INTO archery_settings DEFAULT VALUES;
CREATE FUNCTION archery_shots_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(coalesce((SELECT ws_channel FROM archery_settings), 'archy'), NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER archery_shots_notify AFTER INSERT ON archery_shots
  FOR EACH ROW EXECUTE FUNCTION archery_shots_notify();

-- Sensor readings: the three sensor processes share nothing but this table. The arrow reader
-- opens a reading when it identifies the nocked arrow, the bow reader adds engage/disengage,
-- the target reader adds the landing (or a miss); the database then turns it into a shot.
CREATE TABLE archery_shot_readings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES archery_sessions (id) ON DELETE CASCADE,
  arrow_id uuid NOT NULL REFERENCES archery_arrows (id),
  read_at timestamptz NOT NULL DEFAULT now(),
  arrow_engage_time timestamptz,
  arrow_disengage_time timestamptz,
  target_read boolean NOT NULL DEFAULT false,
  arrow_landing_time timestamptz,
  x real,
  y real,
  shot_id uuid REFERENCES archery_shots (id) ON DELETE SET NULL,
  CONSTRAINT archery_shot_readings_bow_both_times CHECK ((arrow_engage_time IS NULL) = (arrow_disengage_time IS NULL)),
  CONSTRAINT archery_shot_readings_landing_all_or_nothing CHECK (
    (arrow_landing_time IS NULL) = (x IS NULL) AND (x IS NULL) = (y IS NULL)),
  CONSTRAINT archery_shot_readings_landing_needs_target_read CHECK (target_read OR arrow_landing_time IS NULL),
  CONSTRAINT archery_shot_readings_target_after_bow CHECK (NOT target_read OR arrow_disengage_time IS NOT NULL)
);
CREATE INDEX archery_shot_readings_pending ON archery_shot_readings (session_id, read_at) WHERE NOT target_read;

CREATE FUNCTION archery_shot_readings_complete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.target_read AND NEW.shot_id IS NULL THEN
    INSERT INTO archery_shots (arrow_id, session_id, arrow_engage_time, arrow_disengage_time,
                               arrow_landing_time, x, y)
    VALUES (NEW.arrow_id, NEW.session_id, NEW.arrow_engage_time, NEW.arrow_disengage_time,
            NEW.arrow_landing_time, NEW.x, NEW.y)
    RETURNING id INTO NEW.shot_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER archery_shot_readings_complete BEFORE UPDATE ON archery_shot_readings
  FOR EACH ROW EXECUTE FUNCTION archery_shot_readings_complete();
`,
};
