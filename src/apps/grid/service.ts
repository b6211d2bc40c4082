/**
 * The grid's logic behind the HTTP API: shapes rows into the seed's JSON, computes the
 * statistics, and turns operator actions into dispatch state and MQTT commands.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { GridConfig } from '../../config.ts';
import { conflict, notFound, unprocessable } from '../../platform/errors.ts';
import type { LiveChannel } from '../../platform/live/port.ts';
import type { Mqtt } from '../../platform/mqtt/port.ts';
import type { CircuitCurtailed } from './codec.ts';
import { commandTopic, type Dispatcher } from './dispatch.ts';
import type { BucketRow, EventRow, GridStore, LoadJson, VenRow } from './store.ts';

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function venJson(v: VenRow) {
  const loads = (v.loads ?? []).map(loadJson);
  return {
    id: v.id,
    name: v.name,
    status: v.status,
    location: { lat: v.lat ?? 0, lon: v.lon ?? 0 },
    registrationId: v.registration_id,
    metrics: {
      currentPowerKw: r3(v.current_power_kw ?? 0),
      shedAvailabilityKw: r3(v.shed_availability_kw ?? 0),
      activeEventId: v.active_event_id,
      shedLoadIds: (v.loads ?? []).filter((l) => l.enabled === false).map((l) => l.id),
    },
    createdAt: v.created_at.toISOString(),
    lastSeen: iso(v.last_seen),
    loads,
  };
}

function loadJson(l: LoadJson) {
  return {
    id: l.id,
    name: l.name,
    type: l.type,
    capacityKw: l.capacityKw,
    shedCapabilityKw: l.shedCapabilityKw,
    currentPowerKw: l.currentPowerKw,
  };
}

export function eventJson(e: EventRow) {
  return {
    id: e.id,
    status: e.status,
    startTime: e.start_time.toISOString(),
    endTime: e.end_time.toISOString(),
    requestedReductionKw: e.requested_reduction_kw,
    createdAt: e.created_at.toISOString(),
    activatedAt: iso(e.activated_at),
    completedAt: iso(e.completed_at),
  };
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_BUCKETS = 20_000;

/** `Nms|Ns|Nm|Nh|Nd` → milliseconds. */
export function parseGranularity(g: string): number {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(g);
  if (!m) throw unprocessable(`granularity must look like 500ms, 30s, 5m, 1h or 1d (got '${g}')`);
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms <= 0) throw unprocessable('granularity must be positive');
  return ms;
}

export function window(q: { start?: string; end?: string }, defaultMs: number): { start: Date; end: Date } {
  const end = q.end ? new Date(q.end) : new Date();
  const start = q.start ? new Date(q.start) : new Date(end.getTime() - defaultMs);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()))
    throw unprocessable('start/end must be ISO-8601');
  if (end <= start) throw unprocessable('end must be after start');
  return { start, end };
}

const points = (rows: BucketRow[]) => ({
  points: rows.map((b) => ({
    timestamp: b.bucket.toISOString(),
    usedPowerKw: r3(b.used ?? 0),
    shedPowerKw: r3(b.shed ?? 0),
    eventId: b.event_id,
    requestedReductionKw: b.requested === null ? null : r3(b.requested),
  })),
});

export class GridService {
  readonly store: GridStore;
  private readonly mqtt: Mqtt | undefined;
  private readonly live: LiveChannel;
  private readonly config: GridConfig;
  private readonly dispatcher: () => Dispatcher | null;

  constructor(deps: {
    store: GridStore;
    mqtt: Mqtt | undefined;
    live: LiveChannel;
    config: GridConfig;
    dispatcher: () => Dispatcher | null;
  }) {
    this.store = deps.store;
    this.mqtt = deps.mqtt;
    this.live = deps.live;
    this.config = deps.config;
    this.dispatcher = deps.dispatcher;
  }

