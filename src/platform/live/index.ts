/**
 * Builds the live channel from the configuration: the hub, its store and its bus, plus the
 * `/live` and `/live/sse` routes and their metrics.
 */
import type { Redis } from 'iovalkey';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Http } from '../app.ts';
import type { Database } from '../db/port.ts';
import { Counter, Gauge, type Metrics } from '../metrics.ts';
import { PgNotifyBus, ValkeyBus, type LiveBus } from './bus.ts';
import { LiveHub } from './channel.ts';
import { registerLiveSse } from './sse-route.ts';
import { LiveStore } from './store.ts';
import { registerLiveWebSocket, type LiveRouteDeps } from './ws-route.ts';

export { LiveHub } from './channel.ts';
export type { LiveChannel, LiveEvent, PublishOptions } from './port.ts';

export interface Live {
  hub: LiveHub;
  registerRoutes: (http: Http) => void;
  stop: () => Promise<void>;
}

export interface LiveDeps {
  config: Config;
  db: Database;
  log: Logger;
  metrics: Metrics;
  /** The Valkey client of the key-value store, when there is one. */
  valkey?: Redis | null;
}

export function chooseBus(deps: LiveDeps): LiveBus | undefined {
  const { fanout } = deps.config.live;
  if (fanout === 'none') return undefined;
  if (deps.valkey && (fanout === 'valkey' || fanout === 'auto'))
    return new ValkeyBus(deps.valkey, `${deps.config.valkey.prefix}live`);
  return new PgNotifyBus(deps.db);
}

export async function openLive(deps: LiveDeps): Promise<Live> {
  const { config, metrics } = deps;
  const delivered = new Counter({
    name: 'live_deliveries_total',
    help: 'live events handed to local subscribers (one per subscriber)',
    registers: [metrics.registry],
  });
  const dropped = new Counter({
    name: 'live_slow_clients_dropped_total',
    help: 'live clients disconnected because they did not read fast enough',
    registers: [metrics.registry],
  });
  const connections = new Gauge({
    name: 'live_connections',
    help: 'open live connections by transport',
    labelNames: ['transport'] as const,
    registers: [metrics.registry],
  });
  const hub = new LiveHub({
    log: deps.log.child({ part: 'live' }),
    store: new LiveStore(deps.db),
    bus: chooseBus(deps),
    durableTopics: config.live.durableTopics,
    retention: { perTopic: config.live.retainEvents, maxAgeMinutes: config.live.retainMinutes },
    onDeliver: (n) => delivered.inc(n),
  });
  await hub.start();
  const routeDeps: LiveRouteDeps = {
    hub,
    session: { maxBufferedBytes: config.live.clientBufferBytes, onSlowClient: () => dropped.inc() },
    onConnection: (transport, delta) => connections.inc({ transport }, delta),
  };
  return {
    hub,
    registerRoutes(http) {
      registerLiveWebSocket(http, routeDeps);
      registerLiveSse(http, routeDeps);
    },
    stop: () => hub.stop(),
  };
}
