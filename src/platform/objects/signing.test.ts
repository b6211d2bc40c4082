import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UrlSigner } from './signing.ts';

const signer = new UrlSigner('a test key of some length');
const method = fc.constantFrom('GET' as const, 'PUT' as const);
const key = fc.string({ minLength: 1, maxLength: 60 });
const expires = fc.integer({ min: 1_000_000_000, max: 4_000_000_000 });

describe('signed URL checker', () => {
  it('accepts its own signatures until they expire, then says expired', () => {
    fc.assert(
      fc.property(method, key, expires, fc.integer({ min: -10_000, max: 10_000 }), (m, k, e, skew) => {
        const sig = signer.sign(m, k, e);
        const now = e + skew;
        expect(signer.verify(m, k, String(e), sig, now)).toBe(now > e ? 'expired' : 'ok');
      }),
    );
  });

  it('refuses a signature moved to another method, key or expiry', () => {
    fc.assert(
      fc.property(method, key, expires, method, key, expires, (m, k, e, m2, k2, e2) => {
        fc.pre(m !== m2 || k !== k2 || e !== e2);
        const sig = signer.sign(m, k, e);
        expect(signer.verify(m2, k2, String(e2), sig, 0)).toBe('bad_signature');
      }),
    );
  });

  it('refuses any tampered or made-up signature', () => {
    fc.assert(
      fc.property(method, key, expires, fc.nat(), fc.string({ maxLength: 60 }), (m, k, e, at, junk) => {
        const sig = signer.sign(m, k, e);
        const i = at % sig.length;
        const flipped = sig.slice(0, i) + (sig[i] === 'A' ? 'B' : 'A') + sig.slice(i + 1);
        expect(signer.verify(m, k, String(e), flipped, 0)).toBe('bad_signature');
        fc.pre(junk !== sig);
        expect(signer.verify(m, k, String(e), junk, 0)).toBe('bad_signature');
      }),
    );
  });

  it('refuses malformed expiries and foreign keys', () => {
    fc.assert(
      fc.property(key, fc.string({ maxLength: 15 }), (k, e) => {
        fc.pre(!/^\d{1,12}$/.test(e));
        expect(signer.verify('GET', k, e, signer.sign('GET', k, Number(e)), 0)).toBe('bad_signature');
      }),
    );
    const other = new UrlSigner('another key');
    expect(signer.verify('GET', 'k', '2000000000', other.sign('GET', 'k', 2_000_000_000), 0)).toBe(
      'bad_signature',
    );
    expect(signer.verify('DELETE', 'k', '2000000000', signer.sign('GET', 'k', 2_000_000_000), 0)).toBe(
      'bad_signature',
    );
    // HEAD is a GET that returns no body: a download URL allows it.
    expect(signer.verify('HEAD', 'k', '2000000000', signer.sign('GET', 'k', 2_000_000_000), 0)).toBe('ok');
  });
});
