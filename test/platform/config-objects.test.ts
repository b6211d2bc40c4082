import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

describe('object storage configuration', () => {
  it('uses the embedded store unless an S3 endpoint or bucket is set', () => {
    expect(loadConfig({}, '/tmp').objects).toMatchObject({ kind: 'fs', bucket: 'conflux' });
    expect(loadConfig({ S3_BUCKET: 'data-bucket' }, '/tmp').objects).toMatchObject({
      kind: 's3',
      bucket: 'data-bucket',
    });
  });

  it('accepts the seed’s MINIO_* names', () => {
    const c = loadConfig(
      {
        MINIO_ENDPOINT: 'minio.local:9000',
        MINIO_SECURE: 'true',
        MINIO_ACCESS_KEY: 'ak',
        MINIO_SECRET_KEY: 'sk',
        MINIO_BUCKET: 'bench-data',
        MINIO_PUBLIC_ENDPOINT: 'files.example.org',
        BUCKET_TOKEN_SECRET: 'signing',
      },
      '/tmp',
    ).objects;
    expect(c).toMatchObject({
      kind: 's3',
      bucket: 'bench-data',
      signingSecret: 'signing',
      s3: {
        endpoint: 'https://minio.local:9000',
        publicEndpoint: 'http://files.example.org',
        accessKey: 'ak',
        secretKey: 'sk',
        forcePathStyle: true,
      },
    });
  });

  it('prefers the S3_* names and names bad values', () => {
    const c = loadConfig(
      { S3_ENDPOINT: 'http://s3:9000', MINIO_ENDPOINT: 'other:9000', S3_FORCE_PATH_STYLE: 'false' },
      '/tmp',
    );
    expect(c.objects.s3).toMatchObject({ endpoint: 'http://s3:9000', forcePathStyle: false });
    expect(() => loadConfig({ S3_BUCKET: 'Bad_Bucket' }, '/tmp')).toThrow(/S3_BUCKET/);
    expect(() => loadConfig({ S3_ENDPOINT: 'ftp://x' }, '/tmp')).toThrow(/S3_ENDPOINT/);
    expect(() => loadConfig({ OBJECT_RESCAN_INTERVAL_SECONDS: '-1' }, '/tmp')).toThrow(/OBJECT_RESCAN/);
  });
});
