import type { Migration } from '../../../platform/db/migrate.ts';

/**
 * The grid schema. Time-series tables are keyed by (VEN, time) so that the per-VEN history and
 * "newest N" queries are index range scans even at tens of millions of rows; network-wide
 * windows use the (ts) index. Readings are idempotent on (ven_id, ts): a redelivered MQTT
 * message (at-least-once) is stored once.
 */
export const init: Migration = {
  id: '001_init',
  up: `
    CREATE TABLE grid_vens (
      id text PRIMARY KEY,
      name text NOT NULL,
      status text NOT NULL DEFAULT 'active',
      lat double precision,
      lon double precision,
      registration_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen timestamptz,
      -- latest reported state (from the newest metering/status message)
      latest_at timestamptz,
      current_power_kw double precision,
      shed_availability_kw double precision,
      active_event_id text,
      loads jsonb,
      desired jsonb
    );
    CREATE INDEX grid_vens_status_seen_idx ON grid_vens (status, last_seen);
    CREATE UNIQUE INDEX grid_vens_registration_idx ON grid_vens (registration_id);

    CREATE TABLE grid_readings (
      ven_id text NOT NULL REFERENCES grid_vens (id) ON DELETE CASCADE,
      ts timestamptz NOT NULL,
      used_power_kw double precision,
      shed_power_kw double precision,
      requested_reduction_kw double precision,
      event_id text,
      battery_soc double precision,
      raw jsonb NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (ven_id, ts)
    );
    CREATE INDEX grid_readings_ts_idx ON grid_readings (ts);
    CREATE INDEX grid_readings_event_idx ON grid_readings (event_id, ven_id, ts) WHERE event_id IS NOT NULL;

    CREATE TABLE grid_load_readings (
      ven_id text NOT NULL REFERENCES grid_vens (id) ON DELETE CASCADE,
      load_id text NOT NULL,
      ts timestamptz NOT NULL,
      name text,
      type text,
      capacity_kw double precision,
      shed_capability_kw double precision,
      current_power_kw double precision,
      enabled boolean,
      priority integer,
      source text NOT NULL DEFAULT 'metering',
      PRIMARY KEY (ven_id, load_id, ts)
    );
    CREATE INDEX grid_load_readings_ven_ts_idx ON grid_load_readings (ven_id, ts);

    CREATE TABLE grid_status_reports (
      ven_id text NOT NULL REFERENCES grid_vens (id) ON DELETE CASCADE,
      ts timestamptz NOT NULL,
      status text NOT NULL,
      current_power_kw double precision,
      shed_availability_kw double precision,
      active_event_id text,
      raw jsonb NOT NULL,
      PRIMARY KEY (ven_id, ts)
    );

    CREATE TABLE grid_events (
      id text PRIMARY KEY,
      start_time timestamptz NOT NULL,
      end_time timestamptz NOT NULL,
      requested_reduction_kw double precision NOT NULL CHECK (requested_reduction_kw > 0),
      status text NOT NULL DEFAULT 'scheduled',
      created_at timestamptz NOT NULL DEFAULT now(),
      activated_at timestamptz,
      stop_requested_at timestamptz,
      completed_at timestamptz,
      CHECK (end_time > start_time)
    );
    CREATE INDEX grid_events_status_idx ON grid_events (status, start_time);
    CREATE INDEX grid_events_window_idx ON grid_events (start_time, end_time);

    -- One row per (event, VEN) the gateway dispatched: the outbox and the record of what was sent,
    -- so that a restart neither re-sends nor forgets and two instances never double-dispatch.
    CREATE TABLE grid_dispatches (
      event_id text NOT NULL REFERENCES grid_events (id) ON DELETE CASCADE,
      ven_id text NOT NULL,
      registration_id text NOT NULL,
      shed_kw double precision NOT NULL,
      correlation_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz,
      acked_at timestamptz,
      ack_status text,
      restore_correlation_id text,
      restore_requested_at timestamptz,
      restore_sent_at timestamptz,
      restore_acked_at timestamptz,
      PRIMARY KEY (event_id, ven_id)
    );
    CREATE INDEX grid_dispatches_unsent_idx ON grid_dispatches (created_at) WHERE sent_at IS NULL;
    CREATE INDEX grid_dispatches_restore_idx ON grid_dispatches (restore_requested_at)
      WHERE restore_requested_at IS NOT NULL AND restore_sent_at IS NULL;

    -- Acknowledgements from VENs. event_id is nullable (ping/restore acks) and deliberately has no
    -- foreign key: unknown ids are dead-lettered by the consumer, and deleting an event keeps history.
    CREATE TABLE grid_acks (
      id bigserial PRIMARY KEY,
      ven_id text NOT NULL REFERENCES grid_vens (id) ON DELETE CASCADE,
      event_id text,
      correlation_id text,
      op text NOT NULL,
      status text NOT NULL,
      ts timestamptz NOT NULL,
      requested_shed_kw double precision,
      actual_shed_kw double precision,
      circuits_curtailed jsonb NOT NULL DEFAULT '[]',
      received_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX grid_acks_ven_ts_idx ON grid_acks (ven_id, ts);
    CREATE UNIQUE INDEX grid_acks_dedupe_idx ON grid_acks (ven_id, op, ts, coalesce(correlation_id, ''));
  `,
};
