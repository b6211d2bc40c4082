/**
 * The contract between the platform and an app. An app is a folder `src/apps/<name>/` whose
 * `index.ts` exports an {@link AppManifest}; `server.ts` mounts the apps listed in `APPS`.
 * Apps import the platform, never each other; the platform never imports an app.
 */
import type { Command } from 'commander';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from './db/port.ts';
import type { Migration } from './db/migrate.ts';
import type { KeyValueStore } from './kv/port.ts';
import type { LiveChannel } from './live/port.ts';
import type { Metrics } from './metrics.ts';
import type { PlatformMqtt } from './mqtt/mqtt.ts';
import type { Readiness } from './readiness.ts';
import type { JobHandler, JobQueue } from './jobs/port.ts';
import type { AuthService } from './auth/service.ts';
import type { ObjectEvents, ObjectStore } from './objects/port.ts';

/** Fastify with TypeBox route schemas: request types come from the schemas. */
export type Http = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * Who may call a route; every route must declare one in `config.auth` (the server refuses to
 * start otherwise). `public`: anyone; `user`: any signed-in account; `admin`: admins only;
 * `device`: device/service API keys (and admins); `service`: a shared service token
 * (e.g. the storage server's event webhook).
 */
export type RouteAuth = 'public' | 'user' | 'admin' | 'device' | 'service';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyInstance {
    /** Compiles every route schema now (they are otherwise compiled on first use). */
    compileSchemas(): void;
  }
}

/** Something running in the background that must be stopped (and drained) at shutdown. */
export interface Stoppable {
  stop: () => Promise<void>;
}

/** The parts every app gets, created once by the composition root. */
export interface Platform {
  readonly config: Config;
  readonly log: Logger;
  readonly db: Database;
  readonly metrics: Metrics;
  readonly readiness: Readiness;
  readonly jobs: JobQueue;
  /** MQTT (embedded broker or external); present in `serve`, absent in `migrate` and commands. */
  readonly mqtt?: PlatformMqtt;
  /** Accounts, tokens and API keys (e.g. MQTT checks device keys with `auth.verifyApiKey`). */
  readonly auth: AuthService;
  /** The object store (embedded or S3), keys `<username>/<name>`. */
  readonly objects: ObjectStore;
  /** One event per new object version, for apps to subscribe to with a key filter. */
  readonly objectEvents: ObjectEvents;
  /** Events to browsers (`/live`, `/live/sse`) and between instances. */
  readonly live: LiveChannel;
  /** Shared small state and pub/sub: memory, or Valkey when `VALKEY_URL` is set. */
  readonly kv: KeyValueStore;
}

export interface AppManifest {
  /** Short name used in `APPS` and the CLI (`conflux <name> ...`). */
  name: string;
  /** URL prefix the app's routes are mounted under, e.g. `/api`. */
  prefix: string;
  migrations: readonly Migration[];
  /** Registers the app's routes on a scope already mounted at `prefix`. */
  routes?(http: Http, platform: Platform): Promise<void> | void;
  /** Job handlers by job name; run by the server's worker and by `conflux worker`. */
  jobs?(platform: Platform): Record<string, JobHandler>;
  /** Starts background consumers and schedulers when the server starts (`serve`). */
  start?(platform: Platform): Promise<Stoppable | undefined>;
  /** Adds `conflux <name> ...` commands. `open` builds the platform (and closes it after). */
  commands?(program: Command, open: () => Promise<Platform & Stoppable>): void;
  /** `conflux simulate <name>`: registers options and the action on the given command. */
  simulator?(command: Command): void;
}
