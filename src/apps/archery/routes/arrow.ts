import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import { ok, type RouteContext } from '../envelope.ts';
import {
  Arrow,
  ArrowCreate,
  ArrowFilters,
  ArrowPatch,
  Deleted,
  Envelope,
  IdParams,
  Uuid,
} from '../schemas.ts';

export function arrowRoutes(http: Http, { service, auth }: RouteContext) {
  const tags = ['archery: arrows'];
  http.get(
    '/arrow',
    {
      config: { auth: auth.read },
      schema: { tags, querystring: ArrowFilters, response: { 200: Envelope(Type.Array(Arrow)) } },
    },
    async (req) => ok(await service.listArrows(req.query)),
  );
  http.get(
    '/arrow/new_arrow_uuid',
    {
      config: { auth: auth.read },
      schema: { tags, response: { 200: Envelope(Type.Object({ arrow_uuid: Uuid })) } },
    },
    async () => ok(service.newArrowUuid()),
  );
  http.post(
    '/arrow',
    {
      config: { auth: auth.write },
      schema: { tags, body: ArrowCreate, response: { 201: Envelope(Type.Object({ id: Uuid })) } },
    },
    async (req, reply) => reply.status(201).send(ok(await service.createArrow(req.body), 201)),
  );
  http.get(
    '/arrow/:id',
    { config: { auth: auth.read }, schema: { tags, params: IdParams, response: { 200: Envelope(Arrow) } } },
    async (req) => ok(await service.getArrow(req.params.id)),
  );
  http.patch(
    '/arrow/:id',
    {
      config: { auth: auth.write },
      schema: { tags, params: IdParams, body: ArrowPatch, response: { 200: Envelope(Arrow) } },
    },
    async (req) => ok(await service.patchArrow(req.params.id, req.body)),
  );
  http.delete(
    '/arrow/:id',
    { config: { auth: auth.write }, schema: { tags, params: IdParams, response: { 200: Deleted } } },
    async (req) => ok(await service.deleteArrow(req.params.id)),
  );
}
