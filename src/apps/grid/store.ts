/**
 * The grid's SQL (other than the batched ingest, see tables.ts). Parameterised statements
 * only; aggregation happens in SQL (date_bin buckets, DISTINCT ON for "latest per VEN").
 */
import type { Database, Queryable } from '../../platform/db/port.ts';

export interface VenRow {
  id: string;
  name: string;
  status: string;
  lat: number | null;
  lon: number | null;
  registration_id: string;
  created_at: Date;
  last_seen: Date | null;
  latest_at: Date | null;
  current_power_kw: number | null;
  shed_availability_kw: number | null;
  active_event_id: string | null;
  loads: LoadJson[] | null;
  desired: Record<string, unknown> | null;
}

export interface LoadJson {
  id: string;
  name: string;
  type: string;
  capacityKw: number;
  shedCapabilityKw: number;
  currentPowerKw: number;
  enabled?: boolean;
}

export interface EventRow {
  id: string;
  start_time: Date;
  end_time: Date;
  requested_reduction_kw: number;
  status: string;
  created_at: Date;
  activated_at: Date | null;
  stop_requested_at: Date | null;
  completed_at: Date | null;
}

export interface BucketRow {
  bucket: Date;
  used: number | null;
  shed: number | null;
  event_id: string | null;
  requested: number | null;
}

/** The newest `$5` loads of VEN `$1` (of load `$2`, unless NULL) in [`$3`, `$4`) from `from`. */
const newestLoads = (from: string, source: string) => `
  SELECT load_id, ts, name, type, capacity_kw, shed_capability_kw, current_power_kw, enabled, priority,
         '${source}' AS source
    FROM ${from}
   WHERE ven_id = $1 AND ts >= $3 AND ts < $4 AND ($2::text IS NULL OR load_id = $2)
   ORDER BY ts DESC, load_id DESC LIMIT $5`;

export class GridStore {
  readonly db: Database;
  constructor(db: Database) {
    this.db = db;
  }

  // ---- VENs ----
  async listVens(): Promise<VenRow[]> {
    return (await this.db.query<VenRow>('SELECT * FROM grid_vens_current ORDER BY created_at, id')).rows;
  }

  async getVen(id: string, q: Queryable = this.db): Promise<VenRow | null> {
    return (await q.query<VenRow>('SELECT * FROM grid_vens_current WHERE id = $1', [id])).rows[0] ?? null;
  }

  async insertVen(v: {
    id: string;
    name: string;
    status: string;
    lat: number;
    lon: number;
    registrationId: string;
  }): Promise<VenRow> {
    await this.db.query(
      `INSERT INTO grid_vens (id, name, status, lat, lon, registration_id) VALUES ($1, $2, $3, $4, $5, $6)`,
      [v.id, v.name, v.status, v.lat, v.lon, v.registrationId],
    );
    return (await this.getVen(v.id))!;
  }

  async updateVen(
    id: string,
    p: { name?: string; status?: string; lat?: number; lon?: number; registrationId?: string },
  ): Promise<VenRow | null> {
    const r = await this.db.query(
      `UPDATE grid_vens SET name = coalesce($2, name), status = coalesce($3, status), lat = coalesce($4, lat),
         lon = coalesce($5, lon), registration_id = coalesce($6, registration_id)
       WHERE id = $1`,
      [id, p.name ?? null, p.status ?? null, p.lat ?? null, p.lon ?? null, p.registrationId ?? null],
    );
    return (r.rowCount ?? 0) > 0 ? this.getVen(id) : null;
  }

