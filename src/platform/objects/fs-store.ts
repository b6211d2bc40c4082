/**
 * The embedded object store: files under `<dataDir>/objects/<bucket>/<key>`, metadata (size,
 * content type, ETag = MD5 of the bytes, like S3's single-part uploads) in a sidecar JSON under
 * `<dataDir>/objects/.meta/<bucket>/`, named by the SHA-256 of the key so that no key can collide
 * with it. Uploads stream into `.tmp/` and are renamed into place, so readers never see half an
 * object. URLs point at this server (`/storage/blob/<key>`) and are signed by {@link UrlSigner}.
 *
 * Limitation of a file system: a key cannot be both an object and a folder of other objects
 * (`a/b` and `a/b/c`); the second one gets 409.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, ErrorCode, badRequest, conflict } from '../errors.ts';
import { encodeKey, keyProblem } from './keys.ts';
import type { ObjectInfo, ObjectStore, PresignedUrl } from './port.ts';
import type { UrlSigner } from './signing.ts';

interface Sidecar {
  key: string;
  size: number;
  etag: string;
  contentType?: string;
  lastModified: string;
}

export interface FsStoreOptions {
  /** `<dataDir>/objects`. */
  root: string;
  bucket: string;
  signer: UrlSigner;
  /** Largest object accepted, in bytes. */
  maxSize: number;
  /** Base URL of this server as clients reach it; set later when only the listen address tells it. */
  baseUrl?: string;
}

const isErrno = (e: unknown, ...codes: string[]) =>
  typeof e === 'object' && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? '');

export const tooLarge = (max: number) =>
  new AppError(ErrorCode.PayloadTooLarge, 413, `object larger than the limit of ${max} bytes`);

export class FsStore implements ObjectStore {
  readonly bucket: string;
  readonly maxSize: number;
  readonly signer: UrlSigner;
  baseUrl: string;
  /** Called after every completed put (the object event source of the embedded store). */
  onPut: ((info: ObjectInfo) => Promise<void>) | undefined;
  private readonly dataRoot: string;
  private readonly metaRoot: string;
  private readonly tmpRoot: string;

  constructor(opts: FsStoreOptions) {
    this.bucket = opts.bucket;
    this.maxSize = opts.maxSize;
    this.signer = opts.signer;
    this.baseUrl = opts.baseUrl ?? 'http://127.0.0.1';
    this.dataRoot = path.join(opts.root, opts.bucket);
    this.metaRoot = path.join(opts.root, '.meta', opts.bucket);
    this.tmpRoot = path.join(opts.root, '.tmp');
  }

  /** Resolves a key to its file, refusing anything that would leave the bucket's directory. */
  private file(key: string): string {
    const problem = keyProblem(key);
    if (problem !== null) throw badRequest(`key ${problem}`);
    const file = path.resolve(this.dataRoot, ...key.split('/'));
    if (!file.startsWith(this.dataRoot + path.sep)) throw badRequest('key escapes the bucket');
    return file;
  }

