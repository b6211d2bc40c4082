/**
 * `POST /minio-event`: S3 event notifications (MinIO's webhook target, or AWS via a relay).
 * Authenticated with the shared MINIO_EVENT_TOKEN (`service` route). Keys arrive URL-encoded
 * (`+` for spaces). Each object-created record is announced as an object event; the reply says
 * which objects some subscriber wanted, and how many per subscriber. 400 when the notification
 * has no object-created record, or when no subscriber wants any of its objects (bench, for
 * instance, only wants `.h5` files: anything else is the sender's misconfiguration).
 */
import type { Http } from '../../app.ts';
import { AppError, ErrorCode, badRequest } from '../../errors.ts';
import type { ObjectEventHub } from '../events.ts';
import { keyProblem } from '../keys.ts';
import { bareEtag, type ObjectStore } from '../port.ts';
import { S3Notification, WebhookReply } from '../schemas.ts';

/** S3 encodes keys in notifications like a form value: `+` is a space, the rest %-escaped. */
export function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, '%20'));
  } catch {
    return key;
  }
}

export function registerWebhookRoute(http: Http, store: ObjectStore, hub: ObjectEventHub) {
  http.post(
    '/minio-event',
    {
      config: { auth: 'service' },
      schema: {
        tags: ['storage'],
        summary: 'S3/MinIO bucket notification webhook (Authorization: Bearer MINIO_EVENT_TOKEN)',
        body: S3Notification,
        response: { 202: WebhookReply },
      },
    },
    async (req, reply) => {
      const records = (req.body.Records ?? []).filter(
        (r) => r.s3?.object !== undefined && (r.eventName ?? 'ObjectCreated').includes('ObjectCreated'),
      );
      if (records.length === 0) throw badRequest('the notification has no object-created record');
      const objects: { bucket: string; object: string }[] = [];
      const subscribers: Record<string, number> = {};
      for (const r of records) {
        const bucket = r.s3?.bucket?.name ?? store.bucket;
        const key = decodeS3Key(r.s3?.object?.key ?? '');
        if (bucket !== store.bucket || keyProblem(key) !== null) {
          req.log.warn({ bucket, key }, 'notification for an object outside the bucket ignored');
          continue;
        }
        if (hub.interestedIn(key).length === 0) continue;
        // What the store holds now, not what the record says: a late or repeated notification
        // then names the current version (already handled, or about to be), never an older one,
        // and the write time that tells versions apart comes from the store like the rescan's.
        const info = await store.head(key);
        if (!info) continue; // already deleted again: nothing to handle
        const announced = await hub.announce(
          { bucket, key, size: info.size, etag: bareEtag(info.etag), lastModified: info.lastModified },
          'webhook',
        );
        if (announced.subscribers.length === 0) continue;
        objects.push({ bucket, object: key });
        for (const s of announced.subscribers) subscribers[s] = (subscribers[s] ?? 0) + 1;
      }
      if (objects.length === 0) {
        throw new AppError(
          ErrorCode.BadRequest,
          400,
          'no object in the notification is wanted by any subscriber',
          {
            extra: { accepted: 0, objects: [] },
          },
        );
      }
      return reply.status(202).send({ accepted: objects.length, objects, subscribers });
    },
  );
}
