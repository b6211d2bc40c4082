/**
 * The archery app (seed 003): practice sessions, targets with faces, arrows and scored shots,
 * fed by three sensor processes and pushed live to browsers. Mounted at `/api/v0`.
 */
import type { AppManifest, Platform } from '../../platform/app.ts';
import { useEnvelope, type RouteContext } from './envelope.ts';
import { startShotFeed } from './live-shots.ts';
import { initMigration } from './migrations/001-init.ts';
import { arrowRoutes } from './routes/arrow.ts';
import { faceRoutes } from './routes/face.ts';
import { readingRoutes } from './routes/reading.ts';
import { sessionRoutes } from './routes/session.ts';
import { shotRoutes } from './routes/shot.ts';
import { targetRoutes } from './routes/target.ts';
import { wsShotRoute } from './routes/ws-shot.ts';
import { ArcheryService } from './service.ts';
import { registerSimulator } from './simulator.ts';

/**
 * The seed had no auth: in dev mode (the default outside production) every archery route and
 * the socket are public, as its clients expect; otherwise reads need a user and writes a
 * device key (the sensors) or an admin.
 */
function routeContext(platform: Platform): RouteContext {
  const open = platform.config.archery.devMode;
  return {
    service: new ArcheryService(platform.db),
    auth: open
      ? { read: 'public', write: 'public', socket: 'public' }
      : { read: 'user', write: 'device', socket: 'user' },
  };
}

export const archeryApp: AppManifest = {
  name: 'archery',
  prefix: '/api/v0',
  migrations: [initMigration],
  routes(http, platform) {
    const ctx = routeContext(platform);
    useEnvelope(http);
    arrowRoutes(http, ctx);
    sessionRoutes(http, ctx);
    targetRoutes(http, ctx);
    faceRoutes(http, ctx);
    shotRoutes(http, ctx);
    readingRoutes(http, ctx);
    wsShotRoute(http, ctx, platform.live, platform.config.live.clientBufferBytes);
  },
  start(platform) {
    return startShotFeed(platform, new ArcheryService(platform.db), platform.live);
  },
  simulator: registerSimulator,
};
