import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import { ok, type RouteContext } from '../envelope.ts';
import {
  Calibration,
  Deleted,
  Envelope,
  IdParams,
  Target,
  TargetCreate,
  TargetFilters,
  TargetPatch,
  Uuid,
} from '../schemas.ts';

export function targetRoutes(http: Http, { service, auth }: RouteContext) {
  const tags = ['archery: targets'];
  http.get(
    '/target',
    {
      config: { auth: auth.read },
      schema: { tags, querystring: TargetFilters, response: { 200: Envelope(Type.Array(Target)) } },
    },
    async (req) => ok(await service.listTargets(req.query)),
  );
  http.post(
    '/target',
    {
      config: { auth: auth.write },
      schema: { tags, body: TargetCreate, response: { 201: Envelope(Target) } },
    },
    async (req, reply) => reply.status(201).send(ok(await service.createTarget(req.body), 201)),
  );
  http.get(
    '/target/calibrate',
    {
      config: { auth: auth.read },
      schema: {
        tags,
        description: "The open session's target and its faces: what a target sensor calibrates against.",
        response: { 200: Envelope(Calibration) },
      },
    },
    async () => ok(await service.calibration()),
  );
  http.get(
    '/target/session-id/:sid',
    {
      config: { auth: auth.read },
      schema: {
        tags,
        params: Type.Object({ sid: Uuid }, { additionalProperties: false }),
        response: { 200: Envelope(Target) },
      },
    },
    async (req) => ok(await service.targetOfSession(req.params.sid)),
  );
  http.get(
    '/target/:id',
    { config: { auth: auth.read }, schema: { tags, params: IdParams, response: { 200: Envelope(Target) } } },
    async (req) => ok(await service.getTarget(req.params.id)),
  );
  http.patch(
    '/target/:id',
    {
      config: { auth: auth.write },
      schema: { tags, params: IdParams, body: TargetPatch, response: { 200: Envelope(Target) } },
    },
    async (req) => ok(await service.patchTarget(req.params.id, req.body)),
  );
  http.delete(
    '/target/:id',
    { config: { auth: auth.write }, schema: { tags, params: IdParams, response: { 200: Deleted } } },
    async (req) => ok(await service.deleteTarget(req.params.id)),
  );
}
