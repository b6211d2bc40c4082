import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import { ok, type RouteContext } from '../envelope.ts';
import {
  Deleted,
  Envelope,
  IdParams,
  PerformanceQuery,
  ScoredShot,
  Shot,
  ShotFilters,
  ShotsCreate,
  Uuid,
} from '../schemas.ts';

export function shotRoutes(http: Http, { service, auth }: RouteContext) {
  const tags = ['archery: shots'];
  http.get(
    '/shot',
    {
      config: { auth: auth.read },
      schema: { tags, querystring: ShotFilters, response: { 200: Envelope(Type.Array(Shot)) } },
    },
    async (req) => ok(await service.listShots(req.query)),
  );
  http.post(
    '/shot',
    {
      config: { auth: auth.write },
      schema: {
        tags,
        description: 'One shot or an array of shots (stored together or not at all); returns their ids.',
        body: ShotsCreate,
        response: { 201: Envelope(Type.Array(Uuid)) },
      },
    },
    async (req, reply) => reply.status(201).send(ok(await service.createShots(req.body), 201)),
  );
  http.delete(
    '/shot/:id',
    { config: { auth: auth.write }, schema: { tags, params: IdParams, response: { 200: Deleted } } },
    async (req) => ok(await service.deleteShot(req.params.id)),
  );
  http.get(
    '/session_performance',
    {
      config: { auth: auth.read },
      schema: {
        tags,
        description: 'Every shot of a session (default: the open one) with time of flight, speed and score.',
        querystring: PerformanceQuery,
        response: { 200: Envelope(Type.Array(ScoredShot)) },
      },
    },
    async (req) => ok(await service.performance(req.query.session_id)),
  );
}
