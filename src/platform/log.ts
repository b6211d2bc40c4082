import pino from 'pino';
import type { Logger } from 'pino';

/** Query parameters whose values never reach a log (the seed's `?u=&p=` login, refresh ids, signatures). */
const SENSITIVE_QUERY = new Set([
  'p',
  'password',
  'rid',
  'refresh',
  'token',
  'access_token',
  'api_key',
  'sig',
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
]);

/** Returns `url` with the values of sensitive query parameters replaced by `***`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const key of [...params.keys()]) {
    if (SENSITIVE_QUERY.has(key.toLowerCase())) {
      params.set(key, '***');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

/** Object paths masked in every log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'refresh',
  '*.refresh',
  'access',
  '*.access',
  'token',
  '*.token',
  'secret',
  '*.secret',
];

interface RequestLike {
  method?: string;
  url?: string;
  id?: string;
  ip?: string;
  headers?: Record<string, unknown>;
}

export interface LoggerOptions {
  level: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: '***' },
      serializers: {
        req: (req: RequestLike) => ({
          id: req.id,
          method: req.method,
          url: req.url === undefined ? undefined : redactUrl(req.url),
          remoteAddress: req.ip,
        }),
        err: pino.stdSerializers.err,
      },
    },
    opts.destination,
  );
}
