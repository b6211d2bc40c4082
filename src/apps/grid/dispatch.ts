/**
 * Event dispatch with its state in the database. Each tick, in transactions that take rows with
 * FOR UPDATE SKIP LOCKED (so several gateway instances share the work and never take the same
 * row twice):
 *  1. opens events whose window started: splits the reduction over online VENs and writes one
 *     `grid_dispatches` row per VEN (the outbox), status scheduled → active;
 *  2. closes events whose window ended or that were stopped: marks their dispatches for
 *     restore, status → completed;
 *  3. sends unsent commands (`event`, then `restore`) and records `sent_at` in the same
 *     transaction, so a restart neither re-sends what was recorded nor forgets what was not.
 * A crash between PUBACK and COMMIT can repeat a command; VENs recognise it by its correlationId.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database, Queryable } from '../../platform/db/port.ts';
import type { LiveChannel } from '../../platform/live/port.ts';
import type { Mqtt } from '../../platform/mqtt/port.ts';

export const commandTopic = (registrationId: string) => `ven/cmd/${registrationId}`;

/** Splits `total` kW proportionally to availability; equally when no VEN reports any. */
export function splitReduction(
  total: number,
  vens: { id: string; availability: number | null }[],
): Map<string, number> {
  const out = new Map<string, number>();
  if (vens.length === 0) return out;
  const known = vens.reduce((s, v) => s + Math.max(0, v.availability ?? 0), 0);
  for (const v of vens) {
    const share = known > 0 ? (total * Math.max(0, v.availability ?? 0)) / known : total / vens.length;
    out.set(v.id, Math.round(share * 1000) / 1000);
  }
  return out;
}

interface OutboxRow {
  event_id: string;
  ven_id: string;
  registration_id: string;
  shed_kw: number;
  correlation_id: string;
  restore_correlation_id: string | null;
  end_time: Date;
  requested_reduction_kw: number;
}

export class Dispatcher {
  private readonly db: Database;
  private readonly mqtt: Mqtt;
  private readonly live: LiveChannel;
  private readonly log: Logger;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(deps: { db: Database; mqtt: Mqtt; live: LiveChannel; log: Logger }) {
    this.db = deps.db;
    this.mqtt = deps.mqtt;
    this.live = deps.live;
    this.log = deps.log;
  }

