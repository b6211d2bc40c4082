/**
 * The composition root: builds every platform part once from the configuration, mounts the
 * selected apps and owns the order of start and shutdown.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { ConfigError } from './config.ts';
import { ALL_APPS } from './apps/index.ts';
import type { AppManifest, Http, Platform, Stoppable } from './platform/app.ts';
import { runMigrations, type MigrationSet } from './platform/db/migrate.ts';
import { openDatabase, type OpenedDatabase } from './platform/db/open.ts';
import type { PgDatabase } from './platform/db/pg-database.ts';
import { StartupError } from './platform/startup-error.ts';
import {
  createAuth,
  installAuth,
  registerAuthRoutes,
  warnAboutAuth,
  type RouteEntry,
} from './platform/auth/index.ts';
import { createHttp } from './platform/http/create-http.ts';
import {
  FsStore,
  createObjects,
  registerObjectRoutes,
  type ObjectEventHub,
} from './platform/objects/index.ts';
import { openKv, valkeyClientOf, type KeyValueStore } from './platform/kv/index.ts';
import { openLive, type Live } from './platform/live/index.ts';
import type { LiveHub } from './platform/live/channel.ts';
import { registerPlatformRoutes } from './platform/http/platform-routes.ts';
import { createMetrics } from './platform/metrics.ts';
import { PLATFORM_MIGRATIONS } from './platform/migrations.ts';
import { Readiness } from './platform/readiness.ts';
import type { JobHandler } from './platform/jobs/port.ts';
import { PgJobQueue } from './platform/jobs/queue.ts';
import { JobWorker } from './platform/jobs/worker.ts';
import { openMqtt, type PlatformMqtt } from './platform/mqtt/mqtt.ts';
import { applyV8Tuning } from './platform/v8-tuning.ts';

export const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Picks the apps named in `APPS` (all when unset); an unknown name is a configuration error. */
export function selectApps(config: Config, available: readonly AppManifest[] = ALL_APPS): AppManifest[] {
  if (config.apps === null) return [...available];
  const unknown = config.apps.filter((n) => !available.some((a) => a.name === n));
  if (unknown.length > 0) {
    const known = available.map((a) => a.name).join(', ') || 'none yet';
    throw new ConfigError([`APPS: unknown app '${unknown.join("', '")}' (known: ${known})`]);
  }
  return available.filter((a) => config.apps?.includes(a.name));
}

export function migrationSets(apps: readonly AppManifest[]): MigrationSet[] {
  return [
    { owner: 'platform', migrations: PLATFORM_MIGRATIONS },
    ...apps.map((a) => ({ owner: a.name, migrations: a.migrations })),
  ];
}

export { StartupError };

export interface Core extends Platform, Stoppable {
  readonly apps: AppManifest[];
  readonly db: PgDatabase;
  /** The event hub behind `objectEvents`: the webhook and the rescan announce through it. */
  readonly objectEvents: ObjectEventHub;
  mqtt?: PlatformMqtt;
  readonly live: LiveHub;
  /** Mounts `/live` and `/live/sse`. */
  readonly liveRoutes: Live['registerRoutes'];
}

/**
 * Opens the database (embedded or PostgreSQL) and runs migrations: what `serve`, `worker`,
 * `migrate` and app commands all need.
 */
export interface CoreOptions {
  /** Run migrations at open (default true). */
  migrate?: boolean;
  /** A database opened by the caller (tests); it is closed with the core. */
  db?: PgDatabase;
  /**
   * The database being opened already (`conflux serve` starts opening it while the rest of the
   * code loads); closed, and its lock released, with the core.
   */
  opening?: Promise<OpenedDatabase>;
}

/** Opens the MQTT part (embedded broker or external client) for a running server. */
async function attachMqtt(core: Core): Promise<PlatformMqtt> {
  try {
    const mqtt = await openMqtt(core);
    // Devices log in to the embedded broker with an API key (username = key id, password = secret).
    mqtt.setDeviceAuthenticator(async (username, password) => {
      const principal = await core.auth.verifyApiKey(username, password);
      return principal !== null && (principal.role === 'device' || principal.role === 'admin');
    });
    core.mqtt = mqtt;
    return mqtt;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new StartupError(
        `port ${core.config.mqtt.port} of the embedded MQTT broker is already in use; ` +
          'set MQTT_PORT to a free port (0 = any) or MQTT_URL to use that broker',
        'MQTT_PORT',
        e,
      );
    throw new StartupError(`cannot start MQTT: ${(e as Error).message}`, 'MQTT_URL', e);
  }
}

