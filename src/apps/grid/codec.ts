/**
 * Decoding of VEN MQTT payloads. Pure: every function either returns a clean value or throws
 * {@link DeadLetter} with a reason a person can act on. Nothing here trusts the payload.
 */
import { isUtf8 } from 'node:buffer';
import { isTopic } from '../../platform/live/topics.ts';
import { DeadLetter } from '../../platform/mqtt/port.ts';

export interface LoadReport {
  id: string;
  name: string | null;
  type: string | null;
  capacityKw: number | null;
  shedCapabilityKw: number | null;
  currentPowerKw: number | null;
  enabled: boolean | null;
  priority: number | null;
}

export interface Metering {
  venId: string;
  timestamp: Date;
  usedPowerKw: number | null;
  shedPowerKw: number | null;
  requestedReductionKw: number | null;
  eventId: string | null;
  batterySoc: number | null;
  loads: LoadReport[];
}

export interface StatusReport {
  venId: string;
  timestamp: Date;
  status: string;
  currentPowerKw: number | null;
  shedAvailabilityKw: number | null;
  activeEventId: string | null;
  raw: Record<string, unknown>;
}

export interface LoadSnapshot {
  venId: string;
  timestamp: Date;
  loads: LoadReport[];
}

export interface CircuitCurtailed {
  id: string;
  name: string | null;
  breaker_amps: number | null;
  original_kw: number | null;
  curtailed_kw: number | null;
  final_kw: number | null;
  critical: boolean | null;
}

export interface Ack {
  venId: string;
  op: 'event' | 'restore' | 'ping';
  status: 'accepted' | 'rejected' | 'success';
  eventId: string | null;
  correlationId: string | null;
  timestamp: Date;
  requestedShedKw: number | null;
  actualShedKw: number | null;
  circuitsCurtailed: CircuitCurtailed[];
}

const MAX_LOADS = 256;
const ID = /^[\w.:@-]{1,128}$/;
/** Whether the gateway takes `v` as a VEN id. */
export function isVenId(v: string): boolean {
  return ID.test(v);
}

/**
 * The live topic of a VEN's telemetry, or null when its id cannot name one: topic words are
 * separated by single dots, so an id with a dot at its start or end, or two in a row, names none.
 */
export function telemetryTopic(venId: string): string | null {
  const topic = `grid.telemetry.${venId}`;
  return isTopic(topic) ? topic : null;
}

export function parseJsonObject(payload: Buffer): Record<string, unknown> {
  // Payloads are stored as received, and PostgreSQL refuses text that is not UTF-8.
  if (!isUtf8(payload)) throw new DeadLetter('payload is not UTF-8');
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new DeadLetter('payload is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new DeadLetter('payload is not a JSON object');
  return body as Record<string, unknown>;
}

function venIdOf(o: Record<string, unknown>, fromTopic: string | null): string {
  const v = o.venId ?? o.ven_id ?? fromTopic;
  if (typeof v !== 'string' || !ID.test(v)) throw new DeadLetter('venId missing or invalid');
  return v;
}

/** epoch seconds, epoch milliseconds or ISO-8601; years 2000–2100 only (a guard against garbage). */
export function parseTimestamp(v: unknown, required = true): Date {
  let d: Date | null = null;
  if (typeof v === 'number' && Number.isFinite(v)) d = new Date(v < 1e11 ? v * 1000 : v);
  else if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    d = Number.isFinite(n) ? new Date(n < 1e11 ? n * 1000 : n) : new Date(v);
  } else if (v === undefined || v === null) {
    if (!required) return new Date();
    throw new DeadLetter('timestamp missing');
  }
  const t = d?.getTime() ?? NaN;
  if (!Number.isFinite(t) || t < 946_684_800_000 || t > 4_102_444_800_000)
    throw new DeadLetter('timestamp invalid');
  return d as Date;
}

/**
 * The number under `key`, or else under its older name `alias`. Fixed parameters rather than a
 * rest array: these run some 25 times per metering message, and each rest array is an allocation.
 */
function num(o: Record<string, unknown>, key: string, alias?: string): number | null {
  let k = key;
  let v = o[key];
  if ((v === undefined || v === null) && alias !== undefined) v = o[(k = alias)];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 1e9)
    throw new DeadLetter(`${k} must be a number`);
  return v;
}

function str(o: Record<string, unknown>, key: string, max = 256): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max) throw new DeadLetter(`${key} must be a string`);
  return v;
}

/**
 * A load's name or type. Those are stored inside JSON text that PostgreSQL parses when it reads a
 * reading's loads (migration 005), and its parser refuses two things JSON.parse lets through as
 * escapes. NUL is refused here (a text column never took it either), so the message is
 * dead-lettered rather than stored unreadable; an unpaired surrogate becomes U+FFFD, as it did
 * when these were text columns written as UTF-8.
 */
function loadText(o: Record<string, unknown>, key: string, max: number, i: number): string | null {
  const v = str(o, key, max);
  if (v === null) return null;
  if (v.includes('\0')) throw new DeadLetter(`loads[${i}].${key} holds NUL`);
  return v.toWellFormed();
}

function optionalId(o: Record<string, unknown>, key: string, alias?: string): string | null {
  let k = key;
  let v = o[key];
  if ((v === undefined || v === null) && alias !== undefined) v = o[(k = alias)];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || !ID.test(v)) throw new DeadLetter(`${k} invalid`);
  return v;
}

