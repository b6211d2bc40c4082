/**
 * Login rate limiting, kept in the database (platform_login_failures) so that every instance
 * sees the same counts and a restart does not reset them. Fixed windows per bucket: one bucket
 * per username (`u:<name>`) and one per client address (`a:<ip>`). Only failures count; a
 * successful login clears its username's bucket.
 */
import type { Queryable } from '../db/port.ts';
import { AppError, ErrorCode } from '../errors.ts';

export interface ThrottleLimits {
  maxPerUser: number;
  maxPerAddress: number;
  windowSeconds: number;
}

export class LoginThrottle {
  private readonly db: Queryable;
  private readonly limits: ThrottleLimits;

  constructor(db: Queryable, limits: ThrottleLimits) {
    this.db = db;
    this.limits = limits;
  }

  private buckets(username: string, address: string) {
    return [
      { bucket: `u:${username.toLowerCase()}`, max: this.limits.maxPerUser },
      { bucket: `a:${address}`, max: this.limits.maxPerAddress },
    ];
  }

  /** Throws 429 (with Retry-After) when either bucket is exhausted in its current window. */
  async check(username: string, address: string): Promise<void> {
    const buckets = this.buckets(username, address);
    const { rows } = await this.db.query<{ bucket: string; failures: number; retry: number }>(
      `SELECT bucket, failures,
         ceil(extract(epoch FROM window_start + make_interval(secs => $2) - now()))::int AS retry
       FROM platform_login_failures
       WHERE bucket = ANY($1) AND window_start > now() - make_interval(secs => $2)`,
      [buckets.map((b) => b.bucket), this.limits.windowSeconds],
    );
    for (const row of rows) {
      const limit = buckets.find((b) => b.bucket === row.bucket)?.max ?? Infinity;
      if (row.failures >= limit) {
        const retry = Math.max(1, row.retry);
        throw new AppError(ErrorCode.RateLimited, 429, 'too many failed logins; try again later', {
          headers: { 'retry-after': String(retry) },
        });
      }
    }
  }

  async failed(username: string, address: string): Promise<void> {
    for (const { bucket } of this.buckets(username, address)) {
      await this.db.query(
        `INSERT INTO platform_login_failures (bucket, window_start, failures) VALUES ($1, now(), 1)
         ON CONFLICT (bucket) DO UPDATE SET
           failures = CASE WHEN platform_login_failures.window_start > now() - make_interval(secs => $2)
                      THEN platform_login_failures.failures + 1 ELSE 1 END,
           window_start = CASE WHEN platform_login_failures.window_start > now() - make_interval(secs => $2)
                          THEN platform_login_failures.window_start ELSE now() END`,
        [bucket, this.limits.windowSeconds],
      );
    }
  }

  async succeeded(username: string): Promise<void> {
    await this.db.query('DELETE FROM platform_login_failures WHERE bucket = $1', [
      `u:${username.toLowerCase()}`,
    ]);
  }
}
