/**
 * Signed URLs of the embedded store. The signature is an HMAC-SHA256 over the HTTP method, the
 * key and the expiry (unix seconds), so a URL cannot be reused for another object, another
 * method or after it expires. Checked in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignedMethod = 'GET' | 'PUT';

export type Verdict = 'ok' | 'expired' | 'bad_signature';

export class UrlSigner {
  private readonly secret: Buffer;

  constructor(secret: string | Buffer) {
    this.secret = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
  }

  sign(method: SignedMethod, key: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${method}\n${key}\n${expires}`).digest('base64url');
  }

  /** `expires` and `signature` come straight from the query string: anything malformed is refused. */
  verify(method: string, key: string, expires: unknown, signature: unknown, nowSeconds: number): Verdict {
    if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires) || typeof signature !== 'string') {
      return 'bad_signature';
    }
    if (method !== 'GET' && method !== 'PUT' && method !== 'HEAD') return 'bad_signature';
    // A download URL is good for HEAD too.
    const signed: SignedMethod = method === 'HEAD' ? 'GET' : method;
    const expected = Buffer.from(this.sign(signed, key, Number(expires)), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad_signature';
    // The signature is checked first so that an attacker learns nothing from the expiry answer.
    return Number(expires) < nowSeconds ? 'expired' : 'ok';
  }
}
