/** `/bench/jobs`: the caller's profiles (admins: all), one profile, reprocess, delete. */
import type { Http, Platform } from '../../../platform/app.ts';
import { unauthorized } from '../../../platform/errors.ts';
import type { Principal } from '../../../platform/auth/port.ts';
import { JobDetail, JobIdParams, JobList, ListQuery, ReprocessResponse } from '../schemas.ts';
import * as service from '../service.ts';
import * as store from '../store.ts';

const tags = ['bench'];

export function caller(req: { principal?: Principal }): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}

export function registerJobRoutes(http: Http, platform: Platform) {
  http.get(
    '/jobs',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Profiles of the caller (admins: everyone’s)',
        querystring: ListQuery,
        response: { 200: JobList },
      },
    },
    async (req) => {
      const rows = await store.list(
        platform.db,
        service.scopeOf(caller(req)),
        req.query.limit,
        req.query.offset,
      );
      return { jobs: rows.map(service.presentJob) };
    },
  );

  http.get(
    '/jobs/:id',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Summary of a job: energy, time, power, EDP, cost, per node, with processing status and log',
        params: JobIdParams,
        response: { 200: JobDetail },
      },
    },
    async (req) => {
      const row = await service.getJob(platform, req.params.id, service.scopeOf(caller(req)));
      return service.jobDetail(platform, row);
    },
  );

  http.post(
    '/jobs/:id/reprocess',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Process the job’s file again',
        params: JobIdParams,
        response: { 202: ReprocessResponse },
      },
    },
    async (req, reply) => {
      const row = await service.getJob(platform, req.params.id, service.scopeOf(caller(req)));
      const queueJobId = await service.reprocess(platform, row);
      return reply.status(202).send({ job_id: row.job_id, queue_job_id: queueJobId, status: 'queued' });
    },
  );

  http.delete(
    '/jobs/:id',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Delete the job’s rows and view (the file stays in storage)',
        params: JobIdParams,
      },
    },
    async (req, reply) => {
      const row = await service.getJob(platform, req.params.id, service.scopeOf(caller(req)));
      await service.remove(platform, row);
      return reply.status(204).send();
    },
  );
}