export async function openCore(config: Config, log: Logger, opts: CoreOptions = {}): Promise<Core> {
  const apps = selectApps(config);
  const { db, lock } = opts.db
    ? { db: opts.db, lock: null }
    : await (opts.opening ?? openDatabase(config, log));
  const close = async () => {
    await db.close();
    lock?.release();
  };
  try {
    if (opts.migrate !== false) await runMigrations(db, migrationSets(apps), log);
  } catch (e) {
    await close();
    throw e;
  }
  const readiness = new Readiness();
  readiness.register('database', () => db.ping());
  const metrics = createMetrics(db);
  const jobs = new PgJobQueue(db);
  const { auth, jwtSecret } = createAuth(config, db, log);
  const { store: objects, events: objectEvents } = await createObjects(config, db, log, jwtSecret).catch(
    async (e: unknown) => {
      await close();
      throw e;
    },
  );
  readiness.register('objects', () => objects.ready());
  let kv: KeyValueStore;
  try {
    kv = await openKv(config, log);
  } catch (e) {
    await close();
    throw new StartupError(`cannot connect to Valkey: ${(e as Error).message}`, 'VALKEY_URL', e);
  }
  if (kv.kind === 'valkey') readiness.register('valkey', () => kv.ping());
  let live: Live;
  try {
    live = await openLive({ config, db, log, metrics, valkey: valkeyClientOf(kv) });
  } catch (e) {
    await kv.close();
    await close();
    throw new StartupError(`cannot start the live channel: ${(e as Error).message}`, 'LIVE_FANOUT', e);
  }
  const stop = async () => {
    await live.stop().catch((e: unknown) => log.error({ err: e }, 'stopping the live channel failed'));
    await kv.close().catch((e: unknown) => log.error({ err: e }, 'closing the key-value store failed'));
    await close();
  };
  return {
    config,
    log,
    db,
    metrics,
    readiness,
    auth,
    objects,
    objectEvents,
    jobs,
    apps,
    kv,
    live: live.hub,
    liveRoutes: live.registerRoutes,
    stop,
  };
}

/** Every job handler of the mounted apps; a name claimed twice is a programming error. */
export function jobHandlers(core: Core): Map<string, JobHandler> {
  const handlers = new Map<string, JobHandler>();
  for (const app of core.apps) {
    for (const [name, handler] of Object.entries(app.jobs?.(core) ?? {})) {
      if (handlers.has(name)) throw new Error(`job '${name}' is declared twice`);
      handlers.set(name, handler);
    }
  }
  return handlers;
}

/** Starts a job worker over the core's database with `concurrency` slots. */
export async function startWorker(core: Core, concurrency: number): Promise<JobWorker> {
  const worker = new JobWorker({
    db: core.db,
    queue: core.jobs,
    log: core.log,
    handlers: jobHandlers(core),
    concurrency,
    pollMs: core.config.jobs.pollMs,
    drainMs: Math.max(100, core.config.shutdownTimeoutMs - 1000),
  });
  await worker.start();
  return worker;
}

export interface Server extends Stoppable {
  readonly http: Http;
  readonly core: Core;
  /** The address the API listens on, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  /** Every route with its declared auth (collected as routes were added). */
  readonly routes: readonly RouteEntry[];
}

/** Builds and starts everything `conflux serve` runs. */
export async function startServer(config: Config, log: Logger, opts: CoreOptions = {}): Promise<Server> {
  applyV8Tuning();
  const core = await openCore(config, log, opts);
  warnAboutAuth(config, log);
  const background: Stoppable[] = [];
  let http: Http | undefined;
  let routes: RouteEntry[] = [];
  const stop = async () => {
    // Order: stop taking requests (and drain them), stop background work, close clients.
    if (http) await http.close();
    for (const b of background.reverse())
      await b.stop().catch((e: unknown) => log.error({ err: e }, 'stop failed'));
    await core.mqtt?.stop().catch((e: unknown) => log.error({ err: e }, 'mqtt stop failed'));
    await core.stop();
  };
  try {
    await attachMqtt(core);
    http = await createHttp({ log, metrics: core.metrics, version: VERSION });
    routes = installAuth(http, core.auth);
    registerPlatformRoutes(http, { readiness: core.readiness, metrics: core.metrics });
    registerAuthRoutes(http, core.auth);
    await registerObjectRoutes(http, { store: core.objects, events: core.objectEvents }, config);
    core.liveRoutes(http);
    for (const app of core.apps) {
      if (app.routes)
        await http.register(async (scope) => app.routes?.(scope as Http, core), { prefix: app.prefix });
    }
    await http.ready();
    // The apps start side by side (each waits on its broker and database round trips), and the
    // job worker with them; `background` keeps the apps' order for stopping, also after a failure.
    const started = await Promise.allSettled<Stoppable | null | undefined>([
      ...core.apps.map((app) => Promise.resolve(app.start?.(core))),
      config.jobs.workers > 0 ? startWorker(core, config.jobs.workers) : Promise.resolve(null),
    ]);
    for (const r of started) if (r.status === 'fulfilled' && r.value) background.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    try {
      await http.listen({ host: config.host, port: config.port });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new StartupError(
          `port ${config.port} on ${config.host} is already in use; set PORT to a free port`,
          'PORT',
          e,
        );
      }
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        throw new StartupError(`cannot listen on ${config.host}: no such local address`, 'HOST', e);
      }
      if (code === 'EACCES') {
        throw new StartupError(
          `not allowed to listen on port ${config.port}; use a port above 1023`,
          'PORT',
          e,
        );
      }
      throw e;
    }
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  const addr = http.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;
  // The embedded store's URLs point here unless PUBLIC_URL says how clients reach us.
  if (core.objects instanceof FsStore && config.objects.publicUrl === null) core.objects.baseUrl = url;
  background.push(core.objectEvents.startRescans(config.objects.rescanIntervalSeconds));
  return { http, core, url, routes, stop };
}
