/**
 * The one configuration of a Conflux process: read from the environment (and `.env`) once at
 * start, validated eagerly, and passed down from the composition root. No other module reads
 * `process.env`.
 *
 * Every variable is declared in {@link VARIABLES} with its default and a one-line description;
 * `.env.example` documents the same list (a test keeps the two in step) and `conflux config`
 * prints the effective values with secrets masked.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { isPattern } from './platform/live/topics.ts';

export type NodeEnv = 'development' | 'production' | 'test';

export interface Config {
  nodeEnv: NodeEnv;
  /** Interface to listen on. */
  host: string;
  /** TCP port of the HTTP API; 0 picks a free port (tests). */
  port: number;
  /** Absolute directory holding everything the embedded parts keep. */
  dataDir: string;
  logLevel: string;
  /** Apps to mount; `null` means every app that exists. */
  apps: string[] | null;
  database: {
    /** PostgreSQL URL; `null` selects embedded PGlite under `<dataDir>/pg`. */
    url: string | null;
    poolMax: number;
    /** Milliseconds a statement may run before PostgreSQL cancels it (0 = no limit). */
    statementTimeoutMs: number;
    /**
     * A new embedded data directory starts as a copy of the pristine cluster `npm install`
     * prepared (when there is one) instead of running initdb (about 3.5 s).
     */
    embeddedTemplate: boolean;
  };
  /** How long a graceful shutdown may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  mqtt: MqttConfig;
  grid: GridConfig;
  live: {
    /** Unsent bytes a live client may leave unread before it is disconnected. */
    clientBufferBytes: number;
    /** Topic patterns whose events are kept for clients that reconnect. */
    durableTopics: string[];
    /** Durable events kept per topic. */
    retainEvents: number;
    /** Durable events older than this many minutes are dropped. */
    retainMinutes: number;
    /** How instances exchange events; `auto` = Valkey when configured, else PostgreSQL NOTIFY. */
    fanout: 'auto' | 'postgres' | 'valkey' | 'none';
  };
  valkey: {
    /** `redis://` or `rediss://` URL; `null` selects the in-memory key-value store. */
    url: string | null;
    /** Prefix of every key and pub/sub channel, so several deployments can share one server. */
    prefix: string;
  };
  jobs: {
    /** Jobs the server runs at once in its own worker (0 = no worker in `serve`). */
    workers: number;
    /** Poll interval of workers, the fallback for missed notifications and expired leases. */
    pollMs: number;
  };
  bench: {
    /**
     * Electricity price series for job costs: a storage key (`prices/day-ahead.json`) or an
     * http(s) URL; CSV `epoch_ms,eur_per_mwh` or SMARD chart JSON. `null` = costs are null.
     */
    priceSource: string | null;
    /** How long processing one file may take (also its lease: a dead worker's file is resumed after it). */
    jobTimeoutMs: number;
  };
  archery: {
    /** Seed's dev mode: archery routes open to anyone (refused with NODE_ENV=production). */
    devMode: boolean;
    /** PostgreSQL NOTIFY channel the shot trigger signals on (seed default `archy`). */
    wsChannel: string;
  };
  auth: AuthConfig;
  objects: ObjectsConfig;
}

export interface AuthConfig {
  /** `token`: routes need what they declare; `open` (local demos only): anonymous callers act as an admin. */
  mode: 'token' | 'open';
  /** HS256 key for access tokens; `null` = generate one per process (development and test only). */
  jwtSecret: string | null;
  /** Lifetime of an access token (default 600 s). */
  accessTtlSeconds: number;
  /** Lifetime of a refresh token (default 30 days). */
  refreshTtlSeconds: number;
  /** Failed logins allowed per username, and per client address, within `windowSeconds`. */
  loginMaxFailuresPerUser: number;
  loginMaxFailuresPerAddress: number;
  loginWindowSeconds: number;
  /** Shared token of `service` routes (the storage server's event webhook); `null` = admins only. */
  serviceToken: string | null;
}

