/**
 * The grid's MQTT consumer: decodes each message, hands its rows to the batch writer, and
 * publishes on the live channel after commit. Bad payloads throw DeadLetter (the platform stores
 * them and acknowledges); nothing here can stop the stream.
 */
import type { Logger } from 'pino';
import type { GridConfig } from '../../config.ts';
import type { BatchWriter } from '../../platform/ingest/batch-writer.ts';
import { isoFormatter } from '../../platform/iso-time.ts';
import type { LiveChannel } from '../../platform/live/port.ts';
import { DeadLetter, type MessageHandler, type MqttMessage } from '../../platform/mqtt/port.ts';
import {
  classify,
  decodeAck,
  decodeLoadSnapshot,
  decodeMetering,
  decodeStatus,
  parseJsonObject,
  telemetryTopic,
  type Ack,
  type Metering,
} from './codec.ts';
import type { GridStore } from './store.ts';
import { meteringUnit, snapshotUnit, statusUnit } from './tables.ts';

type Kind = 'metering' | 'status' | 'loads' | 'ack' | 'auto';

/** Topic filters and what each carries. `ven/telemetry/+` and `ven/ack/+` carry the VEN id. */
export function gridTopics(cfg: GridConfig): { filter: string; kind: Kind }[] {
  const t: { filter: string; kind: Kind }[] = [
    { filter: cfg.topicMetering, kind: 'metering' },
    { filter: cfg.topicStatus, kind: 'status' },
    { filter: cfg.topicEvents, kind: 'auto' },
    { filter: cfg.topicResponses, kind: 'ack' },
    { filter: 'ven/telemetry/+', kind: 'metering' },
    { filter: 'ven/ack/+', kind: 'ack' },
  ];
  if (cfg.topicLoads) t.push({ filter: cfg.topicLoads, kind: 'loads' });
  for (const extra of cfg.extraTopics) t.push({ filter: extra, kind: 'auto' });
  const seen = new Set<string>();
  return t.filter((x) => !seen.has(x.filter) && seen.add(x.filter));
}

export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

export class GridIngest {
  private readonly topics: { filter: string; kind: Kind }[];
  private readonly writer: BatchWriter;
  private readonly store: GridStore;
  private readonly live: LiveChannel;
  private readonly log: Logger;
  /** This instance's idea of each VEN's status, to announce offline → online once. */
  readonly statuses = new Map<string, string>();
  /** When this instance last wrote each VEN's row (its `last_seen`), in ms. */
  private readonly touched = new Map<string, number>();
  /**
   * How stale a VEN's `last_seen` may get while it reports: a fraction of the offline threshold,
   * so that the heartbeat never takes a reporting VEN for a silent one.
   */
  private readonly touchMs: number;
  private readonly knownEvents = new Set<string>();
  /** Per topic (one per VEN and kind): what it carries and the VEN id its name holds, if any. */
  private readonly kinds = new Map<string, { kind: Kind; venFromTopic: string | null }>();
  /**
   * Each VEN's live telemetry topic (see `telemetryTopic`), or null when its id names none. Such a
   * VEN is stored as any other; only its telemetry is not published live, which is logged once.
   */
  private readonly telemetryTopics = new Map<string, string | null>();
  /** One function for every telemetry event's `catch`, not a closure per message. */
  private readonly livePublishFailed = (e: unknown) => this.log.debug({ err: e }, 'live publish failed');
  /** Formats the times VENs report (see `isoFormatter`). */
  private readonly readingTime = isoFormatter();

  constructor(deps: {
    config: GridConfig;
    writer: BatchWriter;
    store: GridStore;
    live: LiveChannel;
    log: Logger;
  }) {
    this.topics = gridTopics(deps.config);
    this.touchMs = Math.max(100, Math.min(10_000, Math.floor(deps.config.offlineAfterMs / 6)));
    this.writer = deps.writer;
    this.store = deps.store;
    this.live = deps.live;
    this.log = deps.log;
  }

  get filters(): string[] {
    return this.topics.map((t) => t.filter);
  }

