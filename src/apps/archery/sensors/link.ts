/**
 * How a sensor process reaches the shared state: straight to PostgreSQL (the seed's design:
 * processes share nothing but the database) or through the HTTP API when run away from it.
 * Both run the same operations, so the three sensors do not care which one they have.
 */
import type { Logger } from 'pino';
import { openPostgres } from '../../../platform/db/postgres.ts';
import { ArcheryService } from '../service.ts';
import type { Reading, ReadingStage } from '../store.ts';

/** What the simulator parent hands each sensor process (as JSON in ARCHERY_SENSOR_CONFIG). */
export interface SensorConfig {
  /** `http://host:port` of a Conflux server, or null to use `databaseUrl`. */
  api: string | null;
  databaseUrl: string | null;
  sessionId: string;
  arrowIds: string[];
  /** Milliseconds between two arrows. */
  intervalMs: number;
  /** Arrows to shoot before exiting; 0 = until stopped. */
  shots: number;
  /** Share of arrows that miss the target. */
  missRate: number;
  /** Readings an earlier, interrupted run left pending: not this run's arrows, ignored. */
  staleReadingIds: string[];
}

export interface Calibration {
  target: { max_x: number; max_y: number; distance: number } | null;
  faces: { x: number; y: number; radii: number[] }[];
}

/** A reading as both links return it (the API sends timestamps as strings). */
export type LinkReading = Pick<Reading, 'id' | 'arrow_id'> & {
  arrow_disengage_time: Date | string | null;
};

export interface SensorLink {
  calibration(): Promise<Calibration>;
  startReading(arrowId: string): Promise<void>;
  pending(stage: ReadingStage): Promise<LinkReading[]>;
  recordBow(id: string, engage: Date, disengage: Date): Promise<void>;
  /** `null` for a miss. */
  recordTarget(id: string, landing: { time: Date; x: number; y: number } | null): Promise<void>;
  close(): Promise<void>;
}

export async function openLink(config: SensorConfig, log: Logger): Promise<SensorLink> {
  if (config.api !== null) return apiLink(config.api, config.sessionId);
  if (config.databaseUrl === null) throw new Error('a sensor needs an API URL or a database URL');
  const db = await openPostgres({ url: config.databaseUrl, poolMax: 2, statementTimeoutMs: 10_000, log });
  const service = new ArcheryService(db);
  const sessionId = config.sessionId;
  return {
    calibration: () => service.calibration(),
    async startReading(arrowId) {
      await service.createReading(sessionId, arrowId);
    },
    pending: (stage) => service.pendingReadings(sessionId, stage),
    async recordBow(id, engage, disengage) {
      await service.recordBow(id, engage.toISOString(), disengage.toISOString());
    },
    async recordTarget(id, landing) {
      await service.recordTarget(id, {
        time: landing?.time.toISOString() ?? null,
        x: landing?.x ?? null,
        y: landing?.y ?? null,
      });
    },
    close: () => db.close(),
  };
}

/** Calls one archery route and unwraps the seed envelope; any non-2xx is an error. */
export async function apiCall<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/api/v0${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const envelope = (await res.json()) as { data: T; errors?: string[] };
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${(envelope.errors ?? []).join('; ')}`);
  return envelope.data;
}

function apiLink(base: string, sessionId: string): SensorLink {
  return {
    calibration: () => apiCall<Calibration>(base, 'GET', '/target/calibrate'),
    async startReading(arrowId) {
      await apiCall(base, 'POST', '/shot_reading', { session_id: sessionId, arrow_id: arrowId });
    },
    pending: (stage) =>
      apiCall<LinkReading[]>(base, 'GET', `/shot_reading?session_id=${sessionId}&stage=${stage}`),
    async recordBow(id, engage, disengage) {
      await apiCall(base, 'PUT', `/shot_reading/${id}/bow`, {
        arrow_engage_time: engage.toISOString(),
        arrow_disengage_time: disengage.toISOString(),
      });
    },
    async recordTarget(id, landing) {
      await apiCall(base, 'PUT', `/shot_reading/${id}/target`, {
        arrow_landing_time: landing?.time.toISOString() ?? null,
        x: landing?.x ?? null,
        y: landing?.y ?? null,
      });
    },
    async close() {},
  };
}
