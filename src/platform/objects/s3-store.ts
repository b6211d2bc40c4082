/**
 * The production object store: any S3 API (MinIO, AWS S3, Ceph) through AWS SDK v3.
 *
 * Presigned URLs: since SDK 3.729 the client adds CRC32 checksum parameters by default, and a
 * presigned PUT then carries the checksum of an *empty* body, which AWS and MinIO reject for the
 * real bytes. `requestChecksumCalculation: 'WHEN_REQUIRED'` keeps them out (and responses are not
 * validated against checksums the server may not send). URLs are signed by a second client
 * pointed at the public endpoint, because the host is part of the signature.
 */
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { badRequest } from '../errors.ts';
import { keyProblem } from './keys.ts';
import { bareEtag, type ObjectInfo, type ObjectStore, type PresignedUrl } from './port.ts';
import { tooLarge } from './fs-store.ts';

export interface S3StoreOptions {
  bucket: string;
  endpoint: string | null;
  publicEndpoint: string | null;
  region: string;
  accessKey: string | null;
  secretKey: string | null;
  forcePathStyle: boolean;
  /** Largest object `put` buffers when given a stream of unknown size. */
  maxSize: number;
}

function isNotFound(e: unknown): boolean {
  if (e instanceof S3ServiceException) {
    return e.$metadata.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchKey';
  }
  return false;
}

export class S3Store implements ObjectStore {
  readonly bucket: string;
  readonly client: S3Client;
  private readonly presigner: S3Client;
  private readonly maxSize: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.maxSize = opts.maxSize;
    const base: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(opts.accessKey !== null && opts.secretKey !== null
        ? { credentials: { accessKeyId: opts.accessKey, secretAccessKey: opts.secretKey } }
        : {}),
    };
    this.client = new S3Client({ ...base, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) });
    const publicEndpoint = opts.publicEndpoint ?? opts.endpoint;
    this.presigner =
      publicEndpoint === opts.endpoint
        ? this.client
        : new S3Client({ ...base, ...(publicEndpoint ? { endpoint: publicEndpoint } : {}) });
  }

  private check(key: string) {
    const problem = keyProblem(key);
    if (problem !== null) throw badRequest(`key ${problem}`);
  }

  async ready(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.check(key);
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        key,
        size: h.ContentLength ?? 0,
        etag: bareEtag(h.ETag),
        lastModified: h.LastModified ?? new Date(0),
        ...(h.ContentType ? { contentType: h.ContentType } : {}),
      };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async open(key: string): Promise<Readable | null> {
    this.check(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return res.Body instanceof Readable ? res.Body : null;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async put(
    key: string,
    body: Buffer | Readable,
    opts: { contentType?: string; size?: number } = {},
  ): Promise<ObjectInfo> {
    this.check(key);
    let payload: Buffer | Readable = body;
    let size = Buffer.isBuffer(body) ? body.length : opts.size;
    if (size === undefined) {
      // PutObject needs a length; a stream of unknown size is buffered (bounded by maxSize).
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of body as Readable) {
        total += (chunk as Buffer).length;
        if (total > this.maxSize) throw tooLarge(this.maxSize);
        chunks.push(chunk as Buffer);
      }
      payload = Buffer.concat(chunks);
      size = total;
    }
    const res = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: payload,
        ContentLength: size,
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
      }),
    );
    // The server's write time, as HEAD, LIST and so the object events will report it.
    const stored = await this.head(key).catch(() => null);
    if (stored && stored.etag === bareEtag(res.ETag)) return stored;
    return {
      key,
      size,
      etag: bareEtag(res.ETag),
      lastModified: new Date(),
      ...(opts.contentType ? { contentType: opts.contentType } : {}),
    };
  }

  async delete(key: string): Promise<void> {
    this.check(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        out.push({
          key: o.Key,
          size: o.Size ?? 0,
          etag: bareEtag(o.ETag),
          lastModified: o.LastModified ?? new Date(0),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async presignUpload(key: string, expiresIn: number): Promise<PresignedUrl> {
    this.check(key);
    const url = await getSignedUrl(this.presigner, new PutObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn,
    });
    return { url, expiresIn };
  }

  async presignDownload(key: string, expiresIn: number): Promise<PresignedUrl> {
    this.check(key);
    const url = await getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn,
    });
    return { url, expiresIn };
  }
}
