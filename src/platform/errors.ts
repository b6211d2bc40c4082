/**
 * The one error type of Conflux. Services throw `AppError`s built by the factories below; the
 * HTTP error handler turns them into `{detail, code}` bodies with the real status. Anything
 * else is a 500 whose cause is logged and never sent.
 */

export const ErrorCode = {
  BadRequest: 'bad_request',
  ValidationFailed: 'validation_failed',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  Conflict: 'conflict',
  ConstraintViolation: 'constraint_violation',
  PayloadTooLarge: 'payload_too_large',
  RateLimited: 'rate_limited',
  Unavailable: 'unavailable',
  Timeout: 'timeout',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class AppError extends Error {
  /** An {@link ErrorCode} or an app's own stable code. */
  readonly code: string;
  readonly status: number;
  /** Extra fields merged into the JSON body (never secrets). */
  readonly extra: Record<string, unknown> | undefined;
  /** Response headers to add, e.g. Retry-After. */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { cause?: unknown; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.extra = options.extra;
    this.headers = options.headers;
  }
}

export const badRequest = (message: string, extra?: Record<string, unknown>) =>
  new AppError(ErrorCode.BadRequest, 400, message, { extra });
export const unauthorized = (message = 'not authenticated') =>
  new AppError(ErrorCode.Unauthorized, 401, message, { headers: { 'www-authenticate': 'Bearer' } });
export const forbidden = (message = 'forbidden') => new AppError(ErrorCode.Forbidden, 403, message);
export const notFound = (what: string) => new AppError(ErrorCode.NotFound, 404, `${what} not found`);
export const conflict = (message: string) => new AppError(ErrorCode.Conflict, 409, message);
export const unprocessable = (message: string) => new AppError(ErrorCode.ValidationFailed, 422, message);
export const unavailable = (message: string, retryAfterSeconds?: number) =>
  new AppError(ErrorCode.Unavailable, 503, message, {
    headers: retryAfterSeconds === undefined ? undefined : { 'retry-after': String(retryAfterSeconds) },
  });

/** A PostgreSQL error as thrown by `pg` (and PGlite through its node-postgres adapter). */
export interface DatabaseErrorLike {
  code: string;
  constraint?: string;
  detail?: string;
  table?: string;
  column?: string;
  message: string;
}

export function isDatabaseError(e: unknown): e is DatabaseErrorLike {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((e as { code: string }).code)
  );
}

/**
 * SQLSTATE → AppError, in one place. Constraint names are safe to show (they name the rule
 * that was broken); the database's own message is not shown for unknown codes.
 */
export function fromDatabaseError(e: DatabaseErrorLike): AppError | null {
  const rule = e.constraint ?? e.column ?? e.table;
  const named = (what: string) => (rule ? `${what}: ${rule}` : what);
  switch (e.code) {
    case '23505':
      return new AppError(ErrorCode.Conflict, 409, named('already exists'), {
        cause: e,
        extra: { constraint: e.constraint },
      });
    case '23503':
      return new AppError(
        ErrorCode.ConstraintViolation,
        400,
        named('refers to something that does not exist'),
        {
          cause: e,
          extra: { constraint: e.constraint },
        },
      );
    case '23514':
    case '23502':
    case '23P01':
      return new AppError(ErrorCode.ConstraintViolation, 400, named('violates a rule'), {
        cause: e,
        extra: { constraint: e.constraint },
      });
    case '22P02':
    case '22003':
    case '22007':
    case '22008':
      return new AppError(ErrorCode.BadRequest, 400, 'invalid value', { cause: e });
    case '57014':
      return new AppError(ErrorCode.Timeout, 503, 'the database took too long', {
        cause: e,
        headers: { 'retry-after': '1' },
      });
    case '53300':
    case '57P03':
    case '08006':
    case '08001':
      return new AppError(ErrorCode.Unavailable, 503, 'database unavailable', {
        cause: e,
        headers: { 'retry-after': '1' },
      });
    default:
      return null;
  }
}

/** Normalises anything thrown into an AppError (unknown → 500 with the cause kept for the log). */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (isDatabaseError(e)) {
    const mapped = fromDatabaseError(e);
    if (mapped) return mapped;
  }
  return new AppError(ErrorCode.Internal, 500, 'internal server error', { cause: e });
}

/** `e` as an Error: itself when it is one, else its text in a new one. */
export const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
