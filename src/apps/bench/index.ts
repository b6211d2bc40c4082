/**
 * The `bench` app: HDF5 energy profiles of compute jobs, uploaded to storage, become clean time
 * series and summaries (energy, time, power, EDP, cost) in PostgreSQL, served under `/bench`.
 */
import type { AppManifest } from '../../platform/app.ts';
import { PermanentJobError } from '../../platform/jobs/port.ts';
import { registerIngestCommand } from './ingest.ts';
import { init } from './migrations/001-init.ts';
import { sampleSets } from './migrations/002-sample-sets.ts';
import { PriceSource } from './prices.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerSeriesRoutes } from './routes/series.ts';
import {
  PROCESS_JOB,
  isProfileKey,
  onProfileObject,
  processProfile,
  type ProcessPayload,
} from './service.ts';
import * as store from './store.ts';
import { registerSimulator } from './simulator.ts';

export const bench: AppManifest = {
  name: 'bench',
  prefix: '/bench',
  migrations: [init, sampleSets],
  routes(http, platform) {
    registerJobRoutes(http, platform);
    registerSeriesRoutes(http, platform);
  },
  start(platform) {
    platform.objectEvents.subscribe('bench', isProfileKey, (event, tx) =>
      onProfileObject(platform, event, tx),
    );
    return Promise.resolve(undefined);
  },
  jobs(platform) {
    const prices = new PriceSource(platform.config.bench.priceSource, platform.objects);
    return {
      [PROCESS_JOB]: async (payload, ctx) => {
        const p = payload as ProcessPayload;
        try {
          await processProfile(platform, prices, p, ctx);
        } catch (e) {
          if (e instanceof PermanentJobError) throw e;
          // storage or database trouble: retried; the row says so, and fails with the last attempt
          const row = await store.byObject(platform.db, p.bucket, p.key);
          if (row && row.etag === p.etag) {
            const last = ctx.attempt >= ctx.maxAttempts;
            const message = `attempt ${ctx.attempt} failed: ${(e as Error).message}`;
            await store.setStatus(platform.db, row.id, last ? 'failed' : 'queued', message);
          }
          throw e;
        }
      },
    };
  },
  commands(program, open) {
    registerIngestCommand(program, open, (platform) => bench.jobs?.(platform) ?? {});
  },
  simulator: registerSimulator,
};
