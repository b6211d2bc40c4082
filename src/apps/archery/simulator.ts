/**
 * `conflux simulate archery`: sets up a practice (open session, target with a face, a quiver
 * of arrows) and starts the bow, arrow and target readers as three separate OS processes that
 * share nothing but the database, or the HTTP API with `--api`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Command } from 'commander';
import { environmentWithDotenv, loadConfig } from '../../config.ts';
import { AppError } from '../../platform/errors.ts';
import { openPostgres } from '../../platform/db/postgres.ts';
import { createLogger } from '../../platform/log.ts';
import { ArcheryService } from './service.ts';
import { apiCall, type SensorConfig } from './sensors/link.ts';

const SENSORS = ['arrow-reader', 'bow-reader', 'target-reader'] as const;

interface SimOptions {
  interval: string;
  api?: string;
  shots: string;
  arrows: string;
  missRate: string;
}

/** The operations set-up needs; the service (database) or the HTTP API provides them. */
interface SetupPort {
  openSession(): Promise<{ id: string } | null>;
  createSession(): Promise<{ id: string }>;
  targetOf(sessionId: string): Promise<{ id: string } | null>;
  createTarget(sessionId: string): Promise<{ id: string }>;
  faceCount(targetId: string): Promise<number>;
  createFace(targetId: string): Promise<void>;
  activeArrows(): Promise<{ id: string; human_identifier: string }[]>;
  createArrow(humanIdentifier: string): Promise<string>;
  pendingReadingIds(sessionId: string): Promise<string[]>;
}

const TARGET = { max_x: 1300, max_y: 1300, distance: 18 };
/** Absent (404 from the service or the API) → null; anything else is a real failure. */
async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if ((e instanceof AppError && e.status === 404) || / 404 /.test(String(e))) return null;
    throw e;
  }
}

function serviceSetup(service: ArcheryService): SetupPort {
  return {
    openSession: () => orNull(service.openSession()),
    createSession: () => service.createSession({ location: 'simulated range', is_indoor: true }),
    targetOf: (sid) => orNull(service.targetOfSession(sid)),
    createTarget: (sid) => service.createTarget({ ...TARGET, session_id: sid }),
    faceCount: async (tid) => (await service.listFaces({ target_id: tid })).length,
    createFace: async (tid) => void (await service.createFaces(tid, { catalogue_id: 'wa-122-full' })),
    activeArrows: () => service.listArrows({ is_active: true }),
    createArrow: async (hid) =>
      (await service.createArrow({ id: crypto.randomUUID(), human_identifier: hid, length: 72 })).id,
    pendingReadingIds: async (sid) => {
      const stages = await Promise.all([
        service.pendingReadings(sid, 'bow'),
        service.pendingReadings(sid, 'target'),
      ]);
      return stages.flat().map((r) => r.id);
    },
  };
}

function apiSetup(base: string): SetupPort {
  return {
    openSession: () => orNull(apiCall<{ id: string }>(base, 'GET', '/session/open')),
    createSession: () => apiCall(base, 'POST', '/session', { location: 'simulated range', is_indoor: true }),
    targetOf: (sid) => orNull(apiCall<{ id: string }>(base, 'GET', `/target/session-id/${sid}`)),
    createTarget: (sid) => apiCall(base, 'POST', '/target', { ...TARGET, session_id: sid }),
    faceCount: async (tid) => (await apiCall<unknown[]>(base, 'GET', `/target/${tid}/face`)).length,
    createFace: async (tid) =>
      void (await apiCall(base, 'POST', `/target/${tid}/face`, { catalogue_id: 'wa-122-full' })),
    activeArrows: () => apiCall(base, 'GET', '/arrow?is_active=true'),
    createArrow: async (hid) => {
      const id = crypto.randomUUID();
      await apiCall(base, 'POST', '/arrow', { id, human_identifier: hid, length: 72 });
      return id;
    },
    pendingReadingIds: async (sid) => {
      const stages = await Promise.all(
        ['bow', 'target'].map((stage) =>
          apiCall<{ id: string }[]>(base, 'GET', `/shot_reading?session_id=${sid}&stage=${stage}`),
        ),
      );
      return stages.flat().map((r) => r.id);
    },
  };
}

