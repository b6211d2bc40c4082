import type { Migration } from '../db/migrate.ts';

/**
 * Accounts, refresh tokens (rotated, grouped in families for reuse detection), API keys and
 * login throttling. Secrets are never stored: passwords as argon2id hashes, refresh tokens and
 * API key secrets as SHA-256 digests (they are long random strings, so a fast hash is enough).
 */
export const AUTH_MIGRATIONS: readonly Migration[] = [
  {
    id: 'auth_001_accounts',
    up: `
CREATE TABLE platform_users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username text NOT NULL,
  password_hash text,
  role text NOT NULL CHECK (role IN ('admin', 'user', 'device')),
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);
CREATE UNIQUE INDEX platform_users_username ON platform_users (lower(username));

CREATE TABLE platform_refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  family_id uuid NOT NULL,
  user_id uuid NOT NULL REFERENCES platform_users (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  spent_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX platform_refresh_tokens_family ON platform_refresh_tokens (family_id);
CREATE INDEX platform_refresh_tokens_user ON platform_refresh_tokens (user_id);

CREATE TABLE platform_api_keys (
  id text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES platform_users (id) ON DELETE CASCADE,
  name text NOT NULL,
  secret_hash bytea NOT NULL,
  scope text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

CREATE TABLE platform_login_failures (
  bucket text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  failures integer NOT NULL
);`,
  },
];