  async deleteVen(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // The time series have no foreign key (see migration 002): their rows go explicitly.
      // Load rows (stored before migration 005) are keyed time first: reach the VEN's through its
      // readings, before those go.
      await tx.query(
        `DELETE FROM grid_load_readings l USING grid_readings r
          WHERE r.ven_id = $1 AND l.ts = r.ts AND l.ven_id = r.ven_id`,
        [id],
      );
      await tx.query('DELETE FROM grid_readings WHERE ven_id = $1', [id]);
      await tx.query('DELETE FROM grid_load_snapshots WHERE ven_id = $1', [id]);
      await tx.query('DELETE FROM grid_status_reports WHERE ven_id = $1', [id]);
      return ((await tx.query('DELETE FROM grid_vens WHERE id = $1', [id])).rowCount ?? 0) > 0;
    });
  }

  /** The last reported state: the newest reading's and the newest status report's payloads. */
  async lastReported(venId: string): Promise<{ metering: unknown; status: unknown }> {
    // The metering payload as text, parsed here: PostgreSQL's JSON parser has a nesting limit
    // that JSON.parse, which accepted the payload, does not.
    const r = await this.db.query<{ metering: string | null; status: unknown }>(
      `SELECT (SELECT coalesce(payload, raw::text) FROM grid_readings WHERE ven_id = $1 ORDER BY ts DESC LIMIT 1)
                AS metering,
              (SELECT raw FROM grid_status_reports WHERE ven_id = $1 ORDER BY ts DESC LIMIT 1) AS status`,
      [venId],
    );
    const row = r.rows[0];
    return {
      metering: row?.metering ? (JSON.parse(row.metering) as unknown) : null,
      status: row?.status ?? null,
    };
  }

  async setDesired(venId: string, patch: Record<string, unknown>, q: Queryable = this.db): Promise<void> {
    await q.query(
      `UPDATE grid_vens SET desired = coalesce(desired, '{}'::jsonb) || $2::jsonb WHERE id = $1`,
      [venId, JSON.stringify(patch)],
    );
  }

  /** Online VENs that have been silent too long become offline; returns their ids. */
  async markSilentOffline(offlineAfterMs: number): Promise<string[]> {
    const r = await this.db.query<{ id: string }>(
      `UPDATE grid_vens SET status = 'offline'
        WHERE status = 'online' AND last_seen < now() - make_interval(secs => $1::float8 / 1000)
        RETURNING id`,
      [offlineAfterMs],
    );
    return r.rows.map((x) => x.id);
  }

  async statuses(): Promise<Map<string, string>> {
    const r = await this.db.query<{ id: string; status: string }>('SELECT id, status FROM grid_vens');
    return new Map(r.rows.map((x) => [x.id, x.status]));
  }

  // ---- statistics ----
  async networkTotals(): Promise<{
    ven_count: number;
    online: number;
    usage: number;
    shed: number;
    current_reduction: number;
    requested_active: number | null;
  }> {
    const r = await this.db.query<{
      ven_count: number;
      online: number;
      usage: number;
      shed: number;
      current_reduction: number;
      requested_active: number | null;
    }>(
      `WITH active AS (SELECT id, requested_reduction_kw FROM grid_events WHERE status = 'active')
       SELECT count(*)::int8 AS ven_count,
              count(*) FILTER (WHERE v.status = 'online')::int8 AS online,
              coalesce(sum(v.current_power_kw), 0) AS usage,
              coalesce(sum(v.shed_availability_kw), 0) AS shed,
              coalesce(sum(v.shed_availability_kw) FILTER (
                WHERE v.status = 'online' AND v.active_event_id IN (SELECT id FROM active)), 0) AS current_reduction,
              (SELECT sum(requested_reduction_kw) FROM active) AS requested_active
         FROM grid_vens_state v`,
    );
    return r.rows[0]!;
  }

  /** kWh since local midnight, per VEN trapezoids between consecutive readings, summed. */
  async energyTodayKwh(timeZone: string): Promise<number> {
    const r = await this.db.query<{ kwh: number | null }>(
      `SELECT sum(e) AS kwh FROM (
         SELECT extract(epoch FROM ts - lag(ts) OVER w) / 3600.0
                * (used_power_kw + lag(used_power_kw) OVER w) / 2 AS e
           FROM grid_readings
          WHERE ts >= (date_trunc('day', now() AT TIME ZONE $1) AT TIME ZONE $1) AND used_power_kw IS NOT NULL
         WINDOW w AS (PARTITION BY ven_id ORDER BY ts)) x`,
      [timeZone],
    );
    return r.rows[0]?.kwh ?? 0;
  }

  async loadTotals(): Promise<{ type: string; capacity: number; shed: number; usage: number }[]> {
    const r = await this.db.query<{ type: string; capacity: number; shed: number; usage: number }>(
      `SELECT coalesce(l->>'type', 'other') AS type,
              coalesce(sum((l->>'capacityKw')::float8), 0) AS capacity,
              coalesce(sum((l->>'shedCapabilityKw')::float8), 0) AS shed,
              coalesce(sum((l->>'currentPowerKw')::float8), 0) AS usage
         FROM grid_vens_current v, jsonb_array_elements(coalesce(v.loads, '[]'::jsonb)) l
        GROUP BY 1 ORDER BY 1`,
    );
    return r.rows;
  }

  // ---- history (bucketed in SQL; buckets aligned to the epoch) ----
  async readingBuckets(o: {
    start: Date;
    end: Date;
    bucketMs: number;
    venId?: string;
  }): Promise<BucketRow[]> {
    const r = await this.db.query<BucketRow>(
      `WITH per_ven AS (
         SELECT date_bin(make_interval(secs => $3::float8 / 1000), ts, 'epoch'::timestamptz) AS bucket, ven_id,
                avg(used_power_kw) AS used, avg(shed_power_kw) AS shed, max(event_id) AS event_id,
                avg(requested_reduction_kw) AS requested
           FROM grid_readings
          WHERE ts >= $1 AND ts < $2 AND ($4::text IS NULL OR ven_id = $4)
          GROUP BY 1, 2)
       SELECT bucket, sum(used) AS used, sum(shed) AS shed, max(event_id) AS event_id, max(requested) AS requested
         FROM per_ven GROUP BY bucket ORDER BY bucket`,
      [o.start, o.end, o.bucketMs, o.venId ?? null],
    );
    return r.rows;
  }

  /** One load's history, from metering loads (reached through the VEN's readings) and snapshots. */
  async loadBuckets(o: {
    start: Date;
    end: Date;
    bucketMs: number;
    venId: string;
    loadId: string;
  }): Promise<BucketRow[]> {
    const r = await this.db.query<BucketRow>(
      `SELECT date_bin(make_interval(secs => $3::float8 / 1000), ts, 'epoch'::timestamptz) AS bucket,
              avg(current_power_kw) AS used, avg(shed_capability_kw) AS shed,
              NULL::text AS event_id, NULL::float8 AS requested
         FROM (SELECT ts, current_power_kw, shed_capability_kw FROM grid_reading_loads
                WHERE ven_id = $4 AND ts >= $1 AND ts < $2 AND load_id = $5
               UNION ALL
               SELECT ts, current_power_kw, shed_capability_kw FROM grid_load_snapshots
                WHERE ven_id = $4 AND load_id = $5 AND ts >= $1 AND ts < $2) x
        GROUP BY 1 ORDER BY 1`,
      [o.start, o.end, o.bucketMs, o.venId, o.loadId],
    );
    return r.rows;
  }

  /** The NEWEST `limit` snapshots in the window (index range scan backwards), returned ascending. */
  async circuitSnapshots(o: { venId: string; loadId: string | null; start: Date; end: Date; limit: number }) {
    const r = await this.db.query<{
      load_id: string;
      ts: Date;
      name: string | null;
      type: string | null;
      capacity_kw: number | null;
      shed_capability_kw: number | null;
      current_power_kw: number | null;
      enabled: boolean | null;
      priority: number | null;
      source: string;
    }>(
      // Each side of the loads (migration 005) and the snapshots take their newest `limit` on their
      // own: each is then an index range scan backwards that stops once it has them.
      `WITH inline AS (${newestLoads('grid_inline_loads', 'metering')}),
       old_rows AS (${newestLoads('grid_row_loads', 'metering')}),
       snapshots AS (${newestLoads('grid_load_snapshots', 'snapshot')})
       SELECT * FROM (
         SELECT * FROM (SELECT * FROM inline UNION ALL SELECT * FROM old_rows UNION ALL SELECT * FROM snapshots) u
          ORDER BY ts DESC, load_id DESC, source LIMIT $5) x
       ORDER BY ts, load_id, source`,
      [o.venId, o.loadId, o.start, o.end, o.limit],
    );
    const total = await this.db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM grid_reading_loads
                WHERE ven_id = $1 AND ts >= $3 AND ts < $4 AND ($2::text IS NULL OR load_id = $2))
            + (SELECT count(*) FROM grid_load_snapshots
                WHERE ven_id = $1 AND ($2::text IS NULL OR load_id = $2) AND ts >= $3 AND ts < $4) AS n`,
      [o.venId, o.loadId, o.start, o.end],
    );
    return { rows: r.rows, total: total.rows[0]?.n ?? 0 };
  }

  async recentReadings(venId: string, limit: number) {
    const r = await this.db.query<{
      ts: Date;
      used_power_kw: number | null;
      shed_power_kw: number | null;
      requested_reduction_kw: number | null;
      event_id: string | null;
      battery_soc: number | null;
      loads: LoadJson[];
    }>(
      `SELECT r.ts, r.used_power_kw, r.shed_power_kw, r.requested_reduction_kw, r.event_id, r.battery_soc,
              coalesce((SELECT jsonb_agg(jsonb_build_object('id', l.load_id, 'name', l.name, 'type', l.type,
                         'capacityKw', l.capacity_kw, 'shedCapabilityKw', l.shed_capability_kw,
                         'currentPowerKw', l.current_power_kw, 'enabled', l.enabled) ORDER BY l.load_id)
                          FROM grid_reading_loads l WHERE l.ven_id = r.ven_id AND l.ts = r.ts), '[]'::jsonb) AS loads
         FROM grid_readings r WHERE r.ven_id = $1 ORDER BY r.ts DESC LIMIT $2`,
      [venId, limit],
    );
    return r.rows;
  }

  // ---- acknowledgements ----
  async venAcks(venId: string, start: Date, end: Date, limit: number) {
    const r = await this.db.query<{
      id: number;
      ven_id: string;
      event_id: string | null;
      correlation_id: string | null;
      op: string;
      status: string;
      ts: Date;
      requested_shed_kw: number | null;
      actual_shed_kw: number | null;
      circuits_curtailed: unknown[];
    }>(
      `SELECT * FROM (SELECT * FROM grid_acks WHERE ven_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts DESC LIMIT $4) x
        ORDER BY ts DESC`,
      [venId, start, end, limit],
    );
    return r.rows;
  }

  // ---- events ----
  async listEvents(where = 'TRUE', params: unknown[] = []): Promise<EventRow[]> {
    return (
      await this.db.query<EventRow>(
        `SELECT * FROM grid_events WHERE ${where} ORDER BY start_time DESC, id`,
        params,
      )
    ).rows;
  }

  async getEvent(id: string): Promise<EventRow | null> {
    return (await this.db.query<EventRow>('SELECT * FROM grid_events WHERE id = $1', [id])).rows[0] ?? null;
  }

  async eventExists(id: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM grid_events WHERE id = $1', [id])).rows.length > 0;
  }

  async insertEvent(e: {
    id: string;
    start: Date;
    end: Date;
    requested: number;
    status: string;
  }): Promise<EventRow> {
    const r = await this.db.query<EventRow>(
      `INSERT INTO grid_events (id, start_time, end_time, requested_reduction_kw, status)
       VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [e.id, e.start, e.end, e.requested, e.status],
    );
    return r.rows[0]!;
  }

  /** Marks the event to be stopped; the dispatcher sends the restores. */
  async requestStop(id: string): Promise<EventRow | null> {
    const r = await this.db.query<EventRow>(
      `UPDATE grid_events SET stop_requested_at = coalesce(stop_requested_at, now()),
              status = CASE WHEN status IN ('scheduled', 'active') THEN 'stopping' ELSE status END
        WHERE id = $1 RETURNING *`,
      [id],
    );
    return r.rows[0] ?? null;
  }

  async deleteEvent(id: string): Promise<boolean> {
    return ((await this.db.query('DELETE FROM grid_events WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  /** Actual reduction: per responding VEN its LATEST shedPowerKw while tagged with the event, summed. */
  async eventReduction(eventId: string): Promise<{ kw: number; vens: number }> {
    const r = await this.db.query<{ kw: number | null; vens: number }>(
      `SELECT sum(shed_power_kw) AS kw, count(*)::int8 AS vens FROM (
         SELECT DISTINCT ON (ven_id) shed_power_kw FROM grid_readings
          WHERE event_id = $1 ORDER BY ven_id, ts DESC) x`,
      [eventId],
    );
    return { kw: r.rows[0]?.kw ?? 0, vens: r.rows[0]?.vens ?? 0 };
  }

  async dispatchFigures(eventId: string) {
    const r = await this.db.query<{
      dispatched: number;
      sent: number;
      acked: number;
      accepted: number;
      rejected: number;
      restored: number;
      avg_ms: number | null;
    }>(
      `SELECT count(*)::int8 AS dispatched,
              count(sent_at)::int8 AS sent,
              count(acked_at)::int8 AS acked,
              count(*) FILTER (WHERE ack_status IN ('accepted', 'success'))::int8 AS accepted,
              count(*) FILTER (WHERE ack_status = 'rejected')::int8 AS rejected,
              count(restore_sent_at)::int8 AS restored,
              avg(extract(epoch FROM acked_at - sent_at) * 1000) AS avg_ms
         FROM grid_dispatches WHERE event_id = $1`,
      [eventId],
    );
    return r.rows[0]!;
  }
}