  private sidecar(key: string): string {
    return path.join(this.metaRoot, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  async ready(): Promise<void> {
    await mkdir(this.dataRoot, { recursive: true });
    await mkdir(this.metaRoot, { recursive: true });
    await mkdir(this.tmpRoot, { recursive: true });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const file = this.file(key);
    let st;
    try {
      st = await stat(file);
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return null;
      throw e;
    }
    if (!st.isFile()) return null;
    try {
      const meta = JSON.parse(await readFile(this.sidecar(key), 'utf8')) as Sidecar;
      if (meta.size === st.size) return toInfo(meta);
    } catch (e) {
      if (!isErrno(e, 'ENOENT') && !(e instanceof SyntaxError)) throw e;
    }
    // A file without (or with a stale) sidecar, e.g. copied in by hand: describe it now.
    const hash = createHash('md5');
    await pipeline(createReadStream(file), hash);
    const meta: Sidecar = {
      key,
      size: st.size,
      etag: hash.digest('hex'),
      lastModified: st.mtime.toISOString(),
    };
    await this.writeSidecar(meta);
    return toInfo(meta);
  }

  async open(key: string): Promise<Readable | null> {
    const file = this.file(key);
    const stream = createReadStream(file);
    return new Promise((resolve, reject) => {
      stream.once('open', () => resolve(stream));
      stream.once('error', (e) => (isErrno(e, 'ENOENT', 'ENOTDIR', 'EISDIR') ? resolve(null) : reject(e)));
    });
  }

  async linkTo(key: string, dest: string): Promise<boolean> {
    try {
      await link(this.file(key), dest);
      return true;
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR', 'EXDEV', 'EPERM', 'EMLINK')) return false;
      throw e;
    }
  }

  async put(
    key: string,
    body: Buffer | Readable,
    opts: { contentType?: string; size?: number } = {},
  ): Promise<ObjectInfo> {
    const file = this.file(key);
    if (opts.size !== undefined && opts.size > this.maxSize) throw tooLarge(this.maxSize);
    await mkdir(this.tmpRoot, { recursive: true });
    const tmp = path.join(this.tmpRoot, randomUUID());
    const hash = createHash('md5');
    let size = 0;
    const max = this.maxSize;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) return done(tooLarge(max));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      await pipeline(source, meter, createWriteStream(tmp));
      if (opts.size !== undefined && size !== opts.size) {
        throw badRequest(`expected ${opts.size} bytes, received ${size}`);
      }
      await mkdir(path.dirname(file), { recursive: true });
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      if (isErrno(e, 'EISDIR', 'ENOTDIR', 'EEXIST', 'ENOTEMPTY')) {
        throw conflict(`key ${key} conflicts with an existing folder or object of that name`);
      }
      throw e;
    }
    const meta: Sidecar = {
      key,
      size,
      etag: hash.digest('hex'),
      // The file's own time, which `head` also falls back to before the sidecar exists: a rescan
      // between the rename and the sidecar then names the same version.
      lastModified: (await stat(file)).mtime.toISOString(),
      ...(opts.contentType ? { contentType: opts.contentType } : {}),
    };
    await this.writeSidecar(meta);
    const info = toInfo(meta);
    await this.onPut?.(info);
    return info;
  }

  private async writeSidecar(meta: Sidecar): Promise<void> {
    await mkdir(this.metaRoot, { recursive: true });
    const tmp = path.join(this.tmpRoot, `${randomUUID()}.json`);
    await mkdir(this.tmpRoot, { recursive: true });
    await writeFile(tmp, JSON.stringify(meta));
    await rename(tmp, this.sidecar(meta.key));
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      await rm(file);
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR', 'EISDIR')) return;
      throw e;
    }
    await rm(this.sidecar(key), { force: true });
    // Remove folders left empty, so that their names can become object keys again.
    for (let dir = path.dirname(file); dir.startsWith(this.dataRoot + path.sep); dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // Walk only the deepest folder the prefix fully names.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    if (base !== '' && keyProblem(base) !== null) return [];
    const keys: string[] = [];
    const walk = async (dir: string, rel: string) => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isErrno(e, 'ENOENT', 'ENOTDIR')) return;
        throw e;
      }
      for (const entry of entries) {
        const key = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix))
            await walk(path.join(dir, entry.name), key);
        } else if (entry.isFile() && key.startsWith(prefix) && keyProblem(key) === null) {
          keys.push(key);
        }
      }
    };
    await walk(base === '' ? this.dataRoot : path.join(this.dataRoot, ...base.split('/')), base);
    keys.sort();
    const out: ObjectInfo[] = [];
    for (const key of keys) {
      const info = await this.head(key);
      if (info) out.push(info);
    }
    return out;
  }

  private url(method: 'GET' | 'PUT', key: string, expiresIn: number): PresignedUrl {
    this.file(key);
    const expires = Math.floor(Date.now() / 1000) + expiresIn;
    const signature = this.signer.sign(method, key, expires);
    return {
      url: `${this.baseUrl}/storage/blob/${encodeKey(key)}?expires=${expires}&signature=${signature}`,
      expiresIn,
    };
  }

  async presignUpload(key: string, expiresIn: number): Promise<PresignedUrl> {
    return this.url('PUT', key, expiresIn);
  }

  async presignDownload(key: string, expiresIn: number): Promise<PresignedUrl> {
    return this.url('GET', key, expiresIn);
  }
}

function toInfo(meta: Sidecar): ObjectInfo {
  return {
    key: meta.key,
    size: meta.size,
    etag: meta.etag,
    lastModified: new Date(meta.lastModified),
    ...(meta.contentType ? { contentType: meta.contentType } : {}),
  };
}
