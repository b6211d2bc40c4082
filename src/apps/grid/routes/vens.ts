import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import {
  AckJson,
  History,
  HistoryQuery,
  Load,
  LoadParams,
  SendEventBody,
  ShedBody,
  Ven,
  VenCreate,
  VenParams,
  VenPatch,
} from '../schemas.ts';
import type { GridService } from '../service.ts';

export function venRoutes(http: Http, svc: GridService) {
  const tags = ['grid: VENs'];
  const user = { auth: 'user' as const };
  const admin = { auth: 'admin' as const };
  http.get(
    '/vens',
    { config: user, schema: { tags, summary: 'All VENs', response: { 200: Type.Array(Ven) } } },
    () => svc.listVens(),
  );
  http.post(
    '/vens',
    { config: admin, schema: { tags, summary: 'Register a VEN', body: VenCreate, response: { 201: Ven } } },
    async (req, reply) => reply.status(201).send(await svc.createVen(req.body)),
  );
  http.get('/vens/summary', { config: user, schema: { tags, summary: 'VENs, compact' } }, () =>
    svc.summary(),
  );
  http.get(
    '/vens/:venId',
    { config: user, schema: { tags, summary: 'One VEN', params: VenParams, response: { 200: Ven } } },
    (req) => svc.getVen(req.params.venId),
  );
  http.patch(
    '/vens/:venId',
    {
      config: admin,
      schema: { tags, summary: 'Update a VEN', params: VenParams, body: VenPatch, response: { 200: Ven } },
    },
    (req) => svc.patchVen(req.params.venId, req.body),
  );
  http.delete(
    '/vens/:venId',
    { config: admin, schema: { tags, summary: 'Delete a VEN and its telemetry', params: VenParams } },
    async (req, reply) => {
      await svc.deleteVen(req.params.venId);
      return reply.status(204).send();
    },
  );
  http.get(
    '/vens/:venId/loads',
    {
      config: user,
      schema: {
        tags,
        summary: 'Loads of a VEN (latest report)',
        params: VenParams,
        response: { 200: Type.Array(Load) },
      },
    },
    (req) => svc.loads(req.params.venId),
  );
  http.get(
    '/vens/:venId/loads/:loadId',
    { config: user, schema: { tags, summary: 'One load', params: LoadParams, response: { 200: Load } } },
    (req) => svc.load(req.params.venId, req.params.loadId),
  );
  http.post(
    '/vens/:venId/loads/:loadId/commands/shed',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Publish a shed command for one load to the VEN',
        params: LoadParams,
        body: ShedBody,
      },
    },
    async (req, reply) =>
      reply.status(202).send(await svc.shedLoad(req.params.venId, req.params.loadId, req.body.amountKw)),
  );
  http.get(
    '/vens/:venId/history',
    {
      config: user,
      schema: {
        tags,
        summary: 'Power history of one VEN',
        params: VenParams,
        querystring: HistoryQuery,
        response: { 200: History },
      },
    },
    (req) => svc.history(req.query, { venId: req.params.venId }),
  );
  http.get(
    '/vens/:venId/loads/:loadId/history',
    {
      config: user,
      schema: {
        tags,
        summary: 'Power history of one load',
        params: LoadParams,
        querystring: HistoryQuery,
        response: { 200: History },
      },
    },
    (req) => svc.history(req.query, { venId: req.params.venId, loadId: req.params.loadId }),
  );
  http.get(
    '/vens/:venId/events',
    {
      config: user,
      schema: {
        tags,
        summary: 'Acknowledgements of a VEN, newest first',
        params: VenParams,
        querystring: Type.Object(
          {
            start: Type.Optional(Type.String({ format: 'date-time' })),
            end: Type.Optional(Type.String({ format: 'date-time' })),
            limit: Type.Integer({ minimum: 1, maximum: 5000, default: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(AckJson) },
      },
    },
    (req) => svc.venEvents(req.params.venId, req.query),
  );
  http.get(
    '/vens/:venId/circuits/history',
    {
      config: user,
      schema: {
        tags,
        summary: 'Circuit snapshots: the newest `limit` in the window, ascending',
        params: VenParams,
        querystring: Type.Object(
          {
            loadId: Type.Optional(Type.String({ maxLength: 128 })),
            start: Type.Optional(Type.String({ format: 'date-time' })),
            end: Type.Optional(Type.String({ format: 'date-time' })),
            limit: Type.Integer({ minimum: 1, maximum: 5000, default: 1000 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    (req) => svc.circuits(req.params.venId, req.query),
  );
  http.get(
    '/vens/:venId/telemetry',
    {
      config: user,
      schema: {
        tags,
        summary: 'Recent readings of a VEN, newest first',
        params: VenParams,
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) },
          { additionalProperties: false },
        ),
      },
    },
    (req) => svc.telemetry(req.params.venId, req.query.limit),
  );
  http.get(
    '/vens/:venId/shadow',
    {
      config: user,
      schema: { tags, summary: 'Last reported and desired state of a VEN', params: VenParams },
    },
    (req) => svc.shadow(req.params.venId),
  );
  http.post(
    '/vens/:venId/send-event',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Send an event command to one VEN now (recorded in the dispatch state; restored at the end)',
        params: VenParams,
        body: SendEventBody,
      },
    },
    async (req, reply) => reply.status(202).send(await svc.sendEvent(req.params.venId, req.body)),
  );
}