export interface ObjectsConfig {
  /** `fs`: files under `<dataDir>/objects`; `s3`: any S3 API (chosen when an S3 endpoint or bucket is set). */
  kind: 'fs' | 's3';
  bucket: string;
  /** Base URL clients reach this server at, for the embedded store's signed URLs; `null` = the listen address. */
  publicUrl: string | null;
  /** Largest object the embedded store accepts, in bytes. */
  maxSize: number;
  /** HMAC key of the embedded store's URLs; `null` = derived from the JWT secret. */
  signingSecret: string | null;
  /** Lifetime of presigned URLs handed out by the storage routes. */
  presignExpiresSeconds: number;
  /** Seconds between rescans of the bucket for objects no event announced (0 = never). */
  rescanIntervalSeconds: number;
  s3: {
    endpoint: string | null;
    /** Endpoint written into presigned URLs when clients reach the S3 server by another name. */
    publicEndpoint: string | null;
    region: string;
    accessKey: string | null;
    secretKey: string | null;
    forcePathStyle: boolean;
  };
}

export interface MqttConfig {
  /** External broker (`mqtt://`, `mqtts://`, `ws://`, `wss://`); `null` runs the embedded Aedes broker. */
  url: string | null;
  /** Port of the embedded broker (0 = any free port). */
  port: number;
  username: string | null;
  password: string | null;
  /** Fixed client id of this instance's consumer: the broker keeps its persistent session by it. */
  clientId: string;
  keepaliveSeconds: number;
  /** A file path or the PEM text itself. */
  caCert: string | null;
  clientCert: string | null;
  clientKey: string | null;
  /** Subscriptions become `$share/<group>/<topic>` so instances split the stream. */
  sharedGroup: string | null;
  /** Allow anonymous devices on the embedded broker (refused in production). */
  allowAnonymous: boolean;
}

export interface GridConfig {
  topicMetering: string;
  topicStatus: string;
  topicEvents: string;
  topicResponses: string;
  /** `null` when load snapshots are off. */
  topicLoads: string | null;
  extraTopics: string[];
  heartbeatIntervalMs: number;
  offlineAfterMs: number;
  dispatchIntervalMs: number;
  /** IANA time zone of "today" in the network statistics. */
  timeZone: string;
}

/** A variable Conflux reads, for validation messages, `.env.example` and `conflux config`. */
export interface VariableSpec {
  name: string;
  default: string;
  secret?: boolean;
  description: string;
}

