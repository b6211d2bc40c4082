import type { Database } from '../db/port.ts';
import type { Migration } from '../db/migrate.ts';
import { Counter, type Metrics } from '../metrics.ts';
import type { MqttMessage } from './port.ts';

export const DEAD_LETTER_MIGRATIONS: readonly Migration[] = [
  {
    id: 'mqtt_001_dead_letters',
    up: `
      CREATE TABLE mqtt_dead_letters (
        id bigserial PRIMARY KEY,
        consumer text NOT NULL,
        topic text NOT NULL,
        reason text NOT NULL,
        payload bytea NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX mqtt_dead_letters_received_idx ON mqtt_dead_letters (received_at DESC);
    `,
  },
];

export interface DeadLetterRow {
  id: number;
  consumer: string;
  topic: string;
  reason: string;
  payload: Buffer;
  receivedAt: Date;
}

/** Messages no handler could store: kept with topic, reason and the raw bytes, and counted. */
export class DeadLetters {
  private readonly db: Database;
  private readonly counter: Counter<'consumer'>;

  constructor(db: Database, metrics: Metrics) {
    this.db = db;
    this.counter = new Counter({
      name: 'mqtt_dead_letters_total',
      help: 'MQTT messages that could not be stored and were dead-lettered',
      labelNames: ['consumer'] as const,
      registers: [metrics.registry],
    });
  }

  async add(consumer: string, message: MqttMessage, reason: string): Promise<void> {
    await this.db.query(
      'INSERT INTO mqtt_dead_letters (consumer, topic, reason, payload) VALUES ($1, $2, $3, $4)',
      [consumer, message.topic, reason.slice(0, 1000), message.payload],
    );
    this.counter.inc({ consumer });
  }

  async list(opts: { limit: number; topic?: string; before?: number }): Promise<DeadLetterRow[]> {
    const r = await this.db.query<{
      id: number;
      consumer: string;
      topic: string;
      reason: string;
      payload: Buffer;
      received_at: Date;
    }>(
      `SELECT id, consumer, topic, reason, payload, received_at FROM mqtt_dead_letters
        WHERE ($1::text IS NULL OR topic = $1) AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3`,
      [opts.topic ?? null, opts.before ?? null, opts.limit],
    );
    return r.rows.map((x) => ({
      id: x.id,
      consumer: x.consumer,
      topic: x.topic,
      reason: x.reason,
      payload: x.payload,
      receivedAt: x.received_at,
    }));
  }

  async count(): Promise<number> {
    const r = await this.db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM mqtt_dead_letters');
    return r.rows[0]?.n ?? 0;
  }
}
