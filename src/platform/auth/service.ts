/**
 * Accounts and tokens: registration, login, refresh-token rotation with reuse detection,
 * logout, API keys, and turning a bearer credential into a {@link Principal}.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthConfig } from '../../config.ts';
import type { Database } from '../db/port.ts';
import { badRequest, conflict, isDatabaseError, notFound, unauthorized } from '../errors.ts';
import type { Principal, Role } from './port.ts';
import {
  hashPassword,
  newApiKey,
  parseApiKey,
  randomSecret,
  sameSecret,
  sha256,
  verifyDummy,
  verifyPassword,
} from './secrets.ts';
import * as store from './store.ts';
import { LoginThrottle } from './throttle.ts';
import { AccessTokens } from './tokens.ts';

export interface TokenPair {
  access: string;
  refresh: string;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  username: string;
  role: Role;
  scope: string[];
  created_at: string;
  last_used_at: string | null;
  revoked: boolean;
}

/** Usernames become storage prefixes: letters, digits, `_ . -`, starting with a letter or digit. */
export const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{4,19}$/;

const OPEN_PRINCIPAL: Principal = {
  userId: '00000000-0000-0000-0000-000000000000',
  username: 'local',
  role: 'admin',
  scope: [],
  via: 'open',
};

const SERVICE_PRINCIPAL: Principal = {
  userId: '00000000-0000-0000-0000-000000000001',
  username: 'service',
  role: 'device',
  scope: [],
  via: 'service',
};

function checkPassword(password: string) {
  if (password.length < 8 || password.length > 128) throw badRequest('password must be 8 to 128 characters');
}

export class AuthService {
  readonly mode: AuthConfig['mode'];
  private readonly db: Database;
  private readonly config: AuthConfig;
  private readonly tokens: AccessTokens;
  private readonly throttle: LoginThrottle;
  private readonly log: Logger;

  /** `jwtSecret` is the configured one, or a random one the composition root generated. */
  constructor(opts: { db: Database; config: AuthConfig; jwtSecret: string; log: Logger }) {
    this.db = opts.db;
    this.config = opts.config;
    this.mode = opts.config.mode;
    this.log = opts.log;
    this.tokens = new AccessTokens(opts.jwtSecret, opts.config.accessTtlSeconds);
    this.throttle = new LoginThrottle(opts.db, {
      maxPerUser: opts.config.loginMaxFailuresPerUser,
      maxPerAddress: opts.config.loginMaxFailuresPerAddress,
      windowSeconds: opts.config.loginWindowSeconds,
    });
  }

  /** Whether an account of this name exists (case-insensitively), disabled or not. */
  async userExists(username: string): Promise<boolean> {
    return (await store.userByName(this.db, username)) !== null;
  }

  /** Creates an account; 409 when the name is taken (case-insensitively). */
  async createUser(username: string, password: string | null, role: Role): Promise<store.UserRow> {
    if (!USERNAME.test(username)) {
      throw badRequest('username must be 5 to 20 letters, digits, _ . - (starting with a letter or digit)');
    }
    if (password !== null) checkPassword(password);
    const passwordHash = password === null ? null : await hashPassword(password);
    try {
      return await store.insertUser(this.db, { username, passwordHash, role });
    } catch (e) {
      if (isDatabaseError(e) && e.code === '23505') throw conflict('username already taken');
      throw e;
    }
  }

  async register(username: string, password: string): Promise<TokenPair> {
    const user = await this.createUser(username, password, 'user');
    return this.issue(user, null);
  }

  /** 401 for a wrong pair or an unknown user alike; 429 when the user or the address is throttled. */
  async login(username: string, password: string, address: string): Promise<TokenPair> {
    await this.throttle.check(username, address);
    const user = await store.userByName(this.db, username);
    const ok =
      user?.password_hash != null && user.disabled_at === null
        ? await verifyPassword(user.password_hash, password)
        : (await verifyDummy(password), false);
    if (!ok || !user) {
      await this.throttle.failed(username, address);
      this.log.info({ address }, 'login failed');
      throw unauthorized('incorrect username or password');
    }
    await this.throttle.succeeded(username);
    return this.issue(user, null);
  }

