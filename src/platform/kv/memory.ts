/**
 * The in-memory key-value store, for one process (development, tests, a single instance).
 * Expired keys vanish on access and in a periodic sweep, so memory does not grow with keys
 * nobody reads again.
 */
import { KvTypeError, type KeyValueStore, type SetOptions } from './port.ts';

type Value =
  { kind: 'string'; v: string } | { kind: 'hash'; v: Map<string, string> } | { kind: 'list'; v: string[] };
type Entry = Value & { expiresAt: number | null };

const INTEGER = /^-?\d+$/;

function toInt(key: string, s: string): number {
  const n = Number(s);
  if (!INTEGER.test(s) || !Number.isSafeInteger(n))
    throw new Error(`ERR value of '${key}' is not an integer`);
  return n;
}

/** Redis list indexes (negative from the end) to a JS slice [from, to). */
function range(len: number, start: number, stop: number): [number, number] {
  const from = Math.max(0, start < 0 ? len + start : start);
  const to = Math.min(len - 1, stop < 0 ? len + stop : stop) + 1;
  return [from, Math.max(from, to)];
}

export class MemoryKv implements KeyValueStore {
  readonly kind = 'memory' as const;
  private readonly data = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepIntervalMs = 30_000) {
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs).unref();
  }

  private entry(key: string): Entry | undefined {
    const e = this.data.get(key);
    if (e && e.expiresAt !== null && e.expiresAt <= Date.now()) {
      this.data.delete(key);
      return undefined;
    }
    return e;
  }

  private typed<K extends Value['kind']>(key: string, kind: K): (Entry & { kind: K }) | undefined {
    const e = this.entry(key);
    if (e && e.kind !== kind) throw new KvTypeError(key);
    return e as (Entry & { kind: K }) | undefined;
  }

  private create<K extends Value['kind']>(
    key: string,
    kind: K,
    empty: () => Value & { kind: K },
  ): Entry & { kind: K } {
    const found = this.typed(key, kind);
    if (found) return found;
    const e = { ...empty(), expiresAt: null } as Entry & { kind: K };
    this.data.set(key, e);
    return e;
  }

  private sweep() {
    const now = Date.now();
    for (const [k, e] of this.data) if (e.expiresAt !== null && e.expiresAt <= now) this.data.delete(k);
  }

  async get(key: string) {
    return this.typed(key, 'string')?.v ?? null;
  }

  async set(key: string, value: string, opts: SetOptions = {}) {
    if (opts.ifAbsent && this.entry(key)) return false;
    this.data.set(key, { kind: 'string', v: value, expiresAt: opts.ttlMs ? Date.now() + opts.ttlMs : null });
    return true;
  }

  async del(...keys: string[]) {
    let n = 0;
    for (const k of keys) if (this.entry(k) && this.data.delete(k)) n++;
    return n;
  }

  async exists(key: string) {
    return this.entry(key) !== undefined;
  }

  async expire(key: string, ttlMs: number) {
    const e = this.entry(key);
    if (!e) return false;
    e.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async ttl(key: string) {
    const e = this.entry(key);
    return e?.expiresAt == null ? null : Math.max(0, e.expiresAt - Date.now());
  }

  async incr(key: string, by = 1) {
    const e = this.typed(key, 'string');
    const n = (e ? toInt(key, e.v) : 0) + by;
    if (e) e.v = String(n);
    else this.data.set(key, { kind: 'string', v: String(n), expiresAt: null });
    return n;
  }

  async hset(key: string, fields: Record<string, string>) {
    const h = this.create(key, 'hash', () => ({ kind: 'hash', v: new Map() }));
    for (const [f, v] of Object.entries(fields)) h.v.set(f, v);
  }

  async hget(key: string, field: string) {
    return this.typed(key, 'hash')?.v.get(field) ?? null;
  }

  async hgetall(key: string) {
    return Object.fromEntries(this.typed(key, 'hash')?.v ?? []);
  }

  async hdel(key: string, ...fields: string[]) {
    const h = this.typed(key, 'hash');
    if (!h) return 0;
    let n = 0;
    for (const f of fields) if (h.v.delete(f)) n++;
    if (h.v.size === 0) this.data.delete(key);
    return n;
  }

  async hincr(key: string, field: string, by = 1) {
    const h = this.create(key, 'hash', () => ({ kind: 'hash', v: new Map() }));
    const old = h.v.get(field);
    const n = (old === undefined ? 0 : toInt(key, old)) + by;
    h.v.set(field, String(n));
    return n;
  }

  async rpush(key: string, ...values: string[]) {
    const l = this.create(key, 'list', () => ({ kind: 'list', v: [] }));
    l.v.push(...values);
    return l.v.length;
  }

  async lpush(key: string, ...values: string[]) {
    const l = this.create(key, 'list', () => ({ kind: 'list', v: [] }));
    l.v.unshift(...values.reverse());
    return l.v.length;
  }

  private pop(key: string, end: 'head' | 'tail') {
    const l = this.typed(key, 'list');
    if (!l) return null;
    const v = end === 'head' ? l.v.shift() : l.v.pop();
    if (l.v.length === 0) this.data.delete(key);
    return v ?? null;
  }

  async lpop(key: string) {
    return this.pop(key, 'head');
  }

  async rpop(key: string) {
    return this.pop(key, 'tail');
  }

  async lrange(key: string, start: number, stop: number) {
    const l = this.typed(key, 'list');
    if (!l) return [];
    return l.v.slice(...range(l.v.length, start, stop));
  }

  async ltrim(key: string, start: number, stop: number) {
    const l = this.typed(key, 'list');
    if (!l) return;
    l.v = l.v.slice(...range(l.v.length, start, stop));
    if (l.v.length === 0) this.data.delete(key);
  }

  async llen(key: string) {
    return this.typed(key, 'list')?.v.length ?? 0;
  }

  async publish(channel: string, message: string) {
    const subs = [...(this.channels.get(channel) ?? [])];
    // Asynchronously, like a real broker: a handler never runs inside the publisher's call.
    queueMicrotask(() => {
      for (const h of subs) {
        try {
          h(message);
        } catch {
          // a subscriber's failure is its own; the others still get the message
        }
      }
    });
    return subs.length;
  }

  async subscribe(channel: string, handler: (message: string) => void) {
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0) this.channels.delete(channel);
    };
  }

  async ping() {
    return 0;
  }

  async close() {
    clearInterval(this.sweeper);
    this.data.clear();
    this.channels.clear();
  }
}