  /**
   * The consumer's handler. Metering whose event (if any) is known here, nearly every message,
   * takes a path without promises: decoded, queued, and published live from the writer's
   * callback. Everything else goes through {@link handleOther}.
   */
  handle: MessageHandler = (msg, done) => {
    const route = this.routeOf(msg.topic);
    if (route === undefined) throw new DeadLetter('no handler for this topic');
    if (route.kind !== 'metering') return this.handleOther(msg, route.kind, route.venFromTopic);
    const m = decodeMetering(msg.payload, route.venFromTopic);
    if (m.eventId !== null && !this.knownEvents.has(m.eventId))
      return this.requireEvent(m.eventId).then(() => this.stored(msg, m));
    this.storeMetering(msg, m, done);
  };

  private stored(msg: MqttMessage, m: Metering): Promise<void> {
    return new Promise((resolve, reject) => this.storeMetering(msg, m, (e) => (e ? reject(e) : resolve())));
  }

  private storeMetering(msg: MqttMessage, m: Metering, done: (err?: Error) => void) {
    // Epoch ms, not a Date: it waits for the commit with the message.
    const receivedAt = Date.now();
    const touch = this.shouldTouch(m.venId, receivedAt);
    // The payload is stored as received (its bytes go straight into the COPY). The rows are made
    // when the batch is written (see `UnitSource`).
    this.writer.add(
      () => meteringUnit(m, receivedAt, msg.payload, touch),
      (err) => {
        if (err) return done(err);
        try {
          this.afterCommit(m.venId, m, touch, receivedAt);
        } finally {
          // Stored: acknowledged whatever the live side did.
          done();
        }
      },
    );
  }

  private async handleOther(msg: MqttMessage, kind: Kind, venFromTopic: string | null): Promise<void> {
    const resolved: Exclude<Kind, 'auto'> = kind === 'auto' ? classify(parseJsonObject(msg.payload)) : kind;
    const receivedAt = Date.now();
    switch (resolved) {
      case 'metering': {
        const m = decodeMetering(msg.payload, venFromTopic);
        if (m.eventId !== null) await this.requireEvent(m.eventId);
        return this.stored(msg, m);
      }
      case 'status': {
        const s = decodeStatus(msg.payload, venFromTopic);
        if (s.activeEventId !== null) await this.requireEvent(s.activeEventId);
        const touch = this.shouldTouch(s.venId, receivedAt);
        await this.writer.write(() => statusUnit(s, receivedAt, touch));
        this.afterCommit(s.venId, null, touch, receivedAt);
        return;
      }
      case 'loads': {
        const s = decodeLoadSnapshot(msg.payload, venFromTopic);
        const touch = this.shouldTouch(s.venId, receivedAt);
        await this.writer.write(() => snapshotUnit(s, receivedAt, touch));
        this.afterCommit(s.venId, null, touch, receivedAt);
        return;
      }
      case 'ack': {
        const a = decodeAck(msg.payload, venFromTopic);
        if (a.eventId !== null) await this.requireEvent(a.eventId);
        await this.storeAck(a, receivedAt);
        void this.live
          .publish('grid.events', {
            type: 'ack',
            venId: a.venId,
            eventId: a.eventId,
            op: a.op,
            status: a.status,
          })
          .catch(() => undefined);
        this.afterCommit(a.venId, null, true, receivedAt); // storeAck wrote the VEN's row
        return;
      }
    }
  }

  /** Which filter a topic falls under (and the VEN id in `ven/<kind>/<id>`), remembered per topic. */
  private routeOf(topic: string): { kind: Kind; venFromTopic: string | null } | undefined {
    let route = this.kinds.get(topic);
    if (route === undefined) {
      const kind = this.topics.find((t) => topicMatches(t.filter, topic))?.kind;
      if (kind === undefined) return undefined;
      const parts = topic.split('/');
      route = { kind, venFromTopic: parts[0] === 'ven' && parts.length === 3 ? (parts[2] ?? null) : null };
      if (this.kinds.size >= 100_000) this.kinds.clear();
      this.kinds.set(topic, route);
    }
    return route;
  }

