import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_KEY_BYTES, keyProblem, userKey } from './keys.ts';

/** Segments of printable characters (any Unicode), never `.` or `..`. */
const segment = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
  .map((s) => s.replace(/[\u0000-\u001f\u007f/\\]/g, '_'))
  .filter((s) => s !== '' && s !== '.' && s !== '..' && s.isWellFormed());
const goodKey = fc
  .array(segment, { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join('/'))
  .filter((k) => Buffer.byteLength(k) <= MAX_KEY_BYTES);

describe('object key validation', () => {
  it('accepts every key made of ordinary segments', () => {
    fc.assert(fc.property(goodKey, (key) => keyProblem(key) === null));
  });

  it('never accepts a key that leaves its folder or is not canonical', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (key) => {
        if (keyProblem(key) !== null) return;
        expect(key.startsWith('/')).toBe(false);
        expect(key).not.toMatch(/[\\\u0000-\u001f\u007f]/);
        expect(path.posix.normalize(key)).toBe(key);
        const root = '/data/objects/bucket';
        expect(path.resolve(root, ...key.split('/')).startsWith(`${root}/`)).toBe(true);
      }),
    );
  });

  it('refuses a good key once a bad part is put anywhere into it', () => {
    const bad = fc.constantFrom('..', '.', '', '/x', 'a\\b', 'a\u0000b', 'a\nb', 'a\u007fb');
    fc.assert(
      fc.property(goodKey, bad, fc.nat(), (key, part, at) => {
        const parts = key.split('/');
        parts.splice(at % (parts.length + 1), 0, part);
        const broken = part === '/x' ? `/${key}` : parts.join('/');
        expect(keyProblem(broken)).not.toBeNull();
      }),
    );
  });

  it('refuses keys over 1024 bytes, counting UTF-8 bytes', () => {
    expect(keyProblem('é'.repeat(512))).toBeNull();
    expect(keyProblem('é'.repeat(513))).not.toBeNull();
    fc.assert(
      fc.property(goodKey, (key) => {
        const long = `${key}/${'x'.repeat(MAX_KEY_BYTES)}`;
        expect(keyProblem(long)).toMatch(/1024 bytes/);
      }),
    );
  });

  it('keeps user keys under the user’s prefix', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (name) => {
        const r = userKey('alice1', name);
        if ('key' in r) {
          expect(r.key.startsWith('alice1/')).toBe(true);
          expect(path.posix.normalize(r.key).startsWith('alice1/')).toBe(true);
        }
      }),
    );
  });
});
