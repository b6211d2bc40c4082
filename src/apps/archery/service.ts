/**
 * The archery app's logic: thin over the store, because the rules live in the database.
 * Scoring goes through the pure rule in scoring.ts everywhere (API, live feed, performance).
 */
import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../../platform/db/port.ts';
import { badRequest, notFound } from '../../platform/errors.ts';
import { catalogueFace } from './faces-catalogue.ts';
import type {
  ArrowCreate,
  ArrowRow,
  FaceRow,
  SessionRow,
  ShotRow,
  TargetRow,
  ArrowFilters,
  ArrowPatch,
  FaceCreate,
  FaceFilters,
  FacesCreate,
  ScoredShot,
  SessionCreate,
  SessionFilters,
  SessionPatch,
  ShotCreate,
  ShotFilters,
  TargetCreate,
  TargetFilters,
  TargetPatch,
} from './schemas.ts';
import { arrowSpeed, score, timeOfFlightSeconds } from './scoring.ts';
import * as store from './store.ts';
import type { ShotWithArrow, TargetWithFaces } from './store.ts';

type Row = Record<string, unknown>;

async function found<T>(what: string, p: Promise<T | undefined>): Promise<T> {
  const row = await p;
  if (row === undefined) throw notFound(what);
  return row;
}

async function deleted(what: string, p: Promise<boolean>): Promise<void> {
  if (!(await p)) throw notFound(what);
}

/** Scores shots against their session's target: the one place the rule is applied to rows. */
export function scoreShots(
  shots: readonly ShotWithArrow[],
  targets: readonly TargetWithFaces[],
): ScoredShot[] {
  const bySession = new Map(targets.map((t) => [t.session_id, t]));
  return shots.map((s) => {
    const t = bySession.get(s.session_id) ?? null;
    const geometry = t && { maxX: t.max_x, maxY: t.max_y, faces: t.faces };
    const tof = timeOfFlightSeconds(s.arrow_disengage_time, s.arrow_landing_time);
    return {
      id: s.id,
      arrow_id: s.arrow_id,
      session_id: s.session_id,
      human_identifier: s.human_identifier,
      arrow_engage_time: s.arrow_engage_time.toISOString(),
      arrow_disengage_time: s.arrow_disengage_time.toISOString(),
      arrow_landing_time: s.arrow_landing_time?.toISOString() ?? null,
      x: s.x,
      y: s.y,
      time_of_flight_seconds: tof,
      arrow_speed: arrowSpeed(t?.distance ?? null, tof),
      score: score(s.x, s.y, geometry),
    };
  });
}

export class ArcheryService {
  readonly db: Database;
  constructor(db: Database) {
    this.db = db;
  }

  // --- arrows ---
  listArrows(filters: ArrowFilters) {
    return store.selectWhere<ArrowRow>(this.db, 'archery_arrows', filters);
  }
  async createArrow(body: ArrowCreate) {
    const [row] = await store.insertRows<{ id: string }>(this.db, 'archery_arrows', [body]);
    return { id: (row as { id: string }).id };
  }
  getArrow(id: string) {
    return found('arrow', store.selectById<ArrowRow>(this.db, 'archery_arrows', id));
  }
  patchArrow(id: string, body: ArrowPatch) {
    const { is_active, ...patch } = body;
    // Active ⇔ not voided: deactivating voids the arrow now, reactivating clears the date.
    const row: Row = { ...patch };
    if (is_active === false && patch.voided_date == null) row.voided_date = new Date();
    if (is_active === true) {
      if (patch.voided_date != null) throw badRequest('an active arrow has no voided_date');
      row.voided_date = null;
    }
    return found('arrow', store.updateById<ArrowRow>(this.db, 'archery_arrows', id, row));
  }
  async deleteArrow(id: string) {
    await deleted('arrow', store.deleteById(this.db, 'archery_arrows', id));
    return { id };
  }
  newArrowUuid() {
    return { arrow_uuid: randomUUID() };
  }

  // --- sessions ---
  listSessions(filters: SessionFilters) {
    return store.selectWhere<SessionRow>(this.db, 'archery_sessions', filters);
  }
  async createSession(body: SessionCreate) {
    const [row] = await store.insertRows<SessionRow>(this.db, 'archery_sessions', [body]);
    return row as SessionRow;
  }
  openSession() {
    return found('open session', store.openSession<SessionRow>(this.db));
  }
  getSession(id: string) {
    return found('session', store.selectById<SessionRow>(this.db, 'archery_sessions', id));
  }
  patchSession(id: string, body: SessionPatch) {
    const { is_opened, ...patch } = body;
    const row: Row = { ...patch };
    if (is_opened === false && patch.end_time == null) row.end_time = new Date();
    if (is_opened === true) row.end_time = null;
    return found('session', store.updateById<SessionRow>(this.db, 'archery_sessions', id, row));
  }
  async deleteSession(id: string) {
    await deleted('session', store.deleteById(this.db, 'archery_sessions', id));
    return { id };
  }

