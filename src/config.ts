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
  { name: 'WORKERS', default: '2', description: 'jobs run at once by the server itself (0 = none)' },
  { name: 'JOBS_POLL_MS', default: '2000', description: 'job worker poll interval in ms' },
  {
    name: 'BENCH_PRICE_SOURCE',
    default: '',
    description: 'price series for bench costs: storage key or http(s) URL (CSV or SMARD JSON)',
  },
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
  const config: Config = {
    nodeEnv: r.oneOf('NODE_ENV', ['development', 'production', 'test'] as const),
    host: r.str('HOST'),
    port: r.int('PORT', 0, 65535),
    dataDir: path.resolve(cwd, r.str('DATA_DIR')),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS),
    apps: apps.length > 0 ? apps : null,
    database: {
      url: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
      poolMax: r.int('DATABASE_POOL_MAX', 1, 1000),
      statementTimeoutMs: r.int('DATABASE_STATEMENT_TIMEOUT_MS', 0, 86_400_000),
    },
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 100, 600_000),
    jobs: { workers: r.int('WORKERS', 0, 256), pollMs: r.int('JOBS_POLL_MS', 50, 600_000) },
    bench: { priceSource: r.str('BENCH_PRICE_SOURCE') || null },
  };
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
