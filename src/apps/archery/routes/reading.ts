import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import { ok, type RouteContext } from '../envelope.ts';
import {
  Envelope,
  IdParams,
  Reading,
  ReadingBow,
  ReadingCreate,
  ReadingQuery,
  ReadingTarget,
} from '../schemas.ts';

/**
 * The sensor processes' API when they run away from the database (`--api`): the same readings
 * table they would write directly, one stage per sensor.
 */
export function readingRoutes(http: Http, { service, auth }: RouteContext) {
  const tags = ['archery: sensor readings'];
  http.post(
    '/shot_reading',
    {
      config: { auth: auth.write },
      schema: {
        tags,
        description: 'Arrow reader: an arrow was nocked.',
        body: ReadingCreate,
        response: { 201: Envelope(Reading) },
      },
    },
    async (req, reply) =>
      reply.status(201).send(ok(await service.createReading(req.body.session_id, req.body.arrow_id), 201)),
  );
  http.get(
    '/shot_reading',
    {
      config: { auth: auth.read },
      schema: {
        tags,
        description: 'Readings waiting for the bow reader or the target reader.',
        querystring: ReadingQuery,
        response: { 200: Envelope(Type.Array(Reading)) },
      },
    },
    async (req) => ok(await service.pendingReadings(req.query.session_id, req.query.stage)),
  );
  http.put(
    '/shot_reading/:id/bow',
    {
      config: { auth: auth.write },
      schema: { tags, params: IdParams, body: ReadingBow, response: { 200: Envelope(Reading) } },
    },
    async (req) =>
      ok(await service.recordBow(req.params.id, req.body.arrow_engage_time, req.body.arrow_disengage_time)),
  );
  http.put(
    '/shot_reading/:id/target',
    {
      config: { auth: auth.write },
      schema: {
        tags,
        description:
          'Target reader: where the arrow landed, or all null for a miss; the shot is then stored.',
        params: IdParams,
        body: ReadingTarget,
        response: { 200: Envelope(Reading) },
      },
    },
    async (req) => {
      const { arrow_landing_time: time, x, y } = req.body;
      return ok(await service.recordTarget(req.params.id, { time, x, y }));
    },
  );
}
