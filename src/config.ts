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
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';

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
  };
  /** How long a graceful shutdown may take before the process exits anyway. */
  shutdownTimeoutMs: number;
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
  archery: {
    /** Seed's dev mode: archery routes open to anyone (refused with NODE_ENV=production). */
    devMode: boolean;
    /** PostgreSQL NOTIFY channel the shot trigger signals on (seed default `archy`). */
    wsChannel: string;
  };
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
    name: 'DATABASE_STATEMENT_TIMEOUT_MS',
    default: '30000',
    description: 'statement timeout for PostgreSQL (0 = none)',
  },
  { name: 'SHUTDOWN_TIMEOUT_MS', default: '10000', description: 'grace period for a shutdown' },
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

  bool(name: string, fallback: boolean): boolean {
    const raw = this.raw(name).toLowerCase();
    if (raw === '') return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${name}: must be true or false (got '${raw}')`);
    return fallback;
  }

  list(name: string): string[] {
    return this.raw(name)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
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
    },
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 100, 600_000),
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
  const badPattern = config.live.durableTopics.find(
    (p) => !/^[A-Za-z0-9_:*-]+(\.[A-Za-z0-9_:*-]+)*$/.test(p),
  );
  if (badPattern !== undefined)
    r.problems.push(`LIVE_DURABLE_TOPICS: '${badPattern}' is not a topic pattern`);
  if (config.live.fanout === 'valkey' && config.valkey.url === null)
    r.problems.push('LIVE_FANOUT: valkey needs VALKEY_URL');
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
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
