/**
 * An S3 server for a test file: the one at TEST_S3_ENDPOINT (MinIO, say; keys from
 * TEST_S3_ACCESS_KEY / TEST_S3_SECRET_KEY) with a fresh bucket, or else an s3rver started on a
 * free port in a temporary directory, behind a proxy that verifies presigned URLs' signatures
 * (which s3rver itself skips). `env` configures a Conflux server to use it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { startSigV4Proxy } from './sigv4-proxy.ts';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  env: Record<string, string>;
  /** s3rver's own event stream (S3 notification JSON per write); `null` for an external server. */
  server: S3rver | null;
  stop(): Promise<void>;
}

export async function startS3(): Promise<TestS3> {
  const bucket = `conflux-t-${randomBytes(4).toString('hex')}`;
  const external = process.env.TEST_S3_ENDPOINT;
  if (external) {
    const accessKey = process.env.TEST_S3_ACCESS_KEY ?? 'minioadmin';
    const secretKey = process.env.TEST_S3_SECRET_KEY ?? 'minioadmin';
    const client = new S3Client({
      endpoint: external,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      endpoint: external,
      bucket,
      server: null,
      env: envFor(external, bucket, accessKey, secretKey),
      async stop() {
        const list = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
        for (const o of list.Contents ?? [])
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
        client.destroy();
      },
    };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conflux-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  // s3rver's fixed credentials. It does not verify SigV4 signatures: the proxy does.
  const proxy = await startSigV4Proxy(`http://127.0.0.1:${port}`, { S3RVER: 'S3RVER' });
  const endpoint = proxy.url;
  return {
    endpoint,
    bucket,
    server,
    env: envFor(endpoint, bucket, 'S3RVER', 'S3RVER'),
    async stop() {
      await proxy.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function envFor(
  endpoint: string,
  bucket: string,
  accessKey: string,
  secretKey: string,
): Record<string, string> {
  return {
    S3_ENDPOINT: endpoint,
    S3_BUCKET: bucket,
    S3_ACCESS_KEY: accessKey,
    S3_SECRET_KEY: secretKey,
    S3_FORCE_PATH_STYLE: 'true',
  };
}
