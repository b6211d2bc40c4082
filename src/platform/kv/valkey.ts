/**
 * The key-value store on Valkey (or Redis) through iovalkey. Every key and channel gets the
 * configured prefix, so deployments (and test runs) can share a server. Pub/sub needs a
 * connection of its own; it is opened on the first `subscribe`.
 */
import { Redis } from 'iovalkey';
import type { Logger } from 'pino';
import { KvTypeError, type KeyValueStore, type SetOptions } from './port.ts';

export interface ValkeyKvOptions {
  url: string;
  prefix: string;
  log: Logger;
  /** Milliseconds to wait for the first connection (default 5000). */
  connectTimeoutMs?: number;
}

/** Maps Valkey's WRONGTYPE reply onto the port's error; other errors pass through. */
async function mapped<T>(key: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('WRONGTYPE')) throw new KvTypeError(key);
    throw e;
  }
}

export class ValkeyKv implements KeyValueStore {
  readonly kind = 'valkey' as const;
  /** The command connection; shared with the live channel's bus. */
  readonly client: Redis;
  readonly prefix: string;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private readonly log: Logger;

  private constructor(client: Redis, prefix: string, log: Logger) {
    this.client = client;
    this.prefix = prefix;
    this.log = log;
  }

  /** Connects and checks that the server answers; throws when it does not. */
  static async open(opts: ValkeyKvOptions): Promise<ValkeyKv> {
    const url = opts.url.replace(/^valkey(s?):/, 'redis$1:');
    const client = new Redis(url, {
      keyPrefix: opts.prefix,
      lazyConnect: true,
      connectTimeout: opts.connectTimeoutMs ?? 5000,
      maxRetriesPerRequest: 3,
    });
    client.on('error', (e: Error) => opts.log.warn({ err: e }, 'valkey connection error'));
    try {
      await client.connect();
      await client.ping();
    } catch (e) {
      client.disconnect();
      throw e;
    }
    return new ValkeyKv(client, opts.prefix, opts.log);
  }

  async get(key: string) {
    return mapped(key, this.client.get(key));
  }

  async set(key: string, value: string, opts: SetOptions = {}) {
    const c = this.client;
    let reply: string | null;
    if (opts.ttlMs && opts.ifAbsent) reply = await c.set(key, value, 'PX', opts.ttlMs, 'NX');
    else if (opts.ttlMs) reply = await c.set(key, value, 'PX', opts.ttlMs);
    else if (opts.ifAbsent) reply = await c.set(key, value, 'NX');
    else reply = await c.set(key, value);
    return reply === 'OK';
  }

  async del(...keys: string[]) {
    return keys.length === 0 ? 0 : this.client.del(...keys);
  }

  async exists(key: string) {
    return (await this.client.exists(key)) === 1;
  }

  async expire(key: string, ttlMs: number) {
    return (await this.client.pexpire(key, ttlMs)) === 1;
  }

  async ttl(key: string) {
    const ms = await this.client.pttl(key);
    return ms < 0 ? null : ms;
  }

  async incr(key: string, by = 1) {
    return mapped(key, this.client.incrby(key, by));
  }

  async hset(key: string, fields: Record<string, string>) {
    if (Object.keys(fields).length > 0) await mapped(key, this.client.hset(key, fields));
  }

  async hget(key: string, field: string) {
    return mapped(key, this.client.hget(key, field));
  }

  async hgetall(key: string) {
    return mapped(key, this.client.hgetall(key));
  }

  async hdel(key: string, ...fields: string[]) {
    return fields.length === 0 ? 0 : mapped(key, this.client.hdel(key, ...fields));
  }

  async hincr(key: string, field: string, by = 1) {
    return mapped(key, this.client.hincrby(key, field, by));
  }

  async rpush(key: string, ...values: string[]) {
    return mapped(key, this.client.rpush(key, ...values));
  }

  async lpush(key: string, ...values: string[]) {
    return mapped(key, this.client.lpush(key, ...values));
  }

  async lpop(key: string) {
    return mapped(key, this.client.lpop(key));
  }

  async rpop(key: string) {
    return mapped(key, this.client.rpop(key));
  }

  async lrange(key: string, start: number, stop: number) {
    return mapped(key, this.client.lrange(key, start, stop));
  }

  async ltrim(key: string, start: number, stop: number) {
    await mapped(key, this.client.ltrim(key, start, stop));
  }

  async llen(key: string) {
    return mapped(key, this.client.llen(key));
  }

  async publish(channel: string, message: string) {
    return this.client.publish(this.prefix + channel, message);
  }

  async subscribe(channel: string, handler: (message: string) => void) {
    const full = this.prefix + channel;
    if (!this.subscriber) {
      const sub = this.client.duplicate({ keyPrefix: '' });
      sub.on('error', (e: Error) => this.log.warn({ err: e }, 'valkey subscriber connection error'));
      sub.on('message', (ch: string, message: string) => {
        for (const h of this.handlers.get(ch) ?? []) {
          try {
            h(message);
          } catch (e) {
            this.log.error({ err: e, channel: ch }, 'key-value subscriber failed');
          }
        }
      });
      this.subscriber = sub;
    }
    let set = this.handlers.get(full);
    if (!set) {
      this.handlers.set(full, (set = new Set()));
      await this.subscriber.subscribe(full);
    }
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(full) === set) {
        this.handlers.delete(full);
        await this.subscriber?.unsubscribe(full);
      }
    };
  }

  async ping() {
    const t0 = performance.now();
    await this.client.ping();
    return performance.now() - t0;
  }

  async close() {
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
