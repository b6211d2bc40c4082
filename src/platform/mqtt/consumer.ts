import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import type { Logger } from 'pino';
import type { Consumer, ConsumeOptions, MqttMessage } from './port.ts';

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: () => void) => void;

interface InFlight {
  messageId: number;
  settled: boolean;
  /** The PUBACK MQTT.js wanted to send at once; we hold it until the message is committed. */
  ack: Packet | null;
  generation: number;
}

export interface ConsumerDeps {
  url: string;
  clientOptions: IClientOptions;
  clientId: string;
  sharedGroup: string | null;
  log: Logger;
  /** Called for messages whose handler failed; must store them durably before resolving. */
  deadLetter(message: MqttMessage, reason: string): Promise<void>;
  onMessage?: () => void;
}

/**
 * A durable QoS 1 consumer: persistent session (clean: false, fixed client id), and each PUBACK
 * withheld until the message's handler has committed.
 *
 * MQTT.js processes incoming packets one at a time and sends the PUBACK right after
 * `handleMessage` calls back; deferring that callback would serialise the stream (one commit
 * per message). Instead `handleMessage` calls back as soon as the message is admitted (that is
 * where backpressure stalls the socket), and the PUBACK it then sends is intercepted and
 * released, in arrival order as MQTT requires, once the handler's promise settles. PUBACKs of a
 * previous connection are dropped: the broker redelivers those messages, and handlers are
 * idempotent.
 */
export async function startConsumer(deps: ConsumerDeps, opts: ConsumeOptions): Promise<Consumer> {
  const filters = opts.topics.map((t) => (deps.sharedGroup ? `$share/${deps.sharedGroup}/${t}` : t));
  const client: MqttClient = mqtt.connect(deps.url, {
    ...deps.clientOptions,
    clientId: deps.clientId,
    clean: false,
    manualConnect: true,
    // MQTT.js traces every packet through `debug`; even disabled, that costs per message.
    log: () => undefined,
  });
  // Arrival order; `head` advances instead of shift() so that releasing N acks stays O(N).
  let fifo: InFlight[] = [];
  let head = 0;
  const byId = new Map<number, InFlight>();
  const running = new Set<Promise<void>>();
  let generation = 0;

  const sendPacket = (client as unknown as { _sendPacket: SendPacket })._sendPacket.bind(client);
  const flush = () => {
    while (head < fifo.length && fifo[head]!.settled && fifo[head]!.ack !== null) {
      const first = fifo[head++]!;
      if (byId.get(first.messageId) === first) byId.delete(first.messageId);
      if (first.generation === generation && client.connected) sendPacket(first.ack!);
    }
    if (head > 1024 && head * 2 > fifo.length) {
      fifo = fifo.slice(head);
      head = 0;
    }
  };
  (client as unknown as { _sendPacket: SendPacket })._sendPacket = (packet, cb, cbStorePut) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined) {
      const entry = byId.get(packet.messageId);
      if (entry !== undefined && entry.ack === null) {
        entry.ack = packet;
        cb?.();
        flush();
        return;
      }
    }
    sendPacket(packet, cb, cbStorePut);
  };

  client.handleMessage = (packet: IPublishPacket, callback) => {
    const message: MqttMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      duplicate: packet.dup === true,
    };
    let entry: InFlight | null = null;
    if (packet.qos > 0 && packet.messageId !== undefined) {
      entry = { messageId: packet.messageId, settled: false, ack: null, generation };
      fifo.push(entry);
      byId.set(packet.messageId, entry);
    }
    const run = async () => {
      await opts.admit?.();
      deps.onMessage?.();
      const done = opts.handler(message).catch(async (e: unknown) => {
        const reason = e instanceof Error ? e.message : String(e);
        // A failed dead-letter write leaves the message unacknowledged: the broker redelivers it.
        await deps.deadLetter(message, reason);
      });
      const tracked = done.then(
        () => {
          if (entry) entry.settled = true;
          flush();
        },
        (e: unknown) =>
          deps.log.error({ err: e, topic: message.topic }, 'message neither stored nor dead-lettered'),
      );
      running.add(tracked);
      void tracked.finally(() => running.delete(tracked));
    };
    run().then(
      () => callback(),
      (e: unknown) => callback(e as Error),
    );
  };

  client.on('connect', () => {
    generation++;
    // Whatever was in flight on the old connection will be redelivered by the broker.
    // (MQTT.js itself resubscribes after a reconnect that lost the session.)
    fifo = [];
    head = 0;
    byId.clear();
  });
  client.on('error', (err) =>
    deps.log.warn({ err: err.message, clientId: deps.clientId }, 'mqtt consumer error'),
  );

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${deps.url} within 15 s`)), 15_000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  }).catch(async (e: unknown) => {
    await client.endAsync(true);
    throw e;
  });
  // Subscribe even when the session already existed: the filter list may have changed.
  await client.subscribeAsync(filters, { qos: 1 });

  return {
    get pending() {
      return fifo.length - head;
    },
    get connected() {
      return client.connected;
    },
    async stop() {
      await Promise.allSettled([...running]);
      flush();
      await client.endAsync();
    },
  };
}
