/**
 * The live channel of one instance: assigns ids, delivers to local subscribers, writes durable
 * events to `live_events` (batched, one transaction per batch) and exchanges events with the
 * other instances over a {@link LiveBus}.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { badRequest } from '../errors.ts';
import { isoFormatter } from '../iso-time.ts';
import type { LiveBus } from './bus.ts';
import { PeerInterest, type InterestMessage } from './interest.ts';
import type { LiveChannel, LiveEvent, PublishOptions } from './port.ts';
import type { LiveStore, Retention, StoredEvent } from './store.ts';
import { SubscriberIndex, WireEvent, type WireHandler } from './subscribers.ts';
import { compilePattern, isPattern, isTopic } from './topics.ts';

export interface LiveHubOptions {
  log: Logger;
  /** Keeps durable events; without it nothing is durable and `replay` returns nothing. */
  store?: LiveStore;
  /** Reaches the other instances; without it the channel is in-process only. */
  bus?: LiveBus;
  /** Topic patterns that are durable without the publisher saying so. */
  durableTopics?: readonly string[];
  /** Retention of durable events (default 1000 per topic, 60 minutes). */
  retention?: Retention;
  /** How often to prune `live_events` (default 60 s; 0 = never, for tests). */
  pruneIntervalMs?: number;
  /** Events waiting for the bus beyond which the oldest are dropped (default 100,000). */
  maxBacklog?: number;
  /** How often this instance announces its subscriptions to the others (default 10 s). */
  interestRefreshMs?: number;
  onDeliver?: (delivered: number) => void;
}

interface PendingDurable {
  topic: string;
  ts: string;
  data: unknown;
  dataJson: string;
  local: boolean;
  resolve: (event: LiveEvent) => void;
  reject: (e: unknown) => void;
}

type BusItem = LiveEvent | [string, number];

/** Ids are microseconds since the epoch, bumped to stay above the last id handed out or seen. */
const clockId = () => Date.now() * 1000;
const DURABLE_BATCH = 500;

export class LiveHub implements LiveChannel {
  /** Identifies this instance on the bus. */
  readonly origin = randomUUID();
  private readonly log: Logger;
  private readonly store: LiveStore | undefined;
  private readonly bus: LiveBus | undefined;
  private readonly index = new SubscriberIndex(() => this.interest?.localChanged());
  /** What the other instances subscribe to (only events they want go on the bus). */
  private readonly interest: PeerInterest | null;
  private readonly durableMatchers: ((topic: string) => boolean)[] = [];
  /**
   * The last id this instance handed out or saw (a hybrid logical clock): ids are strictly
   * increasing across all topics of an instance, so one id is a resume point for many topics.
   */
  private lastId = 0;
  private readonly retention: Retention;
  private readonly maxBacklog: number;
  private readonly onDeliver: ((n: number) => void) | undefined;
  private durableQueue: PendingDurable[] = [];
  private durableFlushing = false;
  private outgoing: { wire: WireEvent; stored: boolean }[] = [];
  private sending = false;
  private receiving: Promise<void> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly eventTime = isoFormatter();
  /** Topics published before, so known to be valid: a set lookup instead of a RegExp per event. */
  private readonly validTopics = new Set<string>();

  constructor(opts: LiveHubOptions) {
    this.log = opts.log;
    this.store = opts.store;
    this.bus = opts.bus;
    this.retention = opts.retention ?? { perTopic: 1000, maxAgeMinutes: 60 };
    this.maxBacklog = opts.maxBacklog ?? 100_000;
    this.onDeliver = opts.onDeliver;
    this.interest = opts.bus
      ? new PeerInterest({
          origin: this.origin,
          send: (payload) => (opts.bus as LiveBus).send(payload),
          localPatterns: () => this.index.patterns(),
          maxPayload: opts.bus.maxPayload,
          log: opts.log,
          ...(opts.interestRefreshMs ? { refreshMs: opts.interestRefreshMs } : {}),
        })
      : null;
    this.durable(opts.durableTopics ?? []);
    const prune = opts.pruneIntervalMs ?? 60_000;
    if (this.store && prune > 0) this.timers.push(setInterval(() => void this.prune(), prune).unref());
  }

  /** Starts receiving from the other instances, and tells them what this one subscribes to. */
  async start(): Promise<void> {
    await this.bus?.start((payload) => this.receive(payload));
    await this.interest?.start();
  }

  /**
   * Resolves once the other instances know this instance's subscriptions as they are now, so
   * that what they publish from then on reaches its subscribers (see `interest.ts`).
   */
  interestSettled(): Promise<void> {
    return this.interest?.settled() ?? Promise.resolve();
  }

