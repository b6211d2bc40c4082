/** Access tokens: HS256 JWTs with `sub`, `role`, `scope` (space separated) and the username. */
import { SignJWT, errors, jwtVerify } from 'jose';
import type { Principal, Role } from './port.ts';

const ISSUER = 'conflux';
const ROLES: readonly string[] = ['admin', 'user', 'device'];

export class AccessTokens {
  private readonly key: Uint8Array;
  private readonly ttlSeconds: number;

  constructor(secret: string, ttlSeconds: number) {
    this.key = new TextEncoder().encode(secret);
    this.ttlSeconds = ttlSeconds;
  }

  sign(user: { id: string; username: string; role: Role }, scope: string[] = []): Promise<string> {
    return new SignJWT({ role: user.role, scope: scope.join(' '), username: user.username })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** The principal of a valid token; `null` for anything else (bad signature, expired, malformed). */
  async verify(token: string): Promise<Principal | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER });
      const { sub, role, scope, username } = payload;
      if (typeof sub !== 'string' || typeof role !== 'string' || !ROLES.includes(role)) return null;
      if (typeof username !== 'string') return null;
      const scopes = typeof scope === 'string' && scope !== '' ? scope.split(' ') : [];
      return { userId: sub, username, role: role as Role, scope: scopes, via: 'jwt' };
    } catch (e) {
      if (e instanceof errors.JOSEError) return null;
      throw e;
    }
  }
}
