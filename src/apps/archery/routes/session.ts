import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import { ok, type RouteContext } from '../envelope.ts';
import {
  Deleted,
  Envelope,
  IdParams,
  Session,
  SessionCreate,
  SessionFilters,
  SessionPatch,
} from '../schemas.ts';

export function sessionRoutes(http: Http, { service, auth }: RouteContext) {
  const tags = ['archery: sessions'];
  http.get(
    '/session',
    {
      config: { auth: auth.read },
      schema: { tags, querystring: SessionFilters, response: { 200: Envelope(Type.Array(Session)) } },
    },
    async (req) => ok(await service.listSessions(req.query)),
  );
  http.post(
    '/session',
    {
      config: { auth: auth.write },
      schema: { tags, body: SessionCreate, response: { 201: Envelope(Session) } },
    },
    async (req, reply) => reply.status(201).send(ok(await service.createSession(req.body), 201)),
  );
  http.get(
    '/session/open',
    { config: { auth: auth.read }, schema: { tags, response: { 200: Envelope(Session) } } },
    async () => ok(await service.openSession()),
  );
  http.get(
    '/session/:id',
    { config: { auth: auth.read }, schema: { tags, params: IdParams, response: { 200: Envelope(Session) } } },
    async (req) => ok(await service.getSession(req.params.id)),
  );
  http.patch(
    '/session/:id',
    {
      config: { auth: auth.write },
      schema: { tags, params: IdParams, body: SessionPatch, response: { 200: Envelope(Session) } },
    },
    async (req) => ok(await service.patchSession(req.params.id, req.body)),
  );
  http.delete(
    '/session/:id',
    { config: { auth: auth.write }, schema: { tags, params: IdParams, response: { 200: Deleted } } },
    async (req) => ok(await service.deleteSession(req.params.id)),
  );
}