/** Reuses what exists (the open session, its target, active arrows) and creates the rest. */
export async function ensurePractice(port: SetupPort, quiver: number) {
  const session = (await port.openSession()) ?? (await port.createSession());
  const target = (await port.targetOf(session.id)) ?? (await port.createTarget(session.id));
  if ((await port.faceCount(target.id)) === 0) await port.createFace(target.id);
  const arrows = await port.activeArrows();
  const arrowIds = arrows.slice(0, quiver).map((a) => a.id);
  const taken = new Set(arrows.map((a) => a.human_identifier));
  for (let i = 1; arrowIds.length < quiver; i++) {
    if (!taken.has(`SIM-${i}`)) arrowIds.push(await port.createArrow(`SIM-${i}`));
  }
  // Taken before any sensor starts, so that no reading of this run can be among them.
  const staleReadingIds = await port.pendingReadingIds(session.id);
  return { sessionId: session.id, targetId: target.id, arrowIds, staleReadingIds };
}

function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

async function run(opts: SimOptions) {
  const config = loadConfig(environmentWithDotenv());
  const log = createLogger({ level: config.logLevel });
  const intervalMs = Number(opts.interval);
  const shots = Number(opts.shots);
  const quiver = Number(opts.arrows);
  const missRate = Number(opts.missRate);
  if (
    !(intervalMs >= 10) ||
    !Number.isInteger(shots) ||
    shots < 0 ||
    !(quiver >= 1) ||
    !(missRate >= 0 && missRate <= 1)
  ) {
    throw new Error('--interval ≥ 10 ms, --shots ≥ 0, --arrows ≥ 1 and --miss-rate in [0, 1] please');
  }
  // The embedded database belongs to the server process: without PostgreSQL, go through its API.
  const api = opts.api ?? (config.database.url === null ? `http://127.0.0.1:${config.port}` : null);
  let practice: Awaited<ReturnType<typeof ensurePractice>>;
  if (api !== null) {
    practice = await ensurePractice(apiSetup(api.replace(/\/$/, '')), quiver);
  } else {
    const db = await openPostgres({
      url: config.database.url ?? '',
      poolMax: 2,
      statementTimeoutMs: 10_000,
      log,
    });
    try {
      practice = await ensurePractice(serviceSetup(new ArcheryService(db)), quiver);
    } finally {
      await db.close();
    }
  }
  const sensorConfig: SensorConfig = {
    api: api === null ? null : api.replace(/\/$/, ''),
    databaseUrl: api === null ? config.database.url : null,
    sessionId: practice.sessionId,
    arrowIds: practice.arrowIds,
    intervalMs,
    shots,
    missRate,
    staleReadingIds: practice.staleReadingIds,
  };
  log.info(
    {
      session: practice.sessionId,
      target: practice.targetId,
      arrows: practice.arrowIds.length,
      via: api ?? 'database',
    },
    `archery simulator: ${shots === 0 ? 'shooting until stopped' : `${shots} shots`}, one every ${intervalMs} ms`,
  );
  const children = SENSORS.map((name) =>
    fork(new URL(`./sensors/${name}.ts`, import.meta.url), [], {
      env: {
        ...process.env,
        ARCHERY_SENSOR_CONFIG: JSON.stringify(sensorConfig),
        LOG_LEVEL: config.logLevel,
      },
      stdio: 'inherit',
    }),
  );
  const stop = () => children.forEach((c) => c.kill('SIGTERM'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const codes = await Promise.all(children.map(exitOf));
  const failed = SENSORS.filter((_, i) => codes[i] !== 0);
  if (failed.length > 0) throw new Error(`sensor process failed: ${failed.join(', ')}`);
  log.info('archery simulator: done');
}

export function registerSimulator(command: Command) {
  command
    .description('run the bow, arrow and target readers as three processes (database or --api)')
    .option('--interval <ms>', 'milliseconds between arrows', '3000')
    .option('--api <url>', 'talk to this Conflux server instead of DATABASE_URL')
    .option('--shots <n>', 'arrows to shoot before exiting (0 = until stopped)', '0')
    .option('--arrows <n>', 'arrows in the quiver', '6')
    .option('--miss-rate <share>', 'share of arrows that miss the target', '0.1')
    .action(async (opts: SimOptions) => {
      await run(opts);
    });
}