export const VARIABLES: readonly VariableSpec[] = [
  { name: 'NODE_ENV', default: 'development', description: 'development | production | test' },
  { name: 'HOST', default: '0.0.0.0', description: 'interface the HTTP API listens on' },
  { name: 'PORT', default: '8000', description: 'HTTP port (0 = any free port)' },
  { name: 'DATA_DIR', default: './data', description: 'where embedded parts keep their data' },
  { name: 'LOG_LEVEL', default: 'info', description: 'fatal | error | warn | info | debug | trace | silent' },
  { name: 'APPS', default: '', description: 'comma list of apps to mount; empty = all' },
  {
    name: 'DATABASE_URL',
    default: '',
    secret: true,
    description: 'postgres://user:pass@host:5432/db; empty = embedded PGlite in DATA_DIR/pg',
  },
  { name: 'DATABASE_POOL_MAX', default: '10', description: 'connections in the PostgreSQL pool' },
  {
    name: 'EMBEDDED_DB_TEMPLATE',
    default: 'true',
    description:
      'a new embedded data directory starts from the pristine cluster npm install prepared (false = run initdb)',
  },
  {
    name: 'DATABASE_STATEMENT_TIMEOUT_MS',
    default: '30000',
    description: 'statement timeout for PostgreSQL (0 = none)',
  },
  { name: 'SHUTDOWN_TIMEOUT_MS', default: '10000', description: 'grace period for a shutdown' },
  { name: 'WORKERS', default: '2', description: 'jobs run at once by the server itself (0 = none)' },
  { name: 'JOBS_POLL_MS', default: '2000', description: 'job worker poll interval in ms' },
  {
    name: 'BENCH_PRICE_SOURCE',
    default: '',
    description: 'price series for bench costs: storage key or http(s) URL (CSV or SMARD JSON)',
  },
  {
    name: 'BENCH_JOB_TIMEOUT_MS',
    default: '600000',
    description: 'time limit (and lease) for processing one profile',
  },
  {
    name: 'MQTT_URL',
    default: '',
    secret: true,
    description: 'external broker mqtt(s)://host:port; empty = embedded broker on MQTT_PORT',
  },
  { name: 'MQTT_PORT', default: '1883', description: 'port of the embedded broker (0 = any free port)' },
  { name: 'MQTT_USERNAME', default: '', description: 'username for the external broker' },
  { name: 'MQTT_PASSWORD', default: '', secret: true, description: 'password for the external broker' },
  {
    name: 'MQTT_CLIENT_ID',
    default: '',
    description: 'fixed client id of the consumer (persistent session); empty = conflux-<hostname>',
  },
  { name: 'MQTT_KEEPALIVE', default: '60', description: 'keepalive interval in seconds' },
  { name: 'MQTT_CA_CERT', default: '', description: 'CA certificate: file path or PEM text' },
  { name: 'MQTT_CLIENT_CERT', default: '', description: 'client certificate: file path or PEM text' },
  { name: 'MQTT_CLIENT_KEY', default: '', secret: true, description: 'client key: file path or PEM text' },
  {
    name: 'MQTT_SHARED_GROUP',
    default: '',
    description: 'shared-subscription group ($share/<group>/...) so instances split the stream',
  },
  {
    name: 'MQTT_ALLOW_ANONYMOUS',
    default: 'true',
    description: 'embedded broker accepts devices without an API key (refused in production)',
  },
  { name: 'MQTT_TOPIC_METERING', default: 'volttron/metering', description: 'grid: metering topic' },
  { name: 'MQTT_TOPIC_STATUS', default: 'volttron/dev', description: 'grid: VEN status topic' },
  { name: 'MQTT_TOPIC_EVENTS', default: 'openadr/event', description: 'grid: VEN agent events topic' },
  { name: 'MQTT_TOPIC_RESPONSES', default: 'openadr/response', description: 'grid: VEN responses (acks)' },
  { name: 'BACKEND_LOADS_TOPIC', default: '', description: 'grid: load snapshots topic; empty = off' },
  { name: 'MQTT_TOPICS', default: '', description: 'grid: comma list of extra topics to subscribe to' },
  {
    name: 'GRID_HEARTBEAT_INTERVAL_MS',
    default: '30000',
    description: 'grid: how often silent VENs are looked for',
  },
  {
    name: 'GRID_OFFLINE_AFTER_MS',
    default: '60000',
    description: 'grid: silence after which a VEN is offline',
  },
  {
    name: 'GRID_DISPATCH_INTERVAL_MS',
    default: '1000',
    description: 'grid: how often event windows are checked',
  },
  { name: 'GRID_TIMEZONE', default: 'UTC', description: 'grid: time zone of "today" in statistics' },
  {
    name: 'JWT_SECRET',
    default: '',
    secret: true,
    description: 'HS256 key for access tokens (32+ chars); empty = random per process (not in production)',
  },
  { name: 'AUTH_MODE', default: 'token', description: 'token | open (open: no login, local demos only)' },
  { name: 'ACCESS_TOKEN_TTL_SECONDS', default: '600', description: 'lifetime of access tokens' },
  { name: 'REFRESH_TOKEN_TTL_DAYS', default: '30', description: 'lifetime of refresh tokens' },
  {
    name: 'LOGIN_MAX_FAILURES_PER_USER',
    default: '10',
    description: 'failed logins per username within LOGIN_WINDOW_SECONDS before 429',
  },
  {
    name: 'LOGIN_MAX_FAILURES_PER_ADDRESS',
    default: '50',
    description: 'failed logins per client address within LOGIN_WINDOW_SECONDS before 429',
  },
  { name: 'LOGIN_WINDOW_SECONDS', default: '900', description: 'window of the login rate limits' },
  {
    name: 'MINIO_EVENT_TOKEN',
    default: '',
    secret: true,
    description: 'shared bearer token of POST /minio-event; empty = admins only',
  },
  {
    name: 'PUBLIC_URL',
    default: '',
    description: 'base URL clients reach this server at (embedded store URLs); empty = listen address',
  },
  {
    name: 'OBJECTS_MAX_SIZE',
    default: '5368709120',
    description: 'largest upload to the embedded store (bytes)',
  },
  {
    name: 'OBJECTS_SIGNING_SECRET',
    default: '',
    secret: true,
    description: 'HMAC key of embedded store URLs; empty = derived from JWT_SECRET',
  },
  { name: 'PRESIGN_EXPIRES_SECONDS', default: '3600', description: 'lifetime of presigned URLs' },
  {
    name: 'OBJECT_RESCAN_INTERVAL_SECONDS',
    default: '300',
    description: 'seconds between rescans for objects no event announced (0 = off)',
  },
  { name: 'S3_ENDPOINT', default: '', description: 'S3 API URL (MinIO, AWS, Ceph); empty = embedded store' },
  { name: 'S3_BUCKET', default: '', description: 'bucket name (default conflux)' },
  { name: 'S3_ACCESS_KEY', default: '', secret: true, description: 'S3 access key id' },
  { name: 'S3_SECRET_KEY', default: '', secret: true, description: 'S3 secret access key' },
  { name: 'S3_REGION', default: 'us-east-1', description: 'S3 region' },
  {
    name: 'S3_FORCE_PATH_STYLE',
    default: 'true',
    description: 'path-style bucket URLs (MinIO): true | false',
  },
  {
    name: 'S3_PUBLIC_ENDPOINT',
    default: '',
    description: 'S3 URL written into presigned URLs when clients use another name; empty = S3_ENDPOINT',
  },
  { name: 'MINIO_ENDPOINT', default: '', description: 'seed alias: host:port of MinIO (see MINIO_SECURE)' },
  {
    name: 'MINIO_SECURE',
    default: 'false',
    description: 'seed alias: https for MINIO_ENDPOINT: true | false',
  },
  { name: 'MINIO_PUBLIC_ENDPOINT', default: '', description: 'seed alias of S3_PUBLIC_ENDPOINT' },
  { name: 'MINIO_BUCKET', default: '', description: 'seed alias of S3_BUCKET' },
  { name: 'MINIO_ACCESS_KEY', default: '', secret: true, description: 'seed alias of S3_ACCESS_KEY' },
  { name: 'MINIO_SECRET_KEY', default: '', secret: true, description: 'seed alias of S3_SECRET_KEY' },
  {
    name: 'BUCKET_TOKEN_SECRET',
    default: '',
    secret: true,
    description: 'seed alias of OBJECTS_SIGNING_SECRET',
  },
  {
    name: 'LIVE_CLIENT_BUFFER_BYTES',
    default: '1048576',
    description: 'unsent bytes per live client before it is disconnected as too slow',
  },
  {
    name: 'LIVE_DURABLE_TOPICS',
    default: '',
    description: 'comma list of topic patterns kept for resume (apps add their own)',
  },
  { name: 'LIVE_RETAIN_EVENTS', default: '1000', description: 'durable live events kept per topic' },
  { name: 'LIVE_RETAIN_MINUTES', default: '60', description: 'durable live events kept this many minutes' },
  {
    name: 'LIVE_FANOUT',
    default: 'auto',
    description: 'auto | postgres | valkey | none: how instances share live events',
  },
  {
    name: 'VALKEY_URL',
    default: '',
    secret: true,
    description: 'redis://host:6379 for Valkey/Redis; empty = in-memory key-value store',
  },
  { name: 'VALKEY_PREFIX', default: 'conflux:', description: 'prefix of Valkey keys and channels' },
  {
    name: 'ARCH_STATS_DEV_MODE',
    default: '',
    description: 'archery routes open without tokens; empty = true unless NODE_ENV=production',
  },
  {
    name: 'ARCH_STATS_SERVER_PORT',
    default: '',
    description: "the seed's name for the HTTP port, used when PORT is not set",
  },
  { name: 'ARCH_STATS_WS_CHANNEL', default: 'archy', description: 'NOTIFY channel of new archery shots' },
];

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads `.env` (if present in `cwd`) underneath the real environment: a variable set in the
 * environment wins over the file.
 */
