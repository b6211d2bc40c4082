/**
 * The S3 store's presigned URLs, checked by an independent SigV4 verifier (the one the s3rver
 * proxy uses): valid as issued, refused after their expiry, for another method or another key,
 * and free of checksum parameters that would pin an empty body.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { S3Store } from '../../../src/platform/objects/s3-store.ts';
import { checkPresigned } from '../../helpers/sigv4-proxy.ts';

const store = new S3Store({
  bucket: 'conflux',
  endpoint: 'http://127.0.0.1:9000',
  publicEndpoint: 'https://files.example.org',
  region: 'eu-central-1',
  accessKey: 'AKIDEXAMPLE',
  secretKey: 'secret-example',
  forcePathStyle: true,
  maxSize: 1000,
});
const secrets = { AKIDEXAMPLE: 'secret-example' };
const host = { host: 'files.example.org' };
const rel = (u: string) => u.slice('https://files.example.org'.length);

describe('S3 presigned URLs', () => {
  it('are signed for the public endpoint and carry no checksum parameters', async () => {
    const { url, expiresIn } = await store.presignUpload('alice1/a b+c ü.h5', 600);
    expect(expiresIn).toBe(600);
    expect(url.startsWith('https://files.example.org/conflux/alice1/')).toBe(true);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('600');
    expect(url).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum/i);
    expect(checkPresigned('PUT', rel(url), host, secrets)).toBeNull();
  });

  it('stop working after expiry, for another method and for another key', async () => {
    const { url } = await store.presignDownload('alice1/x.h5', 60);
    expect(checkPresigned('GET', rel(url), host, secrets)).toBeNull();
    expect(checkPresigned('GET', rel(url), host, secrets, new Date(Date.now() + 61_000))).toBe(
      'Request has expired',
    );
    expect(checkPresigned('PUT', rel(url), host, secrets)).toBe('SignatureDoesNotMatch');
    expect(checkPresigned('GET', rel(url).replace('x.h5', 'y.h5'), host, secrets)).toBe(
      'SignatureDoesNotMatch',
    );
    expect(checkPresigned('GET', rel(url), { host: 'evil.example.org' }, secrets)).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('verify for any valid key (property)', async () => {
    const segment = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 10 })
      .map((s) => s.replace(/[\u0000-\u001f\u007f/\\]/g, '_'))
      .filter((s) => s !== '.' && s !== '..' && s.isWellFormed());
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 4 }), async (parts) => {
        const { url } = await store.presignUpload(`alice1/${parts.join('/')}`, 120);
        expect(checkPresigned('PUT', rel(url), host, secrets)).toBeNull();
      }),
      { numRuns: 50 },
    );
  });
});
