/**
 * Builds the object storage part from the configuration: the embedded store (files under
 * `<dataDir>/objects`) or the S3 one, the object event hub, and their routes.
 */
import { createHmac } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Http } from '../app.ts';
import type { PgDatabase } from '../db/pg-database.ts';
import { ObjectEventHub } from './events.ts';
import { FsStore } from './fs-store.ts';
import type { ObjectStore } from './port.ts';
import { registerBlobRoutes } from './routes/blob.ts';
import { registerStorageRoutes } from './routes/storage.ts';
import { registerWebhookRoute } from './routes/webhook.ts';
import { UrlSigner } from './signing.ts';

export { ObjectEventHub } from './events.ts';
export { FsStore } from './fs-store.ts';

export interface Objects {
  store: ObjectStore;
  events: ObjectEventHub;
}

/**
 * `jwtSecret` seeds the URL signing key when OBJECTS_SIGNING_SECRET is not set. The S3 adapter (and
 * the AWS SDK behind it) is loaded only when configured: it is a large share of start-up otherwise.
 */
export async function createObjects(
  config: Config,
  db: PgDatabase,
  log: Logger,
  jwtSecret: string,
): Promise<Objects> {
  const c = config.objects;
  let store: ObjectStore;
  if (c.kind === 's3') {
    const { S3Store } = await import('./s3-store.ts');
    store = new S3Store({ bucket: c.bucket, maxSize: c.maxSize, ...c.s3 });
  } else {
    // A key of its own, so that URL signatures and JWTs never share one.
    const secret = c.signingSecret ?? createHmac('sha256', jwtSecret).update('conflux object urls').digest();
    store = new FsStore({
      root: path.join(config.dataDir, 'objects'),
      bucket: c.bucket,
      signer: new UrlSigner(secret),
      maxSize: c.maxSize,
      ...(c.publicUrl ? { baseUrl: c.publicUrl } : {}),
    });
  }
  const events = new ObjectEventHub({ db, store, log: log.child({ part: 'objects' }) });
  if (store instanceof FsStore) {
    store.onPut = async (info) => {
      // The upload itself succeeded; a failed announcement is picked up by the rescan.
      await events
        .announce(
          {
            bucket: store.bucket,
            key: info.key,
            size: info.size,
            etag: info.etag,
            lastModified: info.lastModified,
          },
          'store',
        )
        .catch((e: unknown) => log.error({ err: e, key: info.key }, 'object event announcement failed'));
    };
  }
  return { store, events };
}

export async function registerObjectRoutes(http: Http, objects: Objects, config: Config): Promise<void> {
  registerStorageRoutes(http, objects.store, config.objects.presignExpiresSeconds);
  registerWebhookRoute(http, objects.store, objects.events);
  if (objects.store instanceof FsStore) await registerBlobRoutes(http, objects.store);
}