export function environmentWithDotenv(env: Env = process.env, cwd = process.cwd()): Env {
  const file = path.join(cwd, '.env');
  if (!existsSync(file)) return env;
  return { ...parseDotenv(readFileSync(file)), ...env };
}

/** Small typed readers that collect every problem instead of stopping at the first. */
class Reader {
  readonly problems: string[] = [];
  private readonly env: Env;
  constructor(env: Env) {
    this.env = env;
  }

  raw(name: string): string {
    const spec = VARIABLES.find((v) => v.name === name);
    const value = this.env[name];
    return value === undefined || value === '' ? (spec?.default ?? '') : value.trim();
  }

  str(name: string): string {
    return this.raw(name);
  }

  int(name: string, min: number, max: number): number {
    const raw = this.raw(name);
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || n < min || n > max) {
      this.problems.push(`${name}: must be a whole number from ${min} to ${max} (got '${raw}')`);
      return min;
    }
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const raw = this.raw(name);
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name}: must be one of ${allowed.join(', ')} (got '${raw}')`);
      return allowed[0] as T;
    }
    return raw as T;
  }

  /** `fallback` when unset and without a default (e.g. a default that depends on NODE_ENV). */
  bool(name: string, fallback = false): boolean {
    const raw = this.raw(name).toLowerCase();
    if (raw === '') return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${name}: must be true or false (got '${raw}')`);
    return fallback;
  }

  optional(name: string): string | null {
    const raw = this.raw(name);
    return raw === '' ? null : raw;
  }

  topic(name: string): string {
    const raw = this.raw(name);
    const levels = raw.split('/');
    const bad = levels.some(
      (l, i) => (l.includes('#') && (l !== '#' || i !== levels.length - 1)) || (l.includes('+') && l !== '+'),
    );
    if (raw === '' || bad || raw.includes('\0'))
      this.problems.push(`${name}: is not a valid MQTT topic (got '${raw}')`);
    return raw;
  }

  timeZone(name: string): string {
    const raw = this.raw(name);
    try {
      new Intl.DateTimeFormat('en', { timeZone: raw });
    } catch {
      this.problems.push(`${name}: unknown time zone '${raw}'`);
      return 'UTC';
    }
    return raw;
  }

  list(name: string): string[] {
    return this.raw(name)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  /** The first of `names` that is set (an S3_* name or its seed alias), or null. */
  first(...names: string[]): string | null {
    for (const n of names) {
      const v = this.raw(n);
      if (v !== '') return v;
    }
    return null;
  }

  url(name: string, protocols: string[]): string | null {
    const raw = this.raw(name);
    if (raw === '') return null;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) {
        this.problems.push(`${name}: scheme must be ${protocols.join(' or ')} (got '${u.protocol}')`);
      } else if (u.hostname === '' && !u.searchParams.has('host')) {
        this.problems.push(`${name}: has no host`);
      }
    } catch {
      this.problems.push(`${name}: is not a valid URL`);
    }
    return raw;
  }
}