  // --- targets ---
  listTargets(filters: TargetFilters) {
    return store.selectWhere<TargetRow>(this.db, 'archery_targets', filters);
  }
  async createTarget(body: TargetCreate) {
    const [row] = await store.insertRows<TargetRow>(this.db, 'archery_targets', [body]);
    return row as TargetRow;
  }
  getTarget(id: string) {
    return found('target', store.selectById<TargetRow>(this.db, 'archery_targets', id));
  }
  patchTarget(id: string, body: TargetPatch) {
    return found('target', store.updateById<TargetRow>(this.db, 'archery_targets', id, body));
  }
  async deleteTarget(id: string) {
    await deleted('target', store.deleteById(this.db, 'archery_targets', id));
    return { id };
  }
  async targetOfSession(sessionId: string) {
    const [row] = await store.selectWhere<TargetRow>(this.db, 'archery_targets', { session_id: sessionId });
    if (row === undefined) throw notFound('target of session');
    return row;
  }
  /** What a target sensor calibrates against: the open session's target and its faces. */
  async calibration() {
    const session = await this.openSession();
    const sessionId = session.id;
    const [t] = await store.targetsOfSessions(this.db, [sessionId]);
    if (t === undefined) return { session_id: sessionId, target: null, faces: [] };
    const { faces, ...target } = t;
    return { session_id: sessionId, target, faces: faces.map((f) => ({ ...f, target_id: t.id })) };
  }

  // --- faces ---
  listFaces(filters: FaceFilters) {
    return store.selectWhere<FaceRow>(this.db, 'archery_faces', filters);
  }
  /** Creates 1–3 faces at once, or the spots of a catalogue face, all or none. */
  async createFaces(targetId: string, body: FacesCreate) {
    const faces = Array.isArray(body) ? body : await this.catalogueFaces(targetId, body);
    const rows = faces.map((f) => ({ ...f, target_id: targetId }));
    return this.db.transaction((tx: Queryable) => store.insertRows<FaceRow>(tx, 'archery_faces', rows));
  }
  private async catalogueFaces(targetId: string, body: { catalogue_id: string; x?: number; y?: number }) {
    const entry = catalogueFace(body.catalogue_id);
    if (!entry) throw notFound(`catalogue face ${body.catalogue_id}`);
    const target = await this.getTarget(targetId);
    const cx = body.x ?? target.max_x / 2;
    const cy = body.y ?? target.max_y / 2;
    return entry.spots.map((s, i): FaceCreate => ({
      x: cx + s.dx,
      y: cy + s.dy,
      human_identifier: entry.spots.length === 1 ? entry.id.slice(0, 10) : `spot-${i + 1}`,
      radii: entry.radii,
      points: entry.points,
    }));
  }
  async deleteFace(id: string) {
    await deleted('face', store.deleteById(this.db, 'archery_faces', id));
    return { id };
  }

  // --- shots ---
  listShots(filters: ShotFilters) {
    return store.selectWhere<ShotRow>(this.db, 'archery_shots', filters);
  }
  /** One shot or a batch, in one statement (one transaction): all are stored or none. */
  async createShots(body: ShotCreate | ShotCreate[]) {
    const shots = Array.isArray(body) ? body : [body];
    const rows = shots.map((s) => ({
      arrow_id: s.arrow_id,
      session_id: s.session_id,
      arrow_engage_time: s.arrow_engage_time,
      arrow_disengage_time: s.arrow_disengage_time,
      arrow_landing_time: s.arrow_landing_time ?? null,
      x: s.x ?? null,
      y: s.y ?? null,
    }));
    const stored = await store.insertRows<{ id: string }>(this.db, 'archery_shots', rows);
    return stored.map((r) => r.id);
  }
  async deleteShot(id: string) {
    await deleted('shot', store.deleteById(this.db, 'archery_shots', id));
    return { id };
  }

  /** Shots with their score and speed, in the order given (the live feed). */
  async scoredShots(ids: readonly string[]): Promise<ScoredShot[]> {
    const rows = await store.shotsWithTargets(this.db, ids);
    const targets = rows.flatMap((r) => (r.target ? [r.target] : []));
    const scored = scoreShots(
      rows.map((r) => r.shot),
      targets,
    );
    const order = new Map(ids.map((id, i) => [id, i]));
    return scored.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  }

  /** The performance view of a session (default: the open one). */
  async performance(sessionId?: string): Promise<ScoredShot[]> {
    const id = sessionId ?? (await this.openSession()).id;
    await this.getSession(id);
    const shots = await store.shotsOfSession(this.db, id);
    return scoreShots(shots, await store.targetsOfSessions(this.db, [id]));
  }

  // --- sensor readings ---
  createReading(sessionId: string, arrowId: string) {
    return store.insertReading(this.db, sessionId, arrowId);
  }
  pendingReadings(sessionId: string, stage: store.ReadingStage) {
    return store.pendingReadings(this.db, sessionId, stage);
  }
  recordBow(id: string, engage: string, disengage: string) {
    return found('pending bow reading', store.recordBow(this.db, id, new Date(engage), new Date(disengage)));
  }
  recordTarget(id: string, landing: { time: string | null; x: number | null; y: number | null }) {
    const l = { ...landing, time: landing.time === null ? null : new Date(landing.time) };
    return found('pending target reading', store.recordTarget(this.db, id, l));
  }
}
