/**
 * The local subscriber index: which in-process handlers want which topics. Subscribers are
 * grouped by pattern, so an event costs one check per distinct pattern (not per subscriber)
 * plus one call per interested subscriber; a subscriber with several matching patterns still
 * gets the event once.
 */
import type { LiveEvent } from './port.ts';
import { compilePattern } from './topics.ts';

/**
 * An event with its serialised forms, built at most once per event and shared by every
 * connection that sends it (serialising per client is what makes fan-out slow).
 */
export class WireEvent {
  readonly event: LiveEvent;
  /** The event's `data` already as JSON (from the database or a bus), to avoid re-encoding it. */
  private readonly dataJson: string | undefined;
  private jsonCache: string | undefined;
  private bufferCache: Buffer | undefined;
  private sseCache: Buffer | undefined;
  private frameCache: Buffer | undefined;

  constructor(event: LiveEvent, dataJson?: string) {
    this.event = event;
    this.dataJson = dataJson;
  }

  /** `{"topic":…,"id":…,"ts":…,"data":…}` */
  get json(): string {
    this.jsonCache ??=
      `{"topic":${JSON.stringify(this.event.topic)},"id":${this.event.id},"ts":"${this.event.ts}",` +
      `"data":${this.dataJson ?? JSON.stringify(this.event.data) ?? 'null'}}`;
    return this.jsonCache;
  }

  /** The JSON as UTF-8 bytes: what a WebSocket text frame carries. */
  get buffer(): Buffer {
    this.bufferCache ??= Buffer.from(this.json);
    return this.bufferCache;
  }

  /**
   * The whole WebSocket text frame (header and payload). Frames from a server are not masked,
   * so the same bytes go to every client: built once, written to each socket as they are.
   */
  get frame(): Buffer {
    if (this.frameCache) return this.frameCache;
    const payload = this.buffer;
    const n = payload.length;
    const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(head + n);
    frame[0] = 0x81; // FIN + text
    if (n < 126) {
      frame[1] = n;
    } else if (n < 65536) {
      frame[1] = 126;
      frame.writeUInt16BE(n, 2);
    } else {
      frame[1] = 127;
      frame.writeBigUInt64BE(BigInt(n), 2);
    }
    payload.copy(frame, head);
    this.frameCache = frame;
    return frame;
  }

  /** One Server-Sent Events message (the default `message` event). */
  get sse(): Buffer {
    this.sseCache ??= Buffer.from(`id: ${this.event.id}\ndata: ${this.json}\n\n`);
    return this.sseCache;
  }
}

export type WireHandler = (wire: WireEvent) => void;

interface Subscriber {
  handler: WireHandler;
  /** Sequence number of the last event delivered, so several matching patterns deliver once. */
  seen: number;
}

interface PatternGroup {
  matches: (topic: string) => boolean;
  subscribers: Set<Subscriber>;
}

export class SubscriberIndex {
  private readonly exact = new Map<string, Set<Subscriber>>();
  private readonly wildcards = new Map<string, PatternGroup>();
  private seq = 0;
  private count = 0;
  /** Called when a pattern gains its first subscriber or loses its last. */
  private readonly onPatternsChanged: () => void;

  constructor(onPatternsChanged: () => void = () => undefined) {
    this.onPatternsChanged = onPatternsChanged;
  }

  get size(): number {
    return this.count;
  }

  /** Every pattern (or exact topic) some subscriber holds. */
  patterns(): string[] {
    return [...this.exact.keys(), ...this.wildcards.keys()];
  }

  add(patterns: readonly string[], handler: WireHandler): () => void {
    const sub: Subscriber = { handler, seen: 0 };
    const unique = [...new Set(patterns)];
    let changed = false;
    for (const p of unique) {
      if (p.includes('*')) {
        let group = this.wildcards.get(p);
        if (!group) {
          this.wildcards.set(p, (group = { matches: compilePattern(p), subscribers: new Set() }));
          changed = true;
        }
        group.subscribers.add(sub);
      } else {
        let set = this.exact.get(p);
        if (!set) {
          this.exact.set(p, (set = new Set()));
          changed = true;
        }
        set.add(sub);
      }
    }
    this.count++;
    if (changed) this.onPatternsChanged();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.count--;
      let gone = false;
      for (const p of unique) {
        if (p.includes('*')) {
          const group = this.wildcards.get(p);
          group?.subscribers.delete(sub);
          if (group?.subscribers.size === 0) gone = this.wildcards.delete(p) || gone;
        } else {
          const set = this.exact.get(p);
          set?.delete(sub);
          if (set?.size === 0) gone = this.exact.delete(p) || gone;
        }
      }
      if (gone) this.onPatternsChanged();
    };
  }

  /** Calls every subscriber interested in the event once; returns how many there were. */
  deliver(wire: WireEvent, onError: (e: unknown) => void): number {
    const seq = ++this.seq;
    const topic = wire.event.topic;
    let delivered = 0;
    const exact = this.exact.get(topic);
    if (exact) delivered += visit(exact, wire, seq, onError);
    for (const group of this.wildcards.values())
      if (group.matches(topic)) delivered += visit(group.subscribers, wire, seq, onError);
    return delivered;
  }
}

/** Calls the subscribers of `subs` that have not had event `seq` yet; returns how many. */
function visit(subs: Set<Subscriber>, wire: WireEvent, seq: number, onError: (e: unknown) => void): number {
  let delivered = 0;
  for (const sub of subs) {
    if (sub.seen === seq) continue;
    sub.seen = seq;
    delivered++;
    try {
      sub.handler(wire);
    } catch (e) {
      onError(e);
    }
  }
  return delivered;
}
