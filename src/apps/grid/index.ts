/**
 * App `grid`: the demand-response gateway (seed 004). VENs report over MQTT; operators create
 * events that are dispatched to online VENs; statistics and history over HTTP under `/api`.
 */
import type { AppManifest, Platform, Stoppable } from '../../platform/app.ts';
import { BatchWriter } from '../../platform/ingest/batch-writer.ts';
import { Dispatcher } from './dispatch.ts';
import { GridIngest } from './ingest.ts';
import { init } from './migrations/001-init.ts';
import { leanTimeSeries } from './migrations/002-lean-time-series.ts';
import { leanIngest } from './migrations/003-lean-ingest.ts';
import { payloadText } from './migrations/004-payload-text.ts';
import { loadsInline } from './migrations/005-loads-inline.ts';
import { currentLoadsHorizon } from './migrations/006-current-loads-horizon.ts';
import { deadLetterRoutes } from './routes/dead-letters.ts';
import { eventRoutes } from './routes/events.ts';
import { statsRoutes } from './routes/stats.ts';
import { venRoutes } from './routes/vens.ts';
import { GridService } from './service.ts';
import { registerSimulator } from './simulator.ts';
import { GridStore } from './store.ts';
import { GRID_TABLES } from './tables.ts';

interface GridParts {
  service: GridService;
  dispatcher: Dispatcher | null;
}

/** One service per platform (routes and background work share it). */
const parts = new WeakMap<Platform, GridParts>();

function partsOf(platform: Platform): GridParts {
  let p = parts.get(platform);
  if (!p) {
    const holder: GridParts = {
      dispatcher: null,
      service: new GridService({
        store: new GridStore(platform.db),
        mqtt: platform.mqtt,
        live: platform.live,
        config: platform.config.grid,
        dispatcher: () => holder.dispatcher,
      }),
    };
    p = holder;
    parts.set(platform, p);
  }
  return p;
}

/** Runs `fn` every `ms` without overlapping runs. */
function every(ms: number, fn: () => Promise<unknown>): Stoppable {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    running ??= fn().finally(() => (running = null));
  }, ms);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

async function start(platform: Platform): Promise<Stoppable | undefined> {
  const { mqtt, log, db, live, config } = platform;
  if (!mqtt) return undefined;
  const p = partsOf(platform);
  const store = p.service.store;
  const writer = new BatchWriter(db, {
    name: 'grid',
    tables: GRID_TABLES,
    maxBatch: 2000,
    maxDelayMs: 5,
    // Two batches in flight and the next one filling. A deeper queue adds no throughput, only
    // latency, and its parsed messages live long enough to be promoted out of V8's young
    // generation: with 20,000 the gateway's main thread and GC spent 2-6 µs more CPU per message
    // flat out. Beyond this bound the backlog waits in the broker as bytes, unacknowledged.
    maxQueue: 5000,
    log,
    metrics: platform.metrics,
  });
  const ingest = new GridIngest({ config: config.grid, writer, store, live, log });
  for (const [id, status] of await store.statuses()) ingest.statuses.set(id, status);
  const consumer = await mqtt.consume({
    name: 'grid',
    topics: ingest.filters,
    handler: ingest.handle,
    admit: () => writer.waitForRoom(),
  });
  const dispatcher = new Dispatcher({ db, mqtt, live, log });
  p.dispatcher = dispatcher;
  const dispatching = every(config.grid.dispatchIntervalMs, () => dispatcher.kick());
  const heartbeat = every(config.grid.heartbeatIntervalMs, async () => {
    const offline = await store.markSilentOffline(config.grid.offlineAfterMs);
    for (const venId of offline) {
      ingest.statuses.set(venId, 'offline');
      await live.publish('grid.vens', { venId, status: 'offline' }).catch(() => undefined);
    }
    if (offline.length > 0) log.info({ vens: offline.length }, 'silent VENs marked offline');
    // Other instances may have changed statuses: refresh this instance's view.
    for (const [id, status] of await store.statuses()) ingest.statuses.set(id, status);
  });
  void dispatcher.kick();
  log.info({ topics: ingest.filters, broker: mqtt.url }, 'grid gateway consuming');
  return {
    async stop() {
      await heartbeat.stop();
      await dispatching.stop();
      p.dispatcher = null;
      // Finish what was taken from the broker so that it is acknowledged, then flush.
      await consumer.stop();
      await writer.close();
    },
  };
}

export const grid: AppManifest = {
  name: 'grid',
  prefix: '/api',
  migrations: [init, leanTimeSeries, leanIngest, payloadText, loadsInline, currentLoadsHorizon],
  routes(http, platform) {
    const { service } = partsOf(platform);
    statsRoutes(http, service);
    venRoutes(http, service);
    eventRoutes(http, service);
    deadLetterRoutes(http, () => platform.mqtt?.deadLetters);
  },
  start,
  simulator: registerSimulator,
};