  // ---- statistics ----
  async networkStats() {
    const [t, kwh] = await Promise.all([
      this.store.networkTotals(),
      this.store.energyTodayKwh(this.config.timeZone),
    ]);
    return {
      venCount: t.ven_count,
      onlineVens: t.online,
      controllablePowerKw: r3(t.shed),
      potentialLoadReductionKw: r3(t.shed),
      householdUsageKw: r3(t.usage),
      currentLoadReductionKw: r3(t.current_reduction),
      networkEfficiency:
        t.requested_active === null || t.requested_active <= 0
          ? null
          : Math.round((t.current_reduction / t.requested_active) * 1000) / 10,
      averageHousePower: t.ven_count === 0 ? 0 : r3(t.usage / t.ven_count),
      totalHousePowerToday: r3(kwh),
    };
  }

  async loadStats() {
    return (await this.store.loadTotals()).map((l) => ({
      type: l.type,
      totalCapacityKw: r3(l.capacity),
      totalShedCapabilityKw: r3(l.shed),
      currentUsageKw: r3(l.usage),
    }));
  }

  async history(
    q: { start?: string; end?: string; granularity?: string },
    scope: { venId?: string; loadId?: string },
  ) {
    const bucketMs = parseGranularity(q.granularity ?? '5m');
    const { start, end } = window(q, 86_400_000);
    if ((end.getTime() - start.getTime()) / bucketMs > MAX_BUCKETS)
      throw unprocessable(`more than ${MAX_BUCKETS} buckets: widen the granularity or narrow the window`);
    if (scope.venId) await this.requireVen(scope.venId);
    if (scope.loadId && scope.venId)
      return points(
        await this.store.loadBuckets({ start, end, bucketMs, venId: scope.venId, loadId: scope.loadId }),
      );
    return points(await this.store.readingBuckets({ start, end, bucketMs, venId: scope.venId }));
  }

  // ---- VENs ----
  async listVens() {
    return (await this.store.listVens()).map(venJson);
  }

  async summary() {
    const vens = await this.store.listVens();
    return vens.map((v) => ({
      id: v.id,
      name: v.name,
      status: v.status,
      location: { lat: v.lat ?? 0, lon: v.lon ?? 0 },
      currentPowerKw: r3(v.current_power_kw ?? 0),
      shedAvailabilityKw: r3(v.shed_availability_kw ?? 0),
      activeEventId: v.active_event_id,
      lastSeen: iso(v.last_seen),
    }));
  }

  async requireVen(id: string): Promise<VenRow> {
    const v = await this.store.getVen(id);
    if (!v) throw notFound(`VEN ${id}`);
    return v;
  }

  async getVen(id: string) {
    return venJson(await this.requireVen(id));
  }

  async createVen(b: {
    name: string;
    location: { lat: number; lon: number };
    status?: string;
    registrationId?: string;
  }) {
    const id = `ven-${randomBytes(4).toString('hex')}`;
    const v = await this.store.insertVen({
      id,
      name: b.name,
      status: b.status ?? 'active',
      lat: b.location.lat,
      lon: b.location.lon,
      registrationId: b.registrationId ?? id,
    });
    await this.live
      .publish('grid.vens', { venId: id, status: v.status, created: true })
      .catch(() => undefined);
    return venJson(v);
  }

  async patchVen(
    id: string,
    b: { name?: string; status?: string; location?: { lat: number; lon: number }; registrationId?: string },
  ) {
    const v = await this.store.updateVen(id, {
      name: b.name,
      status: b.status,
      lat: b.location?.lat,
      lon: b.location?.lon,
      registrationId: b.registrationId,
    });
    if (!v) throw notFound(`VEN ${id}`);
    if (b.status)
      await this.live.publish('grid.vens', { venId: id, status: v.status }).catch(() => undefined);
    return venJson(v);
  }

