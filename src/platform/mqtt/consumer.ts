import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import type { Logger } from 'pino';
import { asError } from '../errors.ts';
import type { Consumer, ConsumeOptions, MqttMessage } from './port.ts';

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: () => void) => void;

interface InFlight {
  messageId: number;
  settled: boolean;
  /**
   * Whether MQTT.js has asked to send this message's PUBACK, which is held until the message is
   * committed and then sent as its four bytes (no reason code: the consumer sets none).
   */
  acked: boolean;
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
 * released, in arrival order as MQTT requires, once the handler is done (its promise settles, or
 * it calls `done`); the PUBACKs of a committed batch leave in one write. PUBACKs of a previous
 * connection are dropped: the broker redelivers those messages, and handlers are idempotent.
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
  /** The entry whose MQTT.js callback is running: the PUBACK it sends belongs to that one. */
  let current: InFlight | null = null;
  /** Messages taken and not yet stored or dead-lettered; `stop()` waits for them. */
  let working = 0;
  let idle: (() => void) | null = null;
  let generation = 0;

  const sendPacket = (client as unknown as { _sendPacket: SendPacket })._sendPacket.bind(client);
  const flush = () => {
    const due: number[] = [];
    while (head < fifo.length && fifo[head]!.settled && fifo[head]!.acked) {
      const first = fifo[head++]!;
      if (first.generation === generation && client.connected) due.push(first.messageId);
    }
    if (head > 1024 && head * 2 > fifo.length) {
      fifo = fifo.slice(head);
      head = 0;
    }
    if (due.length === 0) return;
    // PUBACK: fixed header 0x40, remaining length 2, the packet id. Valid in MQTT 3.1.1 and 5
    // (where a missing reason code means success). One buffer for all that are due, instead of a
    // packet object, its encoding and a stream write per message.
    const buf = Buffer.allocUnsafe(4 * due.length);
    for (let i = 0; i < due.length; i++) {
      const id = due[i]!;
      buf[4 * i] = 0x40;
      buf[4 * i + 1] = 2;
      buf[4 * i + 2] = id >> 8;
      buf[4 * i + 3] = id & 0xff;
    }
    client.stream.write(buf);
  };
  /**
   * A commit settles a whole batch, one message after the other: flushing once, after the last,
   * sends their PUBACKs in one write instead of one write per message.
   */
  let flushQueued = false;
  const flushSoon = () => {
    if (flushQueued) return;
    flushQueued = true;
    queueMicrotask(() => {
      flushQueued = false;
      flush();
    });
  };
  (client as unknown as { _sendPacket: SendPacket })._sendPacket = (packet, cb, cbStorePut) => {
    if (packet.cmd === 'puback') {
      // MQTT.js sends a message's PUBACK from inside the callback `handleMessage` was given, so
      // it belongs to the entry whose callback is running, not to whichever entry now has its
      // packet id: after a reconnect the broker may have given that id to a redelivery. A PUBACK
      // with no running entry (none of this consumer's) is not sent: holding acks is the point.
      if (current !== null && current.messageId === packet.messageId) {
        current.acked = true;
        flushSoon();
      }
      cb?.();
      return;
    }
    sendPacket(packet, cb, cbStorePut);
  };

  const finished = () => {
    if (--working === 0 && idle) idle();
  };

  /**
   * Runs the handler on an admitted message and settles its entry when the handler is done. Its
   * own function, so that what waits for the commit holds the message and its entry only, not
   * MQTT.js's per-packet callbacks and the packet they close over.
   */
  const take = (message: MqttMessage, entry: InFlight | null) => {
    working++;
    deps.onMessage?.();
    const settle = () => {
      if (entry) entry.settled = true;
      flushSoon();
      finished();
    };
    let told = false;
    const done = (e?: Error) => {
      if (told) return;
      told = true;
      if (e === undefined) return settle();
      // A failed dead-letter write leaves the message unacknowledged: the broker redelivers it.
      deps.deadLetter(message, e.message).then(settle, (err: unknown) => {
        deps.log.error({ err, topic: message.topic }, 'message neither stored nor dead-lettered');
        finished();
      });
    };
    let result: Promise<void> | void;
    try {
      result = opts.handler(message, done);
    } catch (e) {
      return done(asError(e));
    }
    if (result)
      result.then(
        () => done(),
        (e: unknown) => done(asError(e)),
      );
  };

  client.handleMessage = (packet: IPublishPacket, callback) => {
    const message: MqttMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      duplicate: packet.dup === true,
    };
    let entry: InFlight | null = null;
    if (packet.qos > 0 && packet.messageId !== undefined) {
      entry = { messageId: packet.messageId, settled: false, acked: false, generation };
      fifo.push(entry);
    }
    // Calling back lets MQTT.js read the next packet, and send this one's PUBACK (held above).
    const proceed = () => {
      take(message, entry);
      current = entry;
      try {
        callback();
      } finally {
        current = null;
      }
    };
    // Backpressure: while admission is pending, nothing more is read from the socket.
    const admitted = opts.admit?.();
    if (admitted) admitted.then(proceed, (e: unknown) => callback(e as Error));
    else proceed();
  };

  client.on('connect', () => {
    generation++;
    // Whatever was in flight on the old connection will be redelivered by the broker.
    // (MQTT.js itself resubscribes after a reconnect that lost the session.)
    fifo = [];
    head = 0;
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
      if (working > 0) await new Promise<void>((resolve) => (idle = resolve));
      flush();
      await client.endAsync();
    },
  };
}
