/**
 * Which topics the other instances want. Every instance announces on the bus the topic patterns
 * its subscribers hold, when they change and every `refreshMs`; an event goes on the bus only
 * when another instance wants its topic. An instance whose events nobody else listens to (one
 * instance alone, or telemetry no dashboard follows) then spends nothing on fan-out: at 10,000+
 * grid messages a second, sending every event through PostgreSQL NOTIFY and reading it back cost
 * more than storing it.
 *
 * A new subscription is effective across instances once its announcement has been acknowledged by
 * every known peer: `settled()` resolves then (or after `ackTimeoutMs`), and the live routes answer
 * `subscribed` only after it. A peer that has not been heard of for three refreshes is forgotten.
 *
 * Bus messages (besides events, `{"o", "e"}`): `{"o", "i": patterns, "v": version, "h"?: 1}`
 * announces (`h`: a new instance asking the others to announce too), `{"o", "a": [origin, v]}`
 * acknowledges an announcement, `{"o", "bye": 1}` says an instance is stopping.
 */
import type { Logger } from 'pino';
import { compilePattern, isPattern } from './topics.ts';

export interface InterestMessage {
  o: string;
  i?: string[];
  v?: number;
  h?: 1;
  a?: [string, number];
  bye?: 1;
}

interface Peer {
  matchers: ((topic: string) => boolean)[];
  seen: number;
}

export interface PeerInterestOptions {
  origin: string;
  send: (payload: string) => Promise<void>;
  /** The patterns this instance's subscribers hold now. */
  localPatterns: () => string[];
  /** Largest bus message; a pattern list that does not fit is announced as `*` (everything). */
  maxPayload: number;
  log: Logger;
  /** How often interest is announced again (default 10 s). */
  refreshMs?: number;
  /** How long `settled()` waits for acknowledgements at most (default 1 s). */
  ackTimeoutMs?: number;
}

const MAX_CACHED_TOPICS = 10_000;

export class PeerInterest {
  private readonly opts: Required<PeerInterestOptions>;
  private readonly peers = new Map<string, Peer>();
  /** Whether some peer wants a topic; cleared whenever a peer's interest changes. */
  private readonly cache = new Map<string, boolean>();
  private version = 0;
  private announcing: Promise<void> | null = null;
  private dirty = false;
  /** Acknowledged version per peer, and who waits for what. */
  private readonly acked = new Map<string, number>();
  private waiters: { version: number; peers: string[]; resolve: () => void; timer: NodeJS.Timeout }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(opts: PeerInterestOptions) {
    this.opts = { refreshMs: 10_000, ackTimeoutMs: 1000, ...opts };
  }

  /** Announces this instance (asking the others to answer with theirs) and keeps it fresh. */
  async start(): Promise<void> {
    await this.announce(true);
    this.timer = setInterval(() => {
      this.expirePeers();
      this.localChanged();
    }, this.opts.refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve();
    }
    await this.opts.send(JSON.stringify({ o: this.opts.origin, bye: 1 })).catch(() => undefined);
  }

  get peerCount(): number {
    return this.peers.size;
  }

  /** Whether an event on `topic` should go on the bus. */
  wants(topic: string): boolean {
    if (this.peers.size === 0) return false;
    let w = this.cache.get(topic);
    if (w === undefined) {
      w = false;
      for (const p of this.peers.values()) if (p.matchers.some((m) => m(topic))) w = true;
      if (this.cache.size >= MAX_CACHED_TOPICS) this.cache.clear();
      this.cache.set(topic, w);
    }
    return w;
  }

  /** The local subscriptions changed: announce them (coalescing changes made together). */
  localChanged(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.announcing === null) {
      this.announcing = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.flush())
        .finally(() => (this.announcing = null));
    }
  }

  /**
   * Resolves once the local interest as it is now has been announced and acknowledged by the
   * peers known at that moment (or `ackTimeoutMs` has passed).
   */
  async settled(): Promise<void> {
    while (this.announcing) await this.announcing;
    const version = this.version;
    const peers = [...this.peers.keys()].filter((p) => (this.acked.get(p) ?? 0) < version);
    if (peers.length === 0 || this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== resolve);
        this.opts.log.debug({ peers }, 'live interest not acknowledged in time');
        resolve();
      }, this.opts.ackTimeoutMs);
      timer.unref();
      this.waiters.push({ version, peers, resolve, timer });
    });
  }

  /** Handles an interest message from the bus (not one of this instance's own). */
  handle(msg: InterestMessage): void {
    const from = msg.o;
    if (msg.bye) {
      this.forget(from);
      return;
    }
    if (msg.a) {
      const [to, version] = msg.a;
      if (to === this.opts.origin && typeof version === 'number') this.onAck(from, version);
      return;
    }
    if (!Array.isArray(msg.i)) return;
    const patterns = msg.i.filter((p): p is string => typeof p === 'string' && isPattern(p));
    this.peers.set(from, { matchers: patterns.map(compilePattern), seen: Date.now() });
    this.cache.clear();
    if (typeof msg.v === 'number')
      void this.opts.send(JSON.stringify({ o: this.opts.origin, a: [from, msg.v] })).catch(() => undefined);
    // A new instance asks for everyone's interest.
    if (msg.h) this.localChanged();
  }

  private async flush(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      await this.announce(false);
    }
  }

  private async announce(hello: boolean): Promise<void> {
    let patterns = [...new Set(this.opts.localPatterns())].sort();
    const version = ++this.version;
    const message = (i: string[]): string =>
      JSON.stringify({ o: this.opts.origin, i, v: version, ...(hello ? { h: 1 } : {}) });
    let payload = message(patterns);
    if (Buffer.byteLength(payload) > this.opts.maxPayload) {
      patterns = ['*'];
      payload = message(patterns);
    }
    try {
      await this.opts.send(payload);
    } catch (e) {
      this.opts.log.warn({ err: e }, 'announcing live interest failed');
    }
  }

  private onAck(from: string, version: number) {
    if (version > (this.acked.get(from) ?? 0)) this.acked.set(from, version);
    this.release();
  }

  /** Wakes the waiters whose peers have all acknowledged (or gone). */
  private release() {
    this.waiters = this.waiters.filter((w) => {
      const done = w.peers.every((p) => !this.peers.has(p) || (this.acked.get(p) ?? 0) >= w.version);
      if (done) {
        clearTimeout(w.timer);
        w.resolve();
      }
      return !done;
    });
  }

  private forget(origin: string) {
    this.peers.delete(origin);
    this.acked.delete(origin);
    this.cache.clear();
    this.release();
  }

  private expirePeers() {
    const cutoff = Date.now() - 3 * this.opts.refreshMs - 5000;
    for (const [origin, p] of this.peers) if (p.seen < cutoff) this.forget(origin);
  }
}
