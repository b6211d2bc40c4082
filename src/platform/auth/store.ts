/** SQL of accounts, refresh tokens and API keys (platform_users, platform_refresh_tokens, platform_api_keys). */
import type { Queryable } from '../db/port.ts';
import type { Role } from './port.ts';

export interface UserRow {
  id: string;
  username: string;
  password_hash: string | null;
  role: Role;
  disabled_at: Date | null;
}

export interface RefreshRow {
  id: string;
  family_id: string;
  user_id: string;
  expires_at: Date;
  spent_at: Date | null;
  revoked_at: Date | null;
}

export interface ApiKeyRow {
  id: string;
  user_id: string;
  name: string;
  secret_hash: Buffer;
  scope: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  username: string;
  role: Role;
}

export async function insertUser(
  q: Queryable,
  u: { username: string; passwordHash: string | null; role: Role },
): Promise<UserRow> {
  const { rows } = await q.query<UserRow>(
    `INSERT INTO platform_users (username, password_hash, role) VALUES ($1, $2, $3)
     RETURNING id, username, password_hash, role, disabled_at`,
    [u.username, u.passwordHash, u.role],
  );
  return rows[0] as UserRow;
}

export async function userByName(q: Queryable, username: string): Promise<UserRow | null> {
  const { rows } = await q.query<UserRow>(
    'SELECT id, username, password_hash, role, disabled_at FROM platform_users WHERE lower(username) = lower($1)',
    [username],
  );
  return rows[0] ?? null;
}

export async function userById(q: Queryable, id: string): Promise<UserRow | null> {
  const { rows } = await q.query<UserRow>(
    'SELECT id, username, password_hash, role, disabled_at FROM platform_users WHERE id = $1',
    [id],
  );
  return rows[0] ?? null;
}

export async function insertRefresh(
  q: Queryable,
  r: { familyId: string | null; userId: string; tokenHash: Buffer; ttlSeconds: number },
): Promise<void> {
  await q.query(
    `INSERT INTO platform_refresh_tokens (family_id, user_id, token_hash, expires_at)
     VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, now() + make_interval(secs => $4))`,
    [r.familyId, r.userId, r.tokenHash, r.ttlSeconds],
  );
}

/** Locks the token's row so that two concurrent refreshes with one token are serialised. */
export async function refreshForUpdate(q: Queryable, tokenHash: Buffer): Promise<RefreshRow | null> {
  const { rows } = await q.query<RefreshRow>(
    `SELECT id, family_id, user_id, expires_at, spent_at, revoked_at FROM platform_refresh_tokens
     WHERE token_hash = $1 FOR UPDATE`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

export async function spendRefresh(q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE platform_refresh_tokens SET spent_at = now() WHERE id = $1', [id]);
}

export async function revokeFamily(q: Queryable, familyId: string): Promise<number> {
  const r = await q.query(
    'UPDATE platform_refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
    [familyId],
  );
  return r.rowCount ?? 0;
}

export async function revokeUserTokens(q: Queryable, userId: string): Promise<number> {
  const r = await q.query(
    'UPDATE platform_refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL',
    [userId],
  );
  return r.rowCount ?? 0;
}

export async function insertApiKey(
  q: Queryable,
  k: { id: string; userId: string; name: string; secretHash: Buffer; scope: string[] },
): Promise<void> {
  await q.query(
    'INSERT INTO platform_api_keys (id, user_id, name, secret_hash, scope) VALUES ($1, $2, $3, $4, $5)',
    [k.id, k.userId, k.name, k.secretHash, k.scope],
  );
}

const API_KEY_SELECT = `SELECT k.id, k.user_id, k.name, k.secret_hash, k.scope, k.created_at, k.last_used_at,
  k.revoked_at, u.username, u.role FROM platform_api_keys k JOIN platform_users u ON u.id = k.user_id`;

/** A usable key: not revoked, its account not disabled. */
export async function activeApiKey(q: Queryable, id: string): Promise<ApiKeyRow | null> {
  const { rows } = await q.query<ApiKeyRow>(
    `${API_KEY_SELECT} WHERE k.id = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL`,
    [id],
  );
  return rows[0] ?? null;
}

export async function listApiKeys(q: Queryable): Promise<ApiKeyRow[]> {
  const { rows } = await q.query<ApiKeyRow>(`${API_KEY_SELECT} ORDER BY k.created_at`);
  return rows;
}

export async function revokeApiKey(q: Queryable, id: string): Promise<boolean> {
  const r = await q.query(
    'UPDATE platform_api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL',
    [id],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Marks a key used at most once a minute: usage is for humans, not worth a write per request. */
export async function touchApiKey(q: Queryable, id: string): Promise<void> {
  await q.query(
    `UPDATE platform_api_keys SET last_used_at = now()
     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [id],
  );
}
