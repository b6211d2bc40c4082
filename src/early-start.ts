/**
 * What `conflux serve` does before the rest of the code loads: read the configuration and start
 * opening the embedded database. Opening it (and, on a new data directory, creating it in a child
 * process) takes about as long as loading the HTTP, MQTT and app modules, so the two overlap
 * instead of adding up. Anything that goes wrong is left for `serve` to report: a configuration
 * error here just means nothing starts early.
 */
import type { Logger } from 'pino';
import { environmentWithDotenv, loadConfig, type Config } from './config.ts';
import { openDatabase, type OpenedDatabase } from './platform/db/open.ts';
import { createLogger } from './platform/log.ts';

export interface EarlyStart {
  config: Config;
  log: Logger;
  /** The embedded database being opened (its errors are `serve`'s to report). */
  opening: Promise<OpenedDatabase>;
}

/** Starts opening the embedded database when `args` (after `conflux`) are a plain `serve`. */
export function startEarly(args: readonly string[]): EarlyStart | null {
  if (!(args.length === 0 || (args.length === 1 && args[0] === 'serve'))) return null;
  let config: Config;
  try {
    config = loadConfig(environmentWithDotenv());
  } catch {
    return null;
  }
  if (config.database.url !== null) return null;
  const log = createLogger({ level: config.logLevel });
  const opening = openDatabase(config, log);
  // Awaited by `serve`; until then a failure must not count as an unhandled rejection.
  opening.catch(() => undefined);
  return { config, log, opening };
}