function loadsOf(o: Record<string, unknown>): LoadReport[] {
  const v = o.loads;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DeadLetter('loads must be an array');
  if (v.length > MAX_LOADS) throw new DeadLetter(`more than ${MAX_LOADS} loads`);
  const ids: string[] = [];
  return v.map((l: unknown, i) => {
    if (typeof l !== 'object' || l === null || Array.isArray(l))
      throw new DeadLetter(`loads[${i}] is not an object`);
    const x = l as Record<string, unknown>;
    const id = typeof x.id === 'number' && Number.isInteger(x.id) ? String(x.id) : x.id;
    if (typeof id !== 'string' || !ID.test(id)) throw new DeadLetter(`loads[${i}].id missing or invalid`);
    // A handful of loads per message: a scan beats building a Set for each one.
    if (ids.includes(id)) throw new DeadLetter(`loads[${i}].id duplicated`);
    ids.push(id);
    const enabled = x.enabled;
    if (enabled !== undefined && enabled !== null && typeof enabled !== 'boolean')
      throw new DeadLetter(`loads[${i}].enabled must be a boolean`);
    const priority = num(x, 'priority');
    if (priority !== null && !Number.isInteger(priority))
      throw new DeadLetter(`loads[${i}].priority must be an integer`);
    return {
      id,
      name: loadText(x, 'name', 256, i),
      type: loadText(x, 'type', 64, i),
      capacityKw: num(x, 'capacityKw', 'capacity_kw'),
      shedCapabilityKw: num(x, 'shedCapabilityKw', 'shed_capability_kw'),
      currentPowerKw: num(x, 'currentPowerKw', 'current_power_kw'),
      enabled: (enabled as boolean | undefined) ?? null,
      priority,
    };
  });
}

export function decodeMetering(payload: Buffer, venFromTopic: string | null): Metering {
  const o = parseJsonObject(payload);
  return {
    venId: venIdOf(o, venFromTopic),
    timestamp: parseTimestamp(o.timestamp ?? o.ts),
    usedPowerKw: num(o, 'usedPowerKw', 'power_kw'),
    shedPowerKw: num(o, 'shedPowerKw', 'shed_kw'),
    requestedReductionKw: num(o, 'requestedReductionKw'),
    eventId: optionalId(o, 'eventId', 'event_id'),
    batterySoc: num(o, 'batterySoc'),
    // Not the parsed payload: it would live as long as the message is in flight (the bytes as
    // received are what is stored).
    loads: loadsOf(o),
  };
}

export function decodeStatus(payload: Buffer, venFromTopic: string | null): StatusReport {
  const o = parseJsonObject(payload);
  const status = str(o, 'status', 32);
  if (status === null) throw new DeadLetter('status missing');
  return {
    venId: venIdOf(o, venFromTopic),
    timestamp: parseTimestamp(o.timestamp, false),
    status,
    currentPowerKw: num(o, 'currentPowerKw'),
    shedAvailabilityKw: num(o, 'shedAvailabilityKw'),
    activeEventId: optionalId(o, 'activeEventId'),
    raw: o,
  };
}

export function decodeLoadSnapshot(payload: Buffer, venFromTopic: string | null): LoadSnapshot {
  const o = parseJsonObject(payload);
  return { venId: venIdOf(o, venFromTopic), timestamp: parseTimestamp(o.timestamp), loads: loadsOf(o) };
}

const OPS = ['event', 'restore', 'ping'] as const;
const STATUSES = ['accepted', 'rejected', 'success'] as const;

export function decodeAck(payload: Buffer, venFromTopic: string | null): Ack {
  const o = parseJsonObject(payload);
  const op = o.op;
  if (!OPS.includes(op as Ack['op'])) throw new DeadLetter('op must be event, restore or ping');
  const status = o.status;
  if (!STATUSES.includes(status as Ack['status']))
    throw new DeadLetter('status must be accepted, rejected or success');
  const eventId = optionalId(o, 'eventId', 'event_id');
  if (op === 'event' && eventId === null) throw new DeadLetter('event ack without eventId');
  const cc = o.circuitsCurtailed ?? [];
  if (!Array.isArray(cc) || cc.length > MAX_LOADS) throw new DeadLetter('circuitsCurtailed must be an array');
  return {
    venId: venIdOf(o, venFromTopic),
    op: op as Ack['op'],
    status: status as Ack['status'],
    eventId,
    correlationId: optionalId(o, 'correlationId', 'correlation_id'),
    timestamp: parseTimestamp(o.timestamp, false),
    requestedShedKw: num(o, 'requestedShedKw'),
    actualShedKw: num(o, 'actualShedKw'),
    circuitsCurtailed: cc.map((c: unknown, i) => {
      if (typeof c !== 'object' || c === null)
        throw new DeadLetter(`circuitsCurtailed[${i}] is not an object`);
      const x = c as Record<string, unknown>;
      const id = typeof x.id === 'number' ? String(x.id) : x.id;
      if (typeof id !== 'string' || id.length > 128)
        throw new DeadLetter(`circuitsCurtailed[${i}].id invalid`);
      const critical = x.critical;
      if (critical !== undefined && critical !== null && typeof critical !== 'boolean')
        throw new DeadLetter(`circuitsCurtailed[${i}].critical must be a boolean`);
      return {
        id,
        name: str(x, 'name'),
        breaker_amps: num(x, 'breaker_amps'),
        original_kw: num(x, 'original_kw'),
        curtailed_kw: num(x, 'curtailed_kw'),
        final_kw: num(x, 'final_kw'),
        critical: (critical as boolean | undefined) ?? null,
      };
    }),
  };
}

/** What kind of message an extra topic carries, judged by its shape. */
export function classify(o: Record<string, unknown>): 'ack' | 'metering' | 'status' | 'loads' {
  if ('op' in o) return 'ack';
  if ('status' in o && !('loads' in o)) return 'status';
  if ('usedPowerKw' in o || 'power_kw' in o || 'shedPowerKw' in o || 'shed_kw' in o) return 'metering';
  return 'loads' in o ? 'metering' : 'status';
}