  /** An unknown eventId is a bad payload (the seed failed on a foreign key instead). */
  private async requireEvent(id: string) {
    if (this.knownEvents.has(id)) return;
    if (!(await this.store.eventExists(id))) throw new DeadLetter(`unknown eventId ${id}`);
    if (this.knownEvents.size > 10_000) this.knownEvents.clear();
    this.knownEvents.add(id);
  }

  forgetEvent(id: string) {
    this.knownEvents.delete(id);
  }

  /**
   * Whether a message's unit writes the VEN's row: when the VEN is not known here to be online
   * (new, or marked offline: the row registers it or brings it back) or its `last_seen` is older
   * than `touchMs`. Most messages of a reporting VEN write only their readings.
   */
  private shouldTouch(venId: string, receivedAt: number): boolean {
    if (this.statuses.get(venId) !== 'online') return true;
    return receivedAt - (this.touched.get(venId) ?? 0) >= this.touchMs;
  }

  private afterCommit(venId: string, m: Metering | null, touched: boolean, receivedAt: number) {
    if (touched) {
      if (receivedAt > (this.touched.get(venId) ?? 0)) this.touched.set(venId, receivedAt);
    }
    if (this.statuses.get(venId) !== 'online') {
      this.statuses.set(venId, 'online');
      void this.live.publish('grid.vens', { venId, status: 'online' }).catch(() => undefined);
    }
    if (m === null) return;
    const topic = this.liveTopicOf(venId);
    if (topic === null) return;
    void this.live
      .publish(topic, {
        venId,
        timestamp: this.readingTime(m.timestamp.getTime()),
        usedPowerKw: m.usedPowerKw,
        shedPowerKw: m.shedPowerKw,
        requestedReductionKw: m.requestedReductionKw,
        eventId: m.eventId,
        batterySoc: m.batterySoc,
        loads: m.loads,
      })
      .catch(this.livePublishFailed);
  }

  private liveTopicOf(venId: string): string | null {
    let topic = this.telemetryTopics.get(venId);
    if (topic === undefined) {
      topic = telemetryTopic(venId);
      if (topic === null)
        this.log.warn(
          { venId },
          'VEN id cannot name a live topic (dots must separate words): its telemetry is stored but not published live',
        );
      if (this.telemetryTopics.size >= 100_000) this.telemetryTopics.clear();
      this.telemetryTopics.set(venId, topic);
    }
    return topic;
  }

  private async storeAck(a: Ack, receivedMs: number) {
    const receivedAt = new Date(receivedMs);
    await this.store.db.transaction(async (tx) => {
      // Dispatch row first, VEN row second: the dispatcher locks them in that order too.
      if (a.op === 'event' && a.eventId !== null) {
        await tx.query(
          `UPDATE grid_dispatches SET acked_at = coalesce(acked_at, $3), ack_status = $4
            WHERE event_id = $1 AND ven_id = $2`,
          [a.eventId, a.venId, receivedAt, a.status],
        );
      } else if (a.op === 'restore' && a.eventId !== null) {
        await tx.query(
          `UPDATE grid_dispatches SET restore_acked_at = coalesce(restore_acked_at, $3)
            WHERE event_id = $1 AND ven_id = $2`,
          [a.eventId, a.venId, receivedAt],
        );
      }
      // Acks may come from a VEN that never reported yet: register it like telemetry does.
      await tx.query(
        `INSERT INTO grid_vens (id, name, status, registration_id, last_seen) VALUES ($1, $1, 'online', $1, $2)
         ON CONFLICT (id) DO UPDATE SET status = 'online', last_seen = greatest(grid_vens.last_seen, excluded.last_seen)`,
        [a.venId, receivedAt],
      );
      await tx.query(
        `INSERT INTO grid_acks (ven_id, event_id, correlation_id, op, status, ts, requested_shed_kw, actual_shed_kw,
                                circuits_curtailed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
        [
          a.venId,
          a.eventId,
          a.correlationId,
          a.op,
          a.status,
          a.timestamp,
          a.requestedShedKw,
          a.actualShedKw,
          JSON.stringify(a.circuitsCurtailed),
        ],
      );
    });
  }
}
