/**
 * MQTT for apps: consume topics with at-least-once delivery that is acknowledged only after
 * commit, and publish commands at QoS 1. The broker is embedded (Aedes) or external; apps do
 * not know which.
 */

/** A message as a consumer sees it. `payload` is the raw bytes (kept for dead letters). */
export interface MqttMessage {
  topic: string;
  payload: Buffer;
  /** True when the broker says it may have delivered this message before. */
  duplicate: boolean;
}

/**
 * Handles one message. Resolve once everything the message produced is COMMITTED: only then is
 * it acknowledged to the broker. Reject with {@link DeadLetter} (or any error) to store the
 * message as a dead letter; the stream goes on either way.
 *
 * Instead of returning a promise, a handler may return nothing and call `done` once, with the
 * error if there is one: the same contract without a promise per message, for hot paths.
 */
export type MessageHandler = (message: MqttMessage, done: (err?: Error) => void) => Promise<void> | void;

export interface ConsumeOptions {
  /** Short name of the consumer; the broker session is `<MQTT_CLIENT_ID>-<name>`. */
  name: string;
  /** Topic filters; with `MQTT_SHARED_GROUP` each becomes `$share/<group>/<filter>`. */
  topics: readonly string[];
  handler: MessageHandler;
  /**
   * Backpressure: awaited before each message is taken. While it is pending the consumer reads
   * nothing more from the broker (MQTT flow control does the rest).
   */
  admit?: () => Promise<void> | void;
}

export interface Consumer {
  /** Messages handled but not yet acknowledged. */
  readonly pending: number;
  readonly connected: boolean;
  /** Unsubscribes nothing (the session stays for the next start); waits for in-flight work. */
  stop(): Promise<void>;
}

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
  /** Give up after this many ms without a PUBACK (default 10 s); the message may still arrive. */
  timeoutMs?: number;
}

export interface Mqtt {
  /** Where devices connect, e.g. `mqtt://127.0.0.1:1883` (embedded) or the external URL. */
  readonly url: string;
  readonly embedded: boolean;
  consume(options: ConsumeOptions): Promise<Consumer>;
  /** QoS 1 by default; resolves on PUBACK; queued and retried while disconnected. */
  publish(topic: string, payload: string | Buffer | object, options?: PublishOptions): Promise<void>;
  /**
   * Hook for the auth part: verify a device's API key (username = key id, password = secret) on
   * the embedded broker. Until one is set, anonymous devices are accepted only when
   * `MQTT_ALLOW_ANONYMOUS` is on.
   */
  setDeviceAuthenticator(fn: DeviceAuthenticator): void;
  stop(): Promise<void>;
}

export type DeviceAuthenticator = (username: string, password: string) => Promise<boolean>;

/** Thrown by handlers for payloads that can never be stored: the message is dead-lettered. */
export class DeadLetter extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'DeadLetter';
  }
}
