import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import { ok, type RouteContext } from '../envelope.ts';
import { FACE_CATALOGUE } from '../faces-catalogue.ts';
import {
  CatalogueEntry,
  Deleted,
  Envelope,
  Face,
  FaceFilters,
  FacesCreate,
  IdParams,
  Uuid,
} from '../schemas.ts';

export function faceRoutes(http: Http, { service, auth }: RouteContext) {
  const tags = ['archery: faces'];
  const TargetParams = Type.Object({ tid: Uuid }, { additionalProperties: false });
  http.get(
    '/target/:tid/face',
    {
      config: { auth: auth.read },
      schema: { tags, params: TargetParams, response: { 200: Envelope(Type.Array(Face)) } },
    },
    async (req) => {
      await service.getTarget(req.params.tid);
      return ok(await service.listFaces({ target_id: req.params.tid }));
    },
  );
  http.post(
    '/target/:tid/face',
    {
      config: { auth: auth.write },
      schema: {
        tags,
        description: '1–3 faces, or `{catalogue_id, x?, y?}` to place a World Archery face (all its spots).',
        params: TargetParams,
        body: FacesCreate,
        response: { 201: Envelope(Type.Array(Face)) },
      },
    },
    async (req, reply) =>
      reply.status(201).send(ok(await service.createFaces(req.params.tid, req.body), 201)),
  );
  http.get(
    '/face',
    {
      config: { auth: auth.read },
      schema: { tags, querystring: FaceFilters, response: { 200: Envelope(Type.Array(Face)) } },
    },
    async (req) => ok(await service.listFaces(req.query)),
  );
  http.get(
    '/face/calibrate',
    {
      config: { auth: auth.read },
      schema: {
        tags,
        description: "The faces of the open session's target (centres and rings) for sensor calibration.",
        response: { 200: Envelope(Type.Array(Face)) },
      },
    },
    async () => ok((await service.calibration()).faces),
  );
  http.get(
    '/face/catalogue',
    {
      config: { auth: auth.read },
      schema: {
        tags,
        description: 'World Archery target faces.',
        response: { 200: Envelope(Type.Array(CatalogueEntry)) },
      },
    },
    async () => ok([...FACE_CATALOGUE]),
  );
  http.delete(
    '/face/:id',
    { config: { auth: auth.write }, schema: { tags, params: IdParams, response: { 200: Deleted } } },
    async (req) => ok(await service.deleteFace(req.params.id)),
  );
}