  /** Other instances this one has heard from (their subscriptions decide what is sent). */
  get peers(): number {
    return this.interest?.peerCount ?? 0;
  }

  /** Whether an event on `topic` would be sent to the other instances (some of them want it). */
  forwards(topic: string): boolean {
    return this.interest?.wants(topic) ?? false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    // Let queued durable writes and bus sends finish (they are short), then stop listening.
    for (let i = 0; i < 100 && (this.durableFlushing || this.sending || this.durableQueue.length > 0); i++)
      await new Promise((r) => setTimeout(r, 10));
    await this.interest?.stop();
    await this.bus?.stop();
    await this.receiving;
  }

  get subscriberCount(): number {
    return this.index.size;
  }

  durable(patterns: readonly string[]): void {
    for (const p of patterns) {
      if (!isPattern(p)) throw new Error(`not a topic pattern: '${p}'`);
      this.durableMatchers.push(compilePattern(p));
    }
  }

  isDurable(topic: string): boolean {
    return this.durableMatchers.some((m) => m(topic));
  }

  publish<T>(topic: string, data: T, opts: PublishOptions = {}): Promise<LiveEvent<T>> {
    if (!this.validTopics.has(topic)) {
      if (!isTopic(topic)) return Promise.reject(badRequest(`not a topic name: '${topic}'`));
      if (this.validTopics.size >= 10_000) this.validTopics.clear();
      this.validTopics.add(topic);
    }
    if (this.stopped) return Promise.reject(new Error('the live channel is stopped'));
    const ts = this.eventTime(Date.now());
    const durable = this.store !== undefined && (opts.durable ?? this.isDurable(topic));
    if (durable) {
      return new Promise<LiveEvent<T>>((resolve, reject) => {
        this.durableQueue.push({
          topic,
          ts,
          data,
          dataJson: JSON.stringify(data) ?? 'null',
          local: opts.local === true,
          resolve: resolve as (e: LiveEvent) => void,
          reject,
        });
        if (!this.durableFlushing) setImmediate(() => void this.flushDurable());
      });
    }
    const event: LiveEvent<T> = { topic, id: this.nextId(), ts, data };
    const wire = new WireEvent(event);
    this.deliver(wire);
    if (!opts.local) this.enqueue(wire, false);
    return Promise.resolve(event);
  }

  subscribe(patterns: readonly string[], handler: (event: LiveEvent) => void): () => void {
    return this.subscribeWire(patterns, (wire) => handler(wire.event));
  }

  /** Like `subscribe`, with the event's serialised forms (built once, shared by all sockets). */
  subscribeWire(patterns: readonly string[], handler: WireHandler): () => void {
    for (const p of patterns) if (!isPattern(p)) throw badRequest(`not a topic pattern: '${p}'`);
    return this.index.add(patterns, handler);
  }

  async replay(patterns: readonly string[], since: number, limit = 1000): Promise<LiveEvent[]> {
    return (await this.replayWire(patterns, since, limit)).map((w) => w.event);
  }

  async replayWire(patterns: readonly string[], since: number, limit = 1000): Promise<WireEvent[]> {
    if (!this.store) return [];
    for (const p of patterns) if (!isPattern(p)) throw badRequest(`not a topic pattern: '${p}'`);
    const rows = await this.store.replay(patterns, since, limit);
    return rows.map((r) => new WireEvent(r.event, r.dataJson));
  }

  /** Deletes durable events beyond the retention; returns how many. */
  async prune(): Promise<number> {
    if (!this.store) return 0;
    try {
      return await this.store.prune(this.retention);
    } catch (e) {
      this.log.warn({ err: e }, 'pruning live events failed');
      return 0;
    }
  }

  private nextId(): number {
    this.lastId = Math.max(this.lastId + 1, clockId());
    return this.lastId;
  }

  private observeId(id: number) {
    if (id > this.lastId) this.lastId = id;
  }

  private deliver(wire: WireEvent) {
    const n = this.index.deliver(wire, (e) => this.log.error({ err: e }, 'live subscriber failed'));
    this.onDeliver?.(n);
  }

