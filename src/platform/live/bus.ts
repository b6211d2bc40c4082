/**
 * Cross-instance fan-out. Each instance sends every event it publishes once to a bus and
 * delivers what other instances sent to its own subscribers. Messages carry the sending
 * instance's id, so an instance skips its own (it delivered those locally already).
 *
 * Message (JSON): `{"o": origin, "e": [item, ...]}` where an item is either an event
 * `{topic,id,ts,data}` or a reference `[topic, id]` to an event kept in `live_events` (for
 * events larger than the bus takes, i.e. PostgreSQL's 8000-byte NOTIFY payload).
 */
import type { Redis } from 'iovalkey';
import type { Database } from '../db/port.ts';

export interface LiveBus {
  readonly kind: 'postgres' | 'valkey';
  /** Largest message the bus carries, in bytes of UTF-8. */
  readonly maxPayload: number;
  /** Starts listening; `receive` gets every message, its own included, in order. */
  start(receive: (payload: string) => void): Promise<void>;
  send(payload: string): Promise<void>;
  stop(): Promise<void>;
}

/** PostgreSQL LISTEN/NOTIFY: works on PGlite (one process) and PostgreSQL (many). */
export class PgNotifyBus implements LiveBus {
  readonly kind = 'postgres' as const;
  /** NOTIFY refuses payloads of 8000 bytes or more; keep a margin. */
  readonly maxPayload = 7900;
  private readonly db: Database;
  private readonly channel: string;
  private unlisten: (() => Promise<void>) | null = null;

  constructor(db: Database, channel = 'conflux_live') {
    this.db = db;
    this.channel = channel;
  }

  async start(receive: (payload: string) => void): Promise<void> {
    this.unlisten = await this.db.listen(this.channel, receive);
  }

  send(payload: string): Promise<void> {
    return this.db.notify(this.channel, payload);
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = null;
  }
}

/**
 * Valkey (or Redis) pub/sub. Subscribing takes a connection of its own, so the bus uses a
 * duplicate of the given client for it.
 */
export class ValkeyBus implements LiveBus {
  readonly kind = 'valkey' as const;
  readonly maxPayload = 512 * 1024;
  private readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly channel: string;

  constructor(client: Redis, channel: string) {
    this.client = client;
    this.channel = channel;
  }

  async start(receive: (payload: string) => void): Promise<void> {
    const sub = this.client.duplicate();
    this.subscriber = sub;
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) receive(message);
    });
    await sub.subscribe(this.channel);
  }

  async send(payload: string): Promise<void> {
    await this.client.publish(this.channel, payload);
  }

  async stop(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }
}