  async deleteVen(id: string) {
    if (!(await this.store.deleteVen(id))) throw notFound(`VEN ${id}`);
    await this.live.publish('grid.vens', { venId: id, deleted: true }).catch(() => undefined);
  }

  async loads(venId: string) {
    return ((await this.requireVen(venId)).loads ?? []).map(loadJson);
  }

  async load(venId: string, loadId: string) {
    const l = ((await this.requireVen(venId)).loads ?? []).find((x) => x.id === loadId);
    if (!l) throw notFound(`load ${loadId} of VEN ${venId}`);
    return loadJson(l);
  }

  /** Really publishes the shed command (the seed only echoed it). */
  async shedLoad(venId: string, loadId: string, amountKw: number) {
    const v = await this.requireVen(venId);
    if (!(v.loads ?? []).some((x) => x.id === loadId)) throw notFound(`load ${loadId} of VEN ${venId}`);
    const correlationId = randomUUID();
    await this.command(v.registration_id, { op: 'shed', correlationId, venId, loadId, amountKw });
    await this.store.setDesired(venId, { loads: { [loadId]: { shedKw: amountKw, correlationId } } });
    return { status: 'sent', venId, loadId, amountKw, correlationId };
  }

  private async command(registrationId: string, body: object) {
    if (!this.mqtt) throw conflict('MQTT is not running in this process');
    await this.mqtt.publish(commandTopic(registrationId), body);
  }

  async venEvents(venId: string, q: { start?: string; end?: string; limit?: number }) {
    await this.requireVen(venId);
    const { start, end } = window(q, 30 * 86_400_000);
    return (await this.store.venAcks(venId, start, end, q.limit ?? 100)).map((a) => ({
      id: String(a.id),
      venId: a.ven_id,
      eventId: a.event_id,
      correlationId: a.correlation_id,
      op: a.op,
      status: a.status,
      timestamp: a.ts.toISOString(),
      requestedShedKw: a.requested_shed_kw,
      actualShedKw: a.actual_shed_kw,
      circuitsCurtailed: a.circuits_curtailed as CircuitCurtailed[],
    }));
  }

  async circuits(venId: string, q: { loadId?: string; start?: string; end?: string; limit?: number }) {
    await this.requireVen(venId);
    const { start, end } = window(q, 86_400_000);
    const { rows, total } = await this.store.circuitSnapshots({
      venId,
      loadId: q.loadId ?? null,
      start,
      end,
      limit: q.limit ?? 1000,
    });
    return {
      venId,
      loadId: q.loadId ?? null,
      snapshots: rows.map((s) => ({
        loadId: s.load_id,
        timestamp: s.ts.toISOString(),
        name: s.name,
        type: s.type,
        capacityKw: s.capacity_kw,
        shedCapabilityKw: s.shed_capability_kw,
        currentPowerKw: s.current_power_kw,
        enabled: s.enabled,
        priority: s.priority,
        source: s.source,
      })),
      totalCount: total,
    };
  }

  async telemetry(venId: string, limit: number) {
    await this.requireVen(venId);
    return (await this.store.recentReadings(venId, limit)).map((r) => ({
      timestamp: r.ts.toISOString(),
      usedPowerKw: r.used_power_kw,
      shedPowerKw: r.shed_power_kw,
      requestedReductionKw: r.requested_reduction_kw,
      eventId: r.event_id,
      batterySoc: r.battery_soc,
      loads: r.loads,
    }));
  }

  async shadow(venId: string) {
    const v = await this.requireVen(venId);
    return {
      venId,
      status: v.status,
      lastSeen: iso(v.last_seen),
      // Read from the newest rows rather than copied on every message (the hot path).
      reported: await this.store.lastReported(venId),
      desired: v.desired ?? {},
    };
  }

