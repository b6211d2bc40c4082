/**
 * The seed's storage routes. Keys are `<username>/<object_name>`: a user acts on their own
 * prefix only; an admin lists the whole bucket and may name another prefix with `owner`.
 */
import { Type } from 'typebox';
import type { Http } from '../../app.ts';
import type { Principal } from '../../auth/port.ts';
import { badRequest, forbidden, notFound } from '../../errors.ts';
import { keyProblem, userKey } from '../keys.ts';
import type { ObjectStore } from '../port.ts';
import { ListQuery, ObjectList, ObjectNameQuery, Presigned } from '../schemas.ts';

const tags = ['storage'];

function keyFor(p: Principal, objectName: string, owner: string | undefined): string {
  if (owner !== undefined && owner !== p.username && p.role !== 'admin') {
    throw forbidden('only admins may act on another user’s objects');
  }
  const r = userKey(owner ?? p.username, objectName);
  if ('problem' in r) throw badRequest(r.problem);
  return r.key;
}

export function registerStorageRoutes(http: Http, store: ObjectStore, expiresIn: number) {
  http.post(
    '/storage/presign/upload',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'A URL to PUT an object to (plain HTTP PUT of the bytes)',
        querystring: ObjectNameQuery,
        response: { 200: Presigned },
      },
    },
    async (req) => {
      const key = keyFor(req.principal!, req.query.object_name, req.query.owner);
      const { url } = await store.presignUpload(key, expiresIn);
      return { key, url, expires_in: expiresIn };
    },
  );

  http.get(
    '/storage/presign/download',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'A URL to GET an object from; 404 when it does not exist',
        querystring: ObjectNameQuery,
        response: { 200: Presigned },
      },
    },
    async (req) => {
      const key = keyFor(req.principal!, req.query.object_name, req.query.owner);
      if ((await store.head(key)) === null) throw notFound(`object ${key}`);
      const { url } = await store.presignDownload(key, expiresIn);
      return { key, url, expires_in: expiresIn };
    },
  );

  http.get(
    '/storage/list',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'The caller’s objects (admins: all)',
        querystring: ListQuery,
        response: { 200: ObjectList },
      },
    },
    async (req) => {
      const p = req.principal!;
      const prefix = req.query.prefix ?? '';
      if (prefix !== '') {
        const problem = keyProblem(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
        if (problem !== null) throw badRequest(`prefix ${problem}`);
      }
      const objects = await store.list(p.role === 'admin' ? prefix : `${p.username}/${prefix}`);
      return {
        objects: objects.map((o) => ({
          key: o.key,
          size: o.size,
          last_modified: o.lastModified.toISOString(),
        })),
      };
    },
  );

  http.delete(
    '/storage/objects',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Delete an object (no error when absent)',
        querystring: ObjectNameQuery,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await store.delete(keyFor(req.principal!, req.query.object_name, req.query.owner));
      return reply.status(204).send(null);
    },
  );
}