  /**
   * Rotates a refresh token: the presented one is spent and a new pair (same family) returned.
   * Presenting a spent token means it leaked (or a client raced itself): the whole family is
   * revoked and both holders must log in again.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const outcome = await this.db.transaction(async (tx) => {
      const row = await store.refreshForUpdate(tx, sha256(refreshToken));
      if (!row || row.revoked_at !== null || row.expires_at.getTime() <= Date.now())
        return 'invalid' as const;
      if (row.spent_at !== null) {
        await store.revokeFamily(tx, row.family_id);
        return 'reused' as const;
      }
      const user = await store.userById(tx, row.user_id);
      if (!user || user.disabled_at !== null) return 'invalid' as const;
      await store.spendRefresh(tx, row.id);
      return this.issue(user, row.family_id, tx);
    });
    if (outcome === 'reused') {
      this.log.warn('spent refresh token presented: token family revoked');
      throw unauthorized('refresh token already used; all sessions of this login are revoked');
    }
    if (outcome === 'invalid') throw unauthorized('invalid or expired refresh token');
    return outcome;
  }

  /** Revokes the family of `refreshToken` (when it is the caller's), else every session of the caller. */
  async logout(principal: Principal, refreshToken: string | undefined): Promise<void> {
    if (refreshToken !== undefined) {
      await this.db.transaction(async (tx) => {
        const row = await store.refreshForUpdate(tx, sha256(refreshToken));
        if (row && row.user_id === principal.userId) await store.revokeFamily(tx, row.family_id);
      });
      return;
    }
    await store.revokeUserTokens(this.db, principal.userId);
  }

  private async issue(
    user: store.UserRow,
    familyId: string | null,
    q: Pick<Database, 'query'> = this.db,
  ): Promise<TokenPair> {
    const refresh = randomSecret();
    await store.insertRefresh(q, {
      familyId,
      userId: user.id,
      tokenHash: sha256(refresh),
      ttlSeconds: this.config.refreshTtlSeconds,
    });
    return { access: await this.tokens.sign(user), refresh };
  }

  /** Issues an API key for an existing account; the secret is shown once and stored hashed. */
  async createApiKey(
    username: string,
    name: string,
    scope: string[] = [],
  ): Promise<ApiKeyInfo & { key: string }> {
    const user = await store.userByName(this.db, username);
    if (!user || user.disabled_at !== null) throw notFound(`user ${username}`);
    const { id, secret, key } = newApiKey();
    await store.insertApiKey(this.db, { id, userId: user.id, name, secretHash: sha256(secret), scope });
    return {
      id,
      key,
      name,
      username: user.username,
      role: user.role,
      scope,
      created_at: new Date().toISOString(),
      last_used_at: null,
      revoked: false,
    };
  }

  async listApiKeys(): Promise<ApiKeyInfo[]> {
    return (await store.listApiKeys(this.db)).map((k) => ({
      id: k.id,
      name: k.name,
      username: k.username,
      role: k.role,
      scope: k.scope,
      created_at: k.created_at.toISOString(),
      last_used_at: k.last_used_at?.toISOString() ?? null,
      revoked: k.revoked_at !== null,
    }));
  }

  async revokeApiKey(id: string): Promise<void> {
    if (!(await store.revokeApiKey(this.db, id))) throw notFound(`API key ${id}`);
  }

  /**
   * The principal of an API key given as its id and secret (MQTT sends them as username and
   * password); `null` when unknown, revoked or wrong.
   */
  async verifyApiKey(id: string, secret: string): Promise<Principal | null> {
    const keyId = id.startsWith('ck_') ? id.slice(3) : id;
    const row = await store.activeApiKey(this.db, keyId);
    if (!row || !timingSafeEqual(sha256(secret), row.secret_hash)) return null;
    store
      .touchApiKey(this.db, row.id)
      .catch((e: unknown) => this.log.warn({ err: e }, 'api key touch failed'));
    return { userId: row.user_id, username: row.username, role: row.role, scope: row.scope, via: 'api_key' };
  }

  /** A bearer credential (JWT or `ck_` key) to a principal; `null` when it is not valid. */
  async authenticate(bearer: string): Promise<Principal | null> {
    if (bearer.startsWith('ck_')) {
      const parsed = parseApiKey(bearer);
      return parsed ? this.verifyApiKey(parsed.id, parsed.secret) : null;
    }
    return this.tokens.verify(bearer);
  }

  /** The caller of a `service` route presenting the shared token, else `null`. */
  servicePrincipal(bearer: string): Principal | null {
    const token = this.config.serviceToken;
    return token !== null && sameSecret(bearer, token) ? SERVICE_PRINCIPAL : null;
  }

  /** Who an anonymous caller is: nobody, or in AUTH_MODE=open the local admin. */
  anonymous(): Principal | null {
    return this.mode === 'open' ? OPEN_PRINCIPAL : null;
  }
}