  async sendEvent(venId: string, b: { eventId: string; shedKw?: number }) {
    const v = await this.requireVen(venId);
    const e = await this.store.getEvent(b.eventId);
    if (!e) throw notFound(`event ${b.eventId}`);
    if (e.status !== 'active' && e.status !== 'scheduled') throw conflict(`event ${e.id} is ${e.status}`);
    const d = this.dispatcher();
    if (!d) throw conflict('MQTT is not running in this process');
    const shedKw = b.shedKw ?? v.shed_availability_kw ?? 0;
    const correlationId = await d.addVen(e.id, v.id, v.registration_id, shedKw);
    if (correlationId === null) throw conflict(`VEN ${venId} already has event ${e.id}`);
    return { status: 'sent', venId, eventId: e.id, shedKw, correlationId };
  }

  // ---- events ----
  async listEvents() {
    return (await this.store.listEvents()).map(eventJson);
  }

  async currentEvents() {
    return (await this.store.listEvents(`status IN ('active', 'stopping')`)).map(eventJson);
  }

  async eventHistory(q: { start?: string; end?: string }) {
    const { start, end } = window(q, 30 * 86_400_000);
    return (await this.store.listEvents('start_time < $2 AND end_time > $1', [start, end])).map(eventJson);
  }

  async getEvent(id: string) {
    const e = await this.store.getEvent(id);
    if (!e) throw notFound(`event ${id}`);
    return eventJson(e);
  }

  async createEvent(b: {
    startTime: string;
    endTime: string;
    requestedReductionKw: number;
    status?: string;
  }) {
    const start = new Date(b.startTime);
    const end = new Date(b.endTime);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()))
      throw unprocessable('startTime/endTime must be ISO-8601');
    if (end <= start) throw unprocessable('endTime must be after startTime');
    if (!(b.requestedReductionKw > 0)) throw unprocessable('requestedReductionKw must be > 0');
    const e = await this.store.insertEvent({
      id: `evt-${randomBytes(4).toString('hex')}`,
      start,
      end,
      requested: b.requestedReductionKw,
      status: b.status ?? 'scheduled',
    });
    await this.live
      .publish('grid.events', { eventId: e.id, status: e.status, created: true })
      .catch(() => undefined);
    void this.dispatcher()?.kick();
    return eventJson(e);
  }

  async stopEvent(id: string) {
    const e = await this.store.requestStop(id);
    if (!e) throw notFound(`event ${id}`);
    if (e.status === 'completed' && e.completed_at !== null && e.stop_requested_at === null)
      throw conflict(`event ${id} is already completed`);
    await this.dispatcher()?.kick();
    return { status: 'stopping' as const, eventId: id };
  }

  async deleteEvent(id: string) {
    const e = await this.store.getEvent(id);
    if (!e) throw notFound(`event ${id}`);
    if (e.status === 'active' || e.status === 'stopping')
      throw conflict(`event ${id} is ${e.status}: stop it first so that its VENs are restored`);
    await this.store.deleteEvent(id);
    await this.live.publish('grid.events', { eventId: id, deleted: true }).catch(() => undefined);
  }

  async eventMetrics(id: string) {
    const e = await this.store.getEvent(id);
    if (!e) throw notFound(`event ${id}`);
    const [red, d] = await Promise.all([this.store.eventReduction(id), this.store.dispatchFigures(id)]);
    return {
      eventId: id,
      status: e.status,
      requestedReductionKw: e.requested_reduction_kw,
      actualReductionKw: r3(red.kw),
      currentReductionKw: e.status === 'active' ? r3(red.kw) : 0,
      respondingVens: red.vens,
      vensDispatched: d.dispatched,
      commandsSent: d.sent,
      acks: d.acked,
      accepted: d.accepted,
      rejected: d.rejected,
      restoresSent: d.restored,
      avgResponseMs: d.avg_ms === null ? null : Math.round(d.avg_ms * 10) / 10,
      deliveryPct:
        e.requested_reduction_kw > 0 ? Math.round((red.kw / e.requested_reduction_kw) * 1000) / 10 : null,
    };
  }
}