  private async flushDurable(): Promise<void> {
    if (this.durableFlushing || !this.store) return;
    this.durableFlushing = true;
    try {
      while (this.durableQueue.length > 0) {
        const batch = this.durableQueue.splice(0, DURABLE_BATCH);
        let ids: number[];
        try {
          ids = await this.store.append(
            batch.map((p) => ({
              topic: p.topic,
              ts: p.ts,
              dataJson: p.dataJson,
              floor: this.nextId(),
            })),
          );
        } catch (e) {
          for (const p of batch) p.reject(e);
          continue;
        }
        batch.forEach((p, i) => {
          const event: LiveEvent = { topic: p.topic, id: ids[i] as number, ts: p.ts, data: p.data };
          this.observeId(event.id);
          const wire = new WireEvent(event, p.dataJson);
          this.deliver(wire);
          if (!p.local) this.enqueue(wire, true);
          p.resolve(event);
        });
      }
    } finally {
      this.durableFlushing = false;
    }
  }

  private enqueue(wire: WireEvent, stored: boolean) {
    if (!this.bus || !this.interest?.wants(wire.event.topic)) return;
    this.outgoing.push({ wire, stored });
    if (this.outgoing.length > this.maxBacklog) {
      const dropped = this.outgoing.splice(0, this.outgoing.length - this.maxBacklog);
      this.log.warn({ dropped: dropped.length }, 'live bus backlog full; dropped the oldest events');
    }
    if (!this.sending) {
      this.sending = true;
      setImmediate(() => void this.flushOutgoing());
    }
  }

  /** Packs queued events into as few bus messages as fit the bus's payload limit, in order. */
  private async flushOutgoing(): Promise<void> {
    const bus = this.bus as LiveBus;
    try {
      while (this.outgoing.length > 0) {
        const batch = this.outgoing;
        this.outgoing = [];
        const oversized = batch.filter(
          (b) => !b.stored && Buffer.byteLength(b.wire.json) > bus.maxPayload - 200,
        );
        if (oversized.length > 0 && this.store) {
          await this.store.keep(
            oversized.map((b) => ({ event: b.wire.event, dataJson: dataJsonOf(b.wire) })),
          );
          for (const b of oversized) b.stored = true;
        }
        const head = `{"o":"${this.origin}","e":[`;
        let parts: string[] = [];
        let size = head.length + 2;
        const flush = async () => {
          if (parts.length === 0) return;
          const payload = `${head}${parts.join(',')}]}`;
          parts = [];
          size = head.length + 2;
          await bus.send(payload);
        };
        for (const { wire, stored } of batch) {
          const full = wire.json;
          const item =
            stored && Buffer.byteLength(full) > bus.maxPayload - 200
              ? JSON.stringify([wire.event.topic, wire.event.id])
              : full;
          const bytes = Buffer.byteLength(item) + 1;
          if (bytes + head.length + 2 > bus.maxPayload) {
            this.log.warn({ topic: wire.event.topic }, 'live event too large for the bus; not sent');
            continue;
          }
          if (size + bytes > bus.maxPayload) await flush();
          parts.push(item);
          size += bytes;
        }
        await flush();
      }
    } catch (e) {
      this.log.error({ err: e }, 'sending live events to the other instances failed');
    } finally {
      this.sending = false;
      if (this.outgoing.length > 0 && !this.stopped) {
        this.sending = true;
        setTimeout(() => void this.flushOutgoing(), 100);
      }
    }
  }

  /**
   * Handles one bus message. Events are processed strictly in order (fetches included); interest
   * messages at once.
   */
  private receive(payload: string) {
    if (payload.startsWith(`{"o":"${this.origin}"`)) return;
    let message: { e?: BusItem[] } & InterestMessage;
    try {
      message = JSON.parse(payload) as typeof message;
    } catch (e) {
      this.log.warn({ err: e }, 'unreadable live bus message');
      return;
    }
    const items = message.e;
    if (!Array.isArray(items)) {
      this.interest?.handle(message);
      return;
    }
    this.receiving = this.receiving.then(async () => {
      const refs = items.filter((i): i is [string, number] => Array.isArray(i));
      let fetched = new Map<string, StoredEvent>();
      if (refs.length > 0 && this.store) {
        try {
          const rows = await this.store.fetch(refs);
          fetched = new Map(rows.map((r) => [`${r.event.id}:${r.event.topic}`, r]));
        } catch (e) {
          this.log.warn({ err: e }, 'fetching oversized live events failed');
        }
      }
      for (const item of items) {
        let wire: WireEvent;
        if (Array.isArray(item)) {
          const row = fetched.get(`${item[1]}:${item[0]}`);
          if (!row) continue;
          wire = new WireEvent(row.event, row.dataJson);
        } else {
          wire = new WireEvent(item);
        }
        this.observeId(wire.event.id);
        this.deliver(wire);
      }
    });
  }
}

const dataJsonOf = (wire: WireEvent) => JSON.stringify(wire.event.data) ?? 'null';
