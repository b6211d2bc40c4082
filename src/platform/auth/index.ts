import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Http } from '../app.ts';
import type { Database } from '../db/port.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { registerSessionRoutes } from './routes/session.ts';
import { AuthService } from './service.ts';

export { AuthService } from './service.ts';
export { installAuth, type RouteEntry } from './hook.ts';

/**
 * Builds the auth part. Without JWT_SECRET (refused in production by the config) a random key
 * is generated: tokens then die with the process and other instances cannot verify them.
 */
export function createAuth(
  config: Config,
  db: Database,
  log: Logger,
): { auth: AuthService; jwtSecret: string } {
  let jwtSecret = config.auth.jwtSecret;
  if (jwtSecret === null) {
    jwtSecret = randomBytes(32).toString('base64url');
  }
  return { auth: new AuthService({ db, config: config.auth, jwtSecret, log }), jwtSecret };
}

/** What `serve` says at start about an insecure auth setup. */
export function warnAboutAuth(config: Config, log: Logger) {
  if (config.auth.jwtSecret === null && config.nodeEnv !== 'test') {
    log.warn('JWT_SECRET is not set: using a random key; tokens will not survive a restart');
  }
  if (config.auth.mode === 'open') {
    log.warn('AUTH_MODE=open: anonymous callers act as an admin; for local demos only');
  }
}

export function registerAuthRoutes(http: Http, auth: AuthService) {
  registerSessionRoutes(http, auth);
  registerAdminRoutes(http, auth);
}
