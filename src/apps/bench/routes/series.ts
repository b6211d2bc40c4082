/** `/bench/jobs/{id}/series`: sample columns per node, downsampled in SQL for charts. */
import type { Http, Platform } from '../../../platform/app.ts';
import { JobIdParams, SeriesQuery, SeriesResponse } from '../schemas.ts';
import * as service from '../service.ts';
import { caller } from './jobs.ts';

export function registerSeriesRoutes(http: Http, platform: Platform) {
  http.get(
    '/jobs/:id/series',
    {
      config: { auth: 'user' },
      schema: {
        tags: ['bench'],
        summary: 'Time series of a job, at most maxPoints per node (bucket averages)',
        params: JobIdParams,
        querystring: SeriesQuery,
        response: { 200: SeriesResponse },
      },
    },
    async (req) => {
      const row = await service.getJob(platform, req.params.id, service.scopeOf(caller(req)));
      return service.jobSeries(platform, row, req.query.columns, req.query.maxPoints);
    },
  );
}
