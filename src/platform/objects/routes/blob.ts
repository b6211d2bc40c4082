/**
 * The embedded store's own presigned URLs: `PUT|GET|HEAD /storage/blob/<key>?expires=&signature=`.
 * The signature is the credential (route auth `public`); a tampered, expired or wrong-method URL
 * gets 403. Bodies are streamed to disk, never buffered, and bounded by OBJECTS_MAX_SIZE.
 */
import type { Http } from '../../app.ts';
import { forbidden, notFound } from '../../errors.ts';
import type { FsStore } from '../fs-store.ts';
import { tooLarge } from '../fs-store.ts';
import { BlobQuery } from '../schemas.ts';

function checkSignature(
  store: FsStore,
  method: string,
  key: string,
  q: { expires: string; signature: string },
) {
  const verdict = store.signer.verify(method, key, q.expires, q.signature, Math.floor(Date.now() / 1000));
  if (verdict === 'expired') throw forbidden('this URL has expired');
  if (verdict !== 'ok') throw forbidden('invalid signature');
}

export async function registerBlobRoutes(http: Http, store: FsStore): Promise<void> {
  await http.register(async (plugin) => {
    const scope = plugin as unknown as Http;
    // Any content type, read by the handler as a stream (no parsing, no buffering).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));

    scope.put(
      '/storage/blob/*',
      {
        config: { auth: 'public' },
        schema: { hide: true, querystring: BlobQuery },
      },
      async (req, reply) => {
        const key = (req.params as Record<string, string>)['*'] ?? '';
        checkSignature(store, 'PUT', key, req.query);
        const declared = req.headers['content-length'];
        const size = declared === undefined ? undefined : Number(declared);
        if (size !== undefined && size > store.maxSize) {
          reply.header('connection', 'close'); // do not read a body we refuse
          throw tooLarge(store.maxSize);
        }
        const type = req.headers['content-type'];
        const info = await store.put(key, req.raw, {
          ...(type ? { contentType: type } : {}),
          ...(size !== undefined ? { size } : {}),
        });
        return reply.status(200).header('etag', `"${info.etag}"`).send();
      },
    );

    scope.get(
      '/storage/blob/*',
      {
        config: { auth: 'public' },
        schema: { hide: true, querystring: BlobQuery },
      },
      async (req, reply) => {
        const key = (req.params as Record<string, string>)['*'] ?? '';
        checkSignature(store, req.method, key, req.query);
        const info = await store.head(key);
        if (!info) throw notFound(`object ${key}`);
        void reply
          .header('content-type', info.contentType ?? 'application/octet-stream')
          .header('content-length', String(info.size))
          .header('etag', `"${info.etag}"`)
          .header('last-modified', info.lastModified.toUTCString());
        const body = await store.open(key);
        if (!body) throw notFound(`object ${key}`);
        return reply.send(body);
      },
    );
  });
}
