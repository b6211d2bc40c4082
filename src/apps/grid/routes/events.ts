import { Type } from 'typebox';
import type { Http } from '../../../platform/app.ts';
import { Event, EventCreate, EventParams, Window } from '../schemas.ts';
import type { GridService } from '../service.ts';

export function eventRoutes(http: Http, svc: GridService) {
  const tags = ['grid: events'];
  const user = { auth: 'user' as const };
  const admin = { auth: 'admin' as const };
  http.get(
    '/events',
    { config: user, schema: { tags, summary: 'All events', response: { 200: Type.Array(Event) } } },
    () => svc.listEvents(),
  );
  http.get(
    '/events/current',
    { config: user, schema: { tags, summary: 'Events in progress', response: { 200: Type.Array(Event) } } },
    () => svc.currentEvents(),
  );
  http.get(
    '/events/history',
    {
      config: user,
      schema: {
        tags,
        summary: 'Events overlapping a window (default last 30 days)',
        querystring: Window,
        response: { 200: Type.Array(Event) },
      },
    },
    (req) => svc.eventHistory(req.query),
  );
  http.get(
    '/events/:id',
    { config: user, schema: { tags, summary: 'One event', params: EventParams, response: { 200: Event } } },
    (req) => svc.getEvent(req.params.id),
  );
  http.get(
    '/events/:id/metrics',
    {
      config: user,
      schema: {
        tags,
        summary: 'Reduction delivered (latest shed of each responding VEN), acks and response time',
        params: EventParams,
      },
    },
    (req) => svc.eventMetrics(req.params.id),
  );
  http.post(
    '/events',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Schedule a demand-response event',
        body: EventCreate,
        response: { 201: Event },
      },
    },
    async (req, reply) => reply.status(201).send(await svc.createEvent(req.body)),
  );
  http.post(
    '/events/:id/stop',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Stop an event: restore commands go to every VEN that got it',
        params: EventParams,
        response: { 202: Type.Object({ status: Type.Literal('stopping'), eventId: Type.String() }) },
      },
    },
    async (req, reply) => reply.status(202).send(await svc.stopEvent(req.params.id)),
  );
  http.delete(
    '/events/:id',
    { config: admin, schema: { tags, summary: 'Delete an event (not while active)', params: EventParams } },
    async (req, reply) => {
      await svc.deleteEvent(req.params.id);
      return reply.status(204).send();
    },
  );
}
