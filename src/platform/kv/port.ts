/**
 * The key-value store: small shared state with expiry (rate-limit counters, presence, caches,
 * short queues) and pub/sub. In memory for one process, Valkey (or Redis) when `VALKEY_URL`
 * is set, so that every instance sees the same values. Both implementations follow Valkey's
 * semantics, including its errors: using a key as the wrong kind (e.g. `hget` on a list)
 * throws a {@link KvTypeError}; `incr` on a value that is not a whole number throws too.
 */

export interface SetOptions {
  /** Expire the key after this many milliseconds (whole ms, > 0). */
  ttlMs?: number;
  /** Only set when the key does not exist (`SET NX`); `set` then answers whether it did. */
  ifAbsent?: boolean;
}

export interface KeyValueStore {
  readonly kind: 'memory' | 'valkey';
  /** The string at `key`, or null when absent or expired. */
  get(key: string): Promise<string | null>;
  /** Sets a string (dropping any previous expiry unless `ttlMs` is given); false when `ifAbsent` kept the old. */
  set(key: string, value: string, opts?: SetOptions): Promise<boolean>;
  /** Deletes keys of any kind; answers how many existed. */
  del(...keys: string[]): Promise<number>;
  exists(key: string): Promise<boolean>;
  /** Sets the expiry of an existing key; false when the key does not exist. */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** Milliseconds until `key` expires; null when it has no expiry or does not exist. */
  ttl(key: string): Promise<number | null>;
  /** Adds `by` (default 1) to the integer at `key` (absent = 0) atomically; answers the new value. */
  incr(key: string, by?: number): Promise<number>;

  hset(key: string, fields: Record<string, string>): Promise<void>;
  hget(key: string, field: string): Promise<string | null>;
  /** Every field of the hash; `{}` when absent. */
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  /** Atomic increment of a hash field; answers the new value. */
  hincr(key: string, field: string, by?: number): Promise<number>;

  /** Appends to the tail; answers the new length. */
  rpush(key: string, ...values: string[]): Promise<number>;
  /** Prepends to the head (the last value given ends up first); answers the new length. */
  lpush(key: string, ...values: string[]): Promise<number>;
  lpop(key: string): Promise<string | null>;
  rpop(key: string): Promise<string | null>;
  /** Elements `start..stop` inclusive; negative indexes count from the end (-1 = last). */
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  /** Keeps only `start..stop` (same indexes as `lrange`). */
  ltrim(key: string, start: number, stop: number): Promise<void>;
  llen(key: string): Promise<number>;

  /** Sends `message` to every subscriber of `channel` (on every instance for Valkey); answers how many got it. */
  publish(channel: string, message: string): Promise<number>;
  /** Resolves once subscribed; the returned function unsubscribes. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;

  /** Round trip in milliseconds; throws when the store is unreachable. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

/** Raised when a key holds another kind of value than the operation needs (Valkey's WRONGTYPE). */
export class KvTypeError extends Error {
  constructor(key: string) {
    super(`WRONGTYPE key '${key}' holds another kind of value`);
    this.name = 'KvTypeError';
  }
}
