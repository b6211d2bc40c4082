import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Database } from '../db/port.ts';
import { Counter, Gauge, type Metrics } from '../metrics.ts';
import type { Readiness } from '../readiness.ts';
import { externalOptions } from './connect-options.ts';
import { startConsumer } from './consumer.ts';
import { DeadLetters } from './dead-letters.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.ts';
import type { Consumer, DeviceAuthenticator, Mqtt } from './port.ts';

export interface PlatformMqtt extends Mqtt {
  readonly deadLetters: DeadLetters;
}

/**
 * Builds the MQTT part: the embedded broker when `MQTT_URL` is unset, one publisher client,
 * and consumers on demand. Registers an `mqtt` readiness check.
 */
export async function openMqtt(deps: {
  config: Config;
  log: Logger;
  db: Database;
  metrics: Metrics;
  readiness: Readiness;
}): Promise<PlatformMqtt> {
  const cfg = deps.config.mqtt;
  let broker: EmbeddedBroker | null = null;
  let url: string;
  let clientOptions: IClientOptions;
  if (cfg.url === null) {
    broker = await startEmbeddedBroker({
      host: deps.config.host,
      port: cfg.port,
      allowAnonymous: cfg.allowAnonymous,
      log: deps.log,
    });
    const host = deps.config.host === '0.0.0.0' || deps.config.host === '::' ? '127.0.0.1' : deps.config.host;
    url = `mqtt://${host}:${broker.port}`;
    clientOptions = { ...broker.internal, keepalive: 30, reconnectPeriod: 500 };
  } else {
    url = cfg.url;
    clientOptions = externalOptions(cfg);
  }
  const deadLetters = new DeadLetters(deps.db, deps.metrics);
  const received = new Counter({
    name: 'mqtt_messages_received_total',
    help: 'MQTT messages taken by consumers',
    labelNames: ['consumer'] as const,
    registers: [deps.metrics.registry],
  });
  const consumers = new Map<string, Consumer>();
  new Gauge({
    name: 'mqtt_messages_unacknowledged',
    help: 'MQTT messages received and not yet committed and acknowledged',
    registers: [deps.metrics.registry],
    collect() {
      this.set([...consumers.values()].reduce((n, c) => n + c.pending, 0));
    },
  });

  const publisher: MqttClient = mqtt.connect(url, {
    ...clientOptions,
    clientId: `${cfg.clientId}-pub-${randomBytes(3).toString('hex')}`,
    clean: true,
  });
  publisher.on('error', (err) => deps.log.warn({ err: err.message }, 'mqtt publisher error'));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cannot reach the MQTT broker at ${url}`)), 15_000);
    publisher.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  }).catch(async (e: unknown) => {
    await publisher.endAsync(true);
    await broker?.close();
    throw e;
  });

  deps.readiness.register('mqtt', async () => {
    if (!publisher.connected) throw new Error('publisher not connected');
    for (const [name, c] of consumers) if (!c.connected) throw new Error(`consumer ${name} not connected`);
  });

  return {
    url: broker ? `mqtt://127.0.0.1:${broker.port}` : url,
    embedded: broker !== null,
    deadLetters,
    async consume(opts) {
      // Labels bound once: resolving them per message showed in ingest profiles.
      const counted = received.labels({ consumer: opts.name });
      const consumer = await startConsumer(
        {
          url,
          clientOptions,
          clientId: `${cfg.clientId}-${opts.name}`,
          sharedGroup: cfg.sharedGroup,
          log: deps.log,
          deadLetter: async (message, reason) => {
            deps.log.warn({ topic: message.topic, reason, bytes: message.payload.length }, 'dead letter');
            await deadLetters.add(opts.name, message, reason);
          },
          onMessage: () => counted.inc(),
        },
        opts,
      );
      consumers.set(opts.name, consumer);
      return {
        get pending() {
          return consumer.pending;
        },
        get connected() {
          return consumer.connected;
        },
        stop: async () => {
          consumers.delete(opts.name);
          await consumer.stop();
        },
      };
    },
    async publish(topic, payload, opts = {}) {
      const body =
        typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
      const timeoutMs = opts.timeoutMs ?? 10_000;
      // MQTT.js keeps QoS 1 messages in its outgoing store and resends them after a reconnect.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        publisher.publishAsync(topic, body, { qos: opts.qos ?? 1, retain: opts.retain ?? false }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no PUBACK for ${topic} within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    },
    setDeviceAuthenticator(fn: DeviceAuthenticator) {
      broker?.setDeviceAuthenticator(fn);
    },
    async stop() {
      for (const c of [...consumers.values()]) await c.stop();
      consumers.clear();
      await publisher.endAsync();
      await broker?.close();
    },
  };
}