/** Builds and validates the configuration; throws {@link ConfigError} naming every bad variable. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const r = new Reader(env);
  const apps = r.list('APPS');
  const nodeEnv = r.oneOf('NODE_ENV', ['development', 'production', 'test'] as const);
  const seedPort = (env.PORT ?? '') === '' && (env.ARCH_STATS_SERVER_PORT ?? '') !== '';
  const wsChannel = r.str('ARCH_STATS_WS_CHANNEL');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(wsChannel)) {
    r.problems.push(`ARCH_STATS_WS_CHANNEL: must be a lower-case identifier (got '${wsChannel}')`);
  }
  const devMode = r.bool('ARCH_STATS_DEV_MODE', nodeEnv !== 'production');
  if (devMode && nodeEnv === 'production') {
    r.problems.push(
      'ARCH_STATS_DEV_MODE: dev mode (open archery routes) is refused with NODE_ENV=production',
    );
  }
  const config: Config = {
    nodeEnv,
    host: r.str('HOST'),
    port: seedPort ? r.int('ARCH_STATS_SERVER_PORT', 0, 65535) : r.int('PORT', 0, 65535),
    dataDir: path.resolve(cwd, r.str('DATA_DIR')),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS),
    apps: apps.length > 0 ? apps : null,
    database: {
      url: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
      poolMax: r.int('DATABASE_POOL_MAX', 1, 1000),
      statementTimeoutMs: r.int('DATABASE_STATEMENT_TIMEOUT_MS', 0, 86_400_000),
      embeddedTemplate: r.bool('EMBEDDED_DB_TEMPLATE', true),
    },
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 100, 600_000),
    jobs: { workers: r.int('WORKERS', 0, 256), pollMs: r.int('JOBS_POLL_MS', 50, 600_000) },
    bench: {
      priceSource: r.str('BENCH_PRICE_SOURCE') || null,
      jobTimeoutMs: r.int('BENCH_JOB_TIMEOUT_MS', 1000, 86_400_000),
    },
    mqtt: {
      url: r.url('MQTT_URL', ['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:']),
      port: r.int('MQTT_PORT', 0, 65535),
      username: r.optional('MQTT_USERNAME'),
      password: r.optional('MQTT_PASSWORD'),
      clientId: r.optional('MQTT_CLIENT_ID') ?? `conflux-${os.hostname()}`,
      keepaliveSeconds: r.int('MQTT_KEEPALIVE', 0, 65535),
      caCert: r.optional('MQTT_CA_CERT'),
      clientCert: r.optional('MQTT_CLIENT_CERT'),
      clientKey: r.optional('MQTT_CLIENT_KEY'),
      sharedGroup: r.optional('MQTT_SHARED_GROUP'),
      allowAnonymous: r.bool('MQTT_ALLOW_ANONYMOUS'),
    },
    grid: {
      topicMetering: r.topic('MQTT_TOPIC_METERING'),
      topicStatus: r.topic('MQTT_TOPIC_STATUS'),
      topicEvents: r.topic('MQTT_TOPIC_EVENTS'),
      topicResponses: r.topic('MQTT_TOPIC_RESPONSES'),
      topicLoads: r.optional('BACKEND_LOADS_TOPIC'),
      extraTopics: r.list('MQTT_TOPICS'),
      heartbeatIntervalMs: r.int('GRID_HEARTBEAT_INTERVAL_MS', 10, 3_600_000),
      offlineAfterMs: r.int('GRID_OFFLINE_AFTER_MS', 10, 86_400_000),
      dispatchIntervalMs: r.int('GRID_DISPATCH_INTERVAL_MS', 10, 600_000),
      timeZone: r.timeZone('GRID_TIMEZONE'),
    },
    auth: loadAuth(r),
    objects: loadObjects(r),
    live: {
      clientBufferBytes: r.int('LIVE_CLIENT_BUFFER_BYTES', 1024, 1024 ** 3),
      durableTopics: r.list('LIVE_DURABLE_TOPICS'),
      retainEvents: r.int('LIVE_RETAIN_EVENTS', 1, 10_000_000),
      retainMinutes: r.int('LIVE_RETAIN_MINUTES', 1, 525_600),
      fanout: r.oneOf('LIVE_FANOUT', ['auto', 'postgres', 'valkey', 'none'] as const),
    },
    valkey: {
      url: r.url('VALKEY_URL', ['redis:', 'rediss:', 'valkey:', 'valkeys:']),
      prefix: r.str('VALKEY_PREFIX'),
    },
    archery: { devMode, wsChannel },
  };
  const badPattern = config.live.durableTopics.find((p) => !isPattern(p));
  if (badPattern !== undefined)
    r.problems.push(`LIVE_DURABLE_TOPICS: '${badPattern}' is not a topic pattern`);
  if (config.live.fanout === 'valkey' && config.valkey.url === null)
    r.problems.push('LIVE_FANOUT: valkey needs VALKEY_URL');
  if (config.mqtt.sharedGroup !== null && !/^[A-Za-z0-9_-]+$/.test(config.mqtt.sharedGroup))
    r.problems.push('MQTT_SHARED_GROUP: letters, digits, _ and - only');
  if (config.nodeEnv === 'production' && config.mqtt.url === null && config.mqtt.allowAnonymous)
    r.problems.push('MQTT_ALLOW_ANONYMOUS: anonymous devices are refused when NODE_ENV=production');
  if (config.nodeEnv === 'production') {
    if (config.auth.mode === 'open') r.problems.push('AUTH_MODE: open is refused when NODE_ENV=production');
    if (config.auth.jwtSecret === null) r.problems.push('JWT_SECRET: must be set when NODE_ENV=production');
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

function loadAuth(r: Reader): AuthConfig {
  const secret = r.str('JWT_SECRET');
  if (secret !== '' && secret.length < 32) r.problems.push('JWT_SECRET: must be at least 32 characters');
  return {
    mode: r.oneOf('AUTH_MODE', ['token', 'open'] as const),
    jwtSecret: secret === '' ? null : secret,
    accessTtlSeconds: r.int('ACCESS_TOKEN_TTL_SECONDS', 10, 86_400),
    refreshTtlSeconds: r.int('REFRESH_TOKEN_TTL_DAYS', 1, 3650) * 86_400,
    loginMaxFailuresPerUser: r.int('LOGIN_MAX_FAILURES_PER_USER', 1, 1_000_000),
    loginMaxFailuresPerAddress: r.int('LOGIN_MAX_FAILURES_PER_ADDRESS', 1, 1_000_000),
    loginWindowSeconds: r.int('LOGIN_WINDOW_SECONDS', 1, 86_400),
    serviceToken: r.first('MINIO_EVENT_TOKEN'),
  };
}

function loadObjects(r: Reader): ObjectsConfig {
  let endpoint = r.url('S3_ENDPOINT', ['http:', 'https:']);
  const minio = r.raw('MINIO_ENDPOINT');
  if (endpoint === null && minio !== '') {
    // The seed gives host:port and a separate MINIO_SECURE flag.
    endpoint = /^https?:\/\//.test(minio) ? minio : `${r.bool('MINIO_SECURE') ? 'https' : 'http'}://${minio}`;
  }
  const publicRaw = r.first('S3_PUBLIC_ENDPOINT', 'MINIO_PUBLIC_ENDPOINT');
  const publicEndpoint =
    publicRaw === null || /^https?:\/\//.test(publicRaw) ? publicRaw : `http://${publicRaw}`;
  const bucket = r.first('S3_BUCKET', 'MINIO_BUCKET');
  if (bucket !== null && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    r.problems.push(`S3_BUCKET: '${bucket}' is not a valid bucket name (3-63 of a-z 0-9 . -)`);
  }
  const publicUrl = r.url('PUBLIC_URL', ['http:', 'https:']);
  return {
    kind: endpoint !== null || bucket !== null ? 's3' : 'fs',
    bucket: bucket ?? 'conflux',
    publicUrl: publicUrl?.replace(/\/+$/, '') ?? null,
    maxSize: r.int('OBJECTS_MAX_SIZE', 1, Number.MAX_SAFE_INTEGER),
    signingSecret: r.first('OBJECTS_SIGNING_SECRET', 'BUCKET_TOKEN_SECRET'),
    presignExpiresSeconds: r.int('PRESIGN_EXPIRES_SECONDS', 1, 7 * 86_400),
    rescanIntervalSeconds: r.int('OBJECT_RESCAN_INTERVAL_SECONDS', 0, 7 * 86_400),
    s3: {
      endpoint,
      publicEndpoint,
      region: r.str('S3_REGION'),
      accessKey: r.first('S3_ACCESS_KEY', 'MINIO_ACCESS_KEY'),
      secretKey: r.first('S3_SECRET_KEY', 'MINIO_SECRET_KEY'),
      forcePathStyle: r.bool('S3_FORCE_PATH_STYLE'),
    },
  };
}

/** Masks the password of a URL and every secret, for `conflux config` and logs. */
export function describeConfig(env: Env = process.env): { name: string; value: string; source: string }[] {
  return VARIABLES.map((v) => {
    const set = env[v.name] !== undefined && env[v.name] !== '';
    const value = set ? (env[v.name] as string) : v.default;
    return { name: v.name, value: v.secret ? maskSecret(value) : value, source: set ? 'env' : 'default' };
  });
}

export function maskSecret(value: string): string {
  if (value === '') return '';
  try {
    const u = new URL(value);
    if (u.password !== '') {
      u.password = '***';
      return u.toString();
    }
    if (u.protocol.length > 1 && u.host !== '') return u.toString();
  } catch {
    // not a URL: mask the whole value
  }
  return '***';
}