  /** Runs a tick now (or right after the running one). */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.tick().catch((e: unknown) => this.log.error({ err: e }, 'dispatch tick failed'));
      } while (this.again);
    })().finally(() => (this.running = null));
    return this.running;
  }

  async tick(): Promise<void> {
    const changed = [...(await this.openEvents()), ...(await this.closeEvents())];
    await this.sendEvents();
    await this.sendRestores();
    for (const e of changed) await this.live.publish('grid.events', e).catch(() => undefined);
  }

  private async openEvents(): Promise<{ eventId: string; status: string }[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx.query<{
        id: string;
        requested_reduction_kw: number;
        end_time: Date;
        stop: boolean;
      }>(
        `SELECT id, requested_reduction_kw, end_time, stop_requested_at IS NOT NULL AS stop FROM grid_events
          WHERE status IN ('scheduled', 'stopping') AND activated_at IS NULL AND start_time <= now()
          ORDER BY start_time FOR UPDATE SKIP LOCKED LIMIT 20`,
      );
      const changed: { eventId: string; status: string }[] = [];
      for (const e of due.rows) {
        if (e.stop || e.end_time.getTime() <= Date.now()) {
          // Stopped before it started, or its window passed while no gateway ran: nothing to send.
          await tx.query(`UPDATE grid_events SET status = 'completed', completed_at = now() WHERE id = $1`, [
            e.id,
          ]);
          changed.push({ eventId: e.id, status: 'completed' });
          continue;
        }
        const vens = await tx.query<{
          id: string;
          registration_id: string;
          shed_availability_kw: number | null;
        }>(
          `SELECT id, registration_id, shed_availability_kw FROM grid_vens_state WHERE status = 'online' ORDER BY id`,
        );
        const split = splitReduction(
          e.requested_reduction_kw,
          vens.rows.map((v) => ({ id: v.id, availability: v.shed_availability_kw })),
        );
        for (const v of vens.rows) {
          await tx.query(
            `INSERT INTO grid_dispatches (event_id, ven_id, registration_id, shed_kw, correlation_id)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
            [e.id, v.id, v.registration_id, split.get(v.id) ?? 0, randomUUID()],
          );
        }
        await tx.query(`UPDATE grid_events SET status = 'active', activated_at = now() WHERE id = $1`, [
          e.id,
        ]);
        changed.push({ eventId: e.id, status: 'active' });
        this.log.info({ eventId: e.id, vens: vens.rows.length }, 'event opened');
      }
      return changed;
    });
  }

  private async closeEvents(): Promise<{ eventId: string; status: string }[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx.query<{ id: string }>(
        `SELECT id FROM grid_events
          WHERE status IN ('active', 'stopping') AND activated_at IS NOT NULL
            AND (end_time <= now() OR stop_requested_at IS NOT NULL)
          FOR UPDATE SKIP LOCKED LIMIT 20`,
      );
      for (const e of due.rows) {
        await tx.query(
          `UPDATE grid_dispatches SET restore_requested_at = now(), restore_correlation_id = gen_random_uuid()::text
            WHERE event_id = $1 AND restore_requested_at IS NULL`,
          [e.id],
        );
        await tx.query(`UPDATE grid_events SET status = 'completed', completed_at = now() WHERE id = $1`, [
          e.id,
        ]);
        this.log.info({ eventId: e.id }, 'event closed');
      }
      return due.rows.map((e) => ({ eventId: e.id, status: 'completed' }));
    });
  }

  private async sendEvents(): Promise<void> {
    for (;;) {
      const sent = await this.db.transaction(async (tx) => {
        const rows = await this.claim(
          tx,
          `d.sent_at IS NULL AND d.restore_requested_at IS NULL`,
          'd.created_at',
        );
        // Publish in parallel; record each one on this transaction's connection in turn.
        await Promise.all(
          rows.map((d) => {
            const durationSec = Math.max(0, Math.round((d.end_time.getTime() - Date.now()) / 1000));
            return this.mqtt.publish(commandTopic(d.registration_id), {
              op: 'event',
              correlationId: d.correlation_id,
              venId: d.ven_id,
              eventId: d.event_id,
              shedKw: d.shed_kw,
              durationSec,
              data: { eventId: d.event_id, requestedReductionKw: d.shed_kw, durationS: durationSec },
            });
          }),
        );
        for (const d of rows) {
          await tx.query(`UPDATE grid_dispatches SET sent_at = now() WHERE event_id = $1 AND ven_id = $2`, [
            d.event_id,
            d.ven_id,
          ]);
          await setDesired(tx, d.ven_id, {
            activeEventId: d.event_id,
            shedKw: d.shed_kw,
            correlationId: d.correlation_id,
            until: d.end_time.toISOString(),
          });
        }
        return rows.length;
      });
      if (sent < 100) return;
    }
  }

  private async sendRestores(): Promise<void> {
    for (;;) {
      const sent = await this.db.transaction(async (tx) => {
        const rows = await this.claim(
          tx,
          `d.restore_requested_at IS NOT NULL AND d.restore_sent_at IS NULL AND d.sent_at IS NOT NULL`,
          'd.restore_requested_at',
        );
        await Promise.all(
          rows.map((d) =>
            this.mqtt.publish(commandTopic(d.registration_id), {
              op: 'restore',
              correlationId: d.restore_correlation_id,
              venId: d.ven_id,
              eventId: d.event_id,
            }),
          ),
        );
        for (const d of rows) {
          await tx.query(
            `UPDATE grid_dispatches SET restore_sent_at = now() WHERE event_id = $1 AND ven_id = $2`,
            [d.event_id, d.ven_id],
          );
          await setDesired(tx, d.ven_id, {
            activeEventId: null,
            shedKw: 0,
            correlationId: d.restore_correlation_id,
          });
        }
        return rows.length;
      });
      if (sent < 100) return;
    }
  }

  private async claim(tx: Queryable, where: string, order: string): Promise<OutboxRow[]> {
    const r = await tx.query<OutboxRow>(
      `SELECT d.event_id, d.ven_id, d.registration_id, d.shed_kw, d.correlation_id, d.restore_correlation_id,
              e.end_time, e.requested_reduction_kw
         FROM grid_dispatches d JOIN grid_events e ON e.id = d.event_id
        WHERE ${where} ORDER BY ${order} LIMIT 100 FOR UPDATE OF d SKIP LOCKED`,
    );
    return r.rows;
  }

  /** `POST /vens/{id}/send-event`: adds this VEN to an event's dispatch (outbox) and sends now. */
  async addVen(
    eventId: string,
    venId: string,
    registrationId: string,
    shedKw: number,
  ): Promise<string | null> {
    const r = await this.db.query<{ correlation_id: string }>(
      `INSERT INTO grid_dispatches (event_id, ven_id, registration_id, shed_kw, correlation_id)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING correlation_id`,
      [eventId, venId, registrationId, shedKw, randomUUID()],
    );
    await this.sendEvents();
    return r.rows[0]?.correlation_id ?? null;
  }
}

async function setDesired(q: Queryable, venId: string, patch: Record<string, unknown>) {
  await q.query(`UPDATE grid_vens SET desired = coalesce(desired, '{}'::jsonb) || $2::jsonb WHERE id = $1`, [
    venId,
    JSON.stringify({ ...patch, updatedAt: new Date().toISOString() }),
  ]);
}
