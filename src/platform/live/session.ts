/**
 * One client connection of the live channel, whatever the transport (WebSocket, SSE, an app's
 * own socket): its subscriptions, the replay of what it missed, and the bound on what it may
 * leave unread. A client whose unsent bytes exceed the bound is disconnected at once, so a slow
 * reader never holds memory or delays anyone else.
 */
import type { LiveHub } from './channel.ts';
import type { WireEvent } from './subscribers.ts';
import { isPattern } from './topics.ts';

export interface LiveTransport {
  /** Bytes accepted but not yet written to the network. */
  buffered(): number;
  write(wire: WireEvent): void;
  /** A control message (`subscribed`, `error`); transports without a way to send them may ignore it. */
  control(message: Record<string, unknown>): void;
  /** Drops the connection immediately (no goodbye: the client is not reading). */
  kill(reason: string): void;
}

export interface SessionOptions {
  /** Unsent bytes allowed per client before it is cut off. */
  maxBufferedBytes: number;
  /** Patterns one client may hold. */
  maxPatterns?: number;
  /** Events replayed per subscribe at most. */
  replayLimit?: number;
  onSlowClient?: () => void;
}

export class LiveSession {
  private readonly hub: LiveHub;
  private readonly transport: LiveTransport;
  private readonly opts: Required<Omit<SessionOptions, 'onSlowClient'>> &
    Pick<SessionOptions, 'onSlowClient'>;
  private readonly patterns = new Set<string>();
  private detach: (() => void) | null = null;
  /** Live events that arrive while a replay is being read; sent after it, without duplicates. */
  private held: WireEvent[] | null = null;
  private heldBytes = 0;
  /**
   * The last replayed id per topic. A live event at or below it was in the replay: it reaches
   * this instance late when it came from another instance's bus after its row was committed.
   */
  private readonly replayed = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(hub: LiveHub, transport: LiveTransport, opts: SessionOptions) {
    this.hub = hub;
    this.transport = transport;
    this.opts = { maxPatterns: 100, replayLimit: 1000, ...opts };
  }

  get topics(): string[] {
    return [...this.patterns];
  }

  /**
   * Adds subscriptions; with `since`, first sends the durable events after it on the new
   * patterns. Commands run one at a time in arrival order.
   */
  subscribe(patterns: readonly string[], since?: number): Promise<void> {
    return this.enqueue(async () => {
      const bad = patterns.filter((p) => !isPattern(p));
      if (bad.length > 0)
        return this.transport.control({ type: 'error', detail: `not a topic pattern: '${bad[0]}'` });
      const fresh = patterns.filter((p) => !this.patterns.has(p));
      if (this.patterns.size + fresh.length > this.opts.maxPatterns)
        return this.transport.control({ type: 'error', detail: `at most ${this.opts.maxPatterns} topics` });
      for (const p of fresh) this.patterns.add(p);
      let replayed = 0;
      let truncated = false;
      if (since !== undefined && fresh.length > 0) {
        this.held = [];
        this.heldBytes = 0;
        this.resubscribe();
        // The other instances learn of the new patterns before the replay is read, so that an
        // event is either in the replay or arrives live.
        await this.hub.interestSettled();
        let events: WireEvent[];
        try {
          events = await this.hub.replayWire(fresh, since, this.opts.replayLimit);
        } catch {
          events = [];
          this.transport.control({ type: 'error', detail: 'could not read missed events' });
        }
        if (this.closed) return;
        for (const w of events) {
          if (w.event.id > (this.replayed.get(w.event.topic) ?? -1))
            this.replayed.set(w.event.topic, w.event.id);
          this.send(w);
        }
        replayed = events.length;
        // More missed than one replay sends: the oldest are left out; the client should reload.
        truncated = events.length >= this.opts.replayLimit;
        const held = this.held;
        this.held = null;
        for (const w of held) if (!this.wasReplayed(w)) this.send(w);
      } else {
        this.resubscribe();
        await this.hub.interestSettled();
      }
      if (this.closed) return;
      this.transport.control({ type: 'subscribed', topics: this.topics, replayed, truncated });
    });
  }

  /** Removes the given patterns, or every pattern when none are given. */
  unsubscribe(patterns?: readonly string[]): Promise<void> {
    return this.enqueue(() => {
      if (patterns === undefined) this.patterns.clear();
      else for (const p of patterns) this.patterns.delete(p);
      this.resubscribe();
      this.transport.control({ type: 'unsubscribed', topics: this.topics });
      return Promise.resolve();
    });
  }

  close(): void {
    this.closed = true;
    this.detach?.();
    this.detach = null;
    this.held = null;
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(() => (this.closed ? undefined : fn()));
    return this.queue;
  }

  private resubscribe() {
    this.detach?.();
    this.detach = this.patterns.size > 0 ? this.hub.subscribeWire(this.topics, (w) => this.onEvent(w)) : null;
  }

  private onEvent(wire: WireEvent) {
    if (this.held) {
      this.held.push(wire);
      this.heldBytes += wire.buffer.length;
      if (this.heldBytes > this.opts.maxBufferedBytes) this.cutOff();
      return;
    }
    if (!this.wasReplayed(wire)) this.send(wire);
  }

  private wasReplayed(wire: WireEvent): boolean {
    if (this.replayed.size === 0) return false;
    const last = this.replayed.get(wire.event.topic);
    return last !== undefined && wire.event.id <= last;
  }

  private send(wire: WireEvent) {
    if (this.closed) return;
    if (this.transport.buffered() > this.opts.maxBufferedBytes) return this.cutOff();
    this.transport.write(wire);
  }

  private cutOff() {
    if (this.closed) return;
    this.close();
    this.opts.onSlowClient?.();
    this.transport.kill('slow client: too many unsent bytes');
  }
}
