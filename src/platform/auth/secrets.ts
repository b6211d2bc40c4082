/**
 * Password hashing (argon2id) and the random secrets Conflux hands out: refresh tokens and API
 * keys. Those are 256-bit random strings, so they are stored as SHA-256 digests (a slow hash
 * adds nothing against guessing 2^256 values) and compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. `algorithm` 2 is Argon2id (a const enum upstream). */
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false; // a malformed stored hash never matches
  }
}

let dummy: Promise<string> | undefined;
/**
 * Burns the time of one verification for an unknown username, so that timing does not tell
 * which usernames exist.
 */
export async function verifyDummy(password: string): Promise<void> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await dummy, password);
}

export const randomSecret = (bytes = 32) => randomBytes(bytes).toString('base64url');

export const sha256 = (value: string | Buffer) => createHash('sha256').update(value).digest();

export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** API keys read `ck_<16 hex id>_<secret>`; the id doubles as the MQTT username. */
const API_KEY = /^ck_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function newApiKey(): { id: string; secret: string; key: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomSecret();
  return { id, secret, key: `ck_${id}_${secret}` };
}

export function parseApiKey(key: string): { id: string; secret: string } | null {
  const m = API_KEY.exec(key);
  return m ? { id: m[1] as string, secret: m[2] as string } : null;
}
