/**
 * VEN simulator (`conflux simulate grid --vens N [--broker URL]`). Each VEN has 4–8 circuits,
 * publishes metering every few seconds, answers `event` by curtailing its non-critical circuits
 * (ack with circuitsCurtailed), answers `restore`, `shed` and `ping`, and goes silent on request
 * (`{op:"silence", durationSec}` on its command topic) to exercise the heartbeat. MQTT only.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import mqtt, { type MqttClient } from 'mqtt';
import { apiKey, wholeNumber } from '../../platform/cli-options.ts';
import { AppError } from '../../platform/errors.ts';
import { isVenId, telemetryTopic } from './codec.ts';

const TYPES = [
  'hvac',
  'water_heater',
  'ev_charger',
  'lighting',
  'pool_pump',
  'appliance',
  'refrigerator',
  'battery',
];
const SHEDDABLE_TYPES = TYPES.filter((t) => t !== 'refrigerator');
const AMPS = [15, 20, 30, 40, 50];

interface Circuit {
  id: string;
  name: string;
  type: string;
  breakerAmps: number;
  critical: boolean;
  utilisation: number;
  curtailed: boolean;
  shedKw: number;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export class SimulatedVen {
  readonly id: string;
  readonly circuits: Circuit[];
  eventId: string | null = null;
  requestedKw: number | null = null;
  silentUntil = 0;
  /** The ack of the last `event` command, repeated (with a new timestamp) if it comes again. */
  private lastEvent: { correlationId: unknown; ack: Record<string, unknown> } | null = null;
  private readonly rand: () => number;

  constructor(id: string, rand: () => number = Math.random) {
    this.id = id;
    this.rand = rand;
    const n = 4 + Math.floor(rand() * 5);
    this.circuits = Array.from({ length: n }, (_, i) => {
      // A VEN in the programme has something to shed: its second circuit is never critical.
      const sheddable = i === 1;
      const types = sheddable ? SHEDDABLE_TYPES : TYPES;
      const type = types[Math.floor(rand() * types.length)]!;
      return {
        id: `c${i + 1}`,
        name: `${type} ${i + 1}`,
        type,
        breakerAmps: AMPS[Math.floor(rand() * AMPS.length)]!,
        // Fridges and the first circuit keep running whatever happens.
        critical: !sheddable && (i === 0 || type === 'refrigerator' || rand() < 0.2),
        utilisation: 0.2 + rand() * 0.6,
        curtailed: false,
        shedKw: 0,
      };
    });
  }

  private capacity = (c: Circuit) => (c.breakerAmps * 240) / 1000;
  private power = (c: Circuit) =>
    c.curtailed ? 0 : Math.max(0, this.capacity(c) * c.utilisation - c.shedKw);

  metering(now = Date.now()) {
    for (const c of this.circuits)
      c.utilisation = Math.min(0.95, Math.max(0.05, c.utilisation + (this.rand() - 0.5) * 0.05));
    const loads = this.circuits.map((c) => ({
      id: c.id,
      name: c.name,
      type: c.type,
      capacityKw: r3(this.capacity(c)),
      shedCapabilityKw: c.critical ? 0 : r3(this.power(c)),
      currentPowerKw: r3(this.power(c)),
      enabled: !c.curtailed,
      priority: c.critical ? 1 : 5,
    }));
    const used = loads.reduce((s, l) => s + l.currentPowerKw, 0);
    const curtailedKw = this.circuits
      .filter((c) => c.curtailed)
      .reduce((s, c) => s + this.capacity(c) * c.utilisation, 0);
    const available = loads.reduce((s, l) => s + l.shedCapabilityKw, 0);
    return {
      schemaVersion: 1,
      venId: this.id,
      timestamp: now,
      usedPowerKw: r3(used),
      shedPowerKw: r3(this.eventId ? curtailedKw : available),
      requestedReductionKw: this.requestedKw,
      eventId: this.eventId,
      batterySoc: null,
      loads,
    };
  }

  /** Applies a command; returns the ack to publish (or null). */
  command(cmd: Record<string, unknown>, now = Date.now()): Record<string, unknown> | null {
    const base = { venId: this.id, correlationId: cmd.correlationId ?? null, timestamp: now };
    switch (cmd.op) {
      case 'event': {
        // A repeated command (a gateway that crashed between PUBACK and COMMIT sends it again)
        // changes nothing: the circuits it curtailed are already off.
        if (cmd.correlationId != null && this.lastEvent?.correlationId === cmd.correlationId)
          return { ...this.lastEvent.ack, timestamp: now };
        const eventId = typeof cmd.eventId === 'string' ? cmd.eventId : null;
        const shedKw = typeof cmd.shedKw === 'number' ? cmd.shedKw : 0;
        const curtailed = [];
        let total = 0;
        for (const c of this.circuits
          .filter((x) => !x.critical && !x.curtailed)
          .sort((a, b) => this.power(b) - this.power(a))) {
          if (total >= shedKw && curtailed.length > 0) break;
          const original = this.power(c);
          c.curtailed = true;
          total += original;
          curtailed.push({
            id: c.id,
            name: c.name,
            breaker_amps: c.breakerAmps,
            original_kw: r3(original),
            curtailed_kw: r3(original),
            final_kw: 0,
            critical: false,
          });
        }
        this.eventId = eventId;
        this.requestedKw = shedKw;
        const ack = {
          ...base,
          op: 'event',
          status: 'accepted',
          eventId,
          requestedShedKw: shedKw,
          actualShedKw: r3(total),
          circuitsCurtailed: curtailed,
        };
        this.lastEvent = { correlationId: cmd.correlationId, ack };
        return ack;
      }
      case 'restore': {
        for (const c of this.circuits) c.curtailed = false;
        this.lastEvent = null;
        const eventId = this.eventId ?? (typeof cmd.eventId === 'string' ? cmd.eventId : null);
        this.eventId = null;
        this.requestedKw = null;
        return { ...base, op: 'restore', status: 'success', eventId };
      }
      case 'shed': {
        const c = this.circuits.find((x) => x.id === cmd.loadId);
        if (c && typeof cmd.amountKw === 'number') c.shedKw = Math.max(0, cmd.amountKw);
        return { ...base, op: 'ping', status: c ? 'success' : 'rejected' };
      }
      case 'ping':
        return { ...base, op: 'ping', status: 'success' };
      case 'silence':
        this.silentUntil = now + (typeof cmd.durationSec === 'number' ? cmd.durationSec : 120) * 1000;
        return null;
      default:
        return null;
    }
  }
}

/** CONNACK codes of a refused login: MQTT 3.1.1 (4, 5) and MQTT 5 (134, 135). */
const REFUSED_LOGIN = new Set([4, 5, 134, 135]);

/** Why the VENs could not connect, in one line that says what to do about it. */
function connectError(url: string, e: unknown, withCredentials: boolean): AppError {
  const reason = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown }).code;
  const hint =
    typeof code === 'number' && REFUSED_LOGIN.has(code)
      ? withCredentials
        ? 'the broker does not accept this API key (revoked, or not a device or admin account?)'
        : 'the broker wants a device API key: --api-key ck_<id>_<secret> (POST /auth/api-keys)'
      : 'is the broker running? `conflux serve` logs the address of its embedded broker (MQTT_PORT)';
  return new AppError(
    'mqtt_connect_failed',
    502,
    `cannot connect to the MQTT broker at ${url}: ${reason}; ${hint}`,
    {
      cause: e,
    },
  );
}

export interface Fleet {
  vens: SimulatedVen[];
  /** Publishes one metering message per (non-silent) VEN now. */
  publishAll(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `count` VENs, each with its own MQTT connection, publishing every `intervalMs` (0 = never). */
export async function startFleet(opts: {
  url: string;
  count: number;
  intervalMs: number;
  prefix?: string;
  username?: string;
  password?: string;
  log?: (line: string) => void;
}): Promise<Fleet> {
  const prefix = opts.prefix ?? `sim-${randomBytes(2).toString('hex')}`;
  const vens: SimulatedVen[] = [];
  const clients: MqttClient[] = [];
  for (let i = 0; i < opts.count; i++) {
    const ven = new SimulatedVen(`${prefix}-${String(i + 1).padStart(3, '0')}`);
    const client = await mqtt
      .connectAsync(opts.url, {
        clientId: ven.id,
        clean: true,
        username: opts.username,
        password: opts.password,
        reconnectPeriod: 1000,
      })
      .catch(async (e: unknown) => {
        await Promise.all(clients.map((c) => c.endAsync(true)));
        throw connectError(opts.url, e, opts.username !== undefined);
      });
    client.on('message', (_topic, payload) => {
      let cmd: unknown;
      try {
        cmd = JSON.parse(payload.toString('utf8'));
      } catch {
        return;
      }
      if (typeof cmd !== 'object' || cmd === null) return;
      const ack = ven.command(cmd as Record<string, unknown>);
      opts.log?.(`${ven.id} <- ${String((cmd as { op?: unknown }).op)}`);
      if (ack)
        void client.publishAsync(`ven/ack/${ven.id}`, JSON.stringify(ack), { qos: 1 }).catch(() => undefined);
    });
    await client.subscribeAsync(`ven/cmd/${ven.id}`, { qos: 1 });
    vens.push(ven);
    clients.push(client);
  }
  const publishAll = async () => {
    const now = Date.now();
    await Promise.all(
      vens.map((v, i) =>
        v.silentUntil > now
          ? Promise.resolve()
          : clients[i]!.publishAsync(`ven/telemetry/${v.id}`, JSON.stringify(v.metering(now)), { qos: 1 }),
      ),
    );
  };
  const timer =
    opts.intervalMs > 0 ? setInterval(() => void publishAll().catch(() => undefined), opts.intervalMs) : null;
  return {
    vens,
    publishAll,
    async stop() {
      if (timer) clearInterval(timer);
      await Promise.all(clients.map((c) => c.endAsync()));
    },
  };
}

/**
 * `--prefix`: the VEN ids it makes (`<prefix>-001` …) must be ones the gateway takes, and name
 * their live telemetry topics.
 */
function venPrefix(value: string): string {
  const id = `${value}-10000`;
  if (!isVenId(id) || telemetryTopic(id) === null)
    throw new InvalidArgumentError(
      'must be letters, digits and _.:@- (dots only between words), at most 122 characters',
    );
  return value;
}

export function registerSimulator(command: Command): void {
  command
    .description('simulated VENs speaking MQTT: metering, acks, curtailment, silence on request')
    .option('--vens <n>', 'number of VENs', wholeNumber(1, 10_000), 5)
    .option(
      '--broker <url>',
      'MQTT broker URL (conflux serve logs its embedded broker’s)',
      'mqtt://127.0.0.1:1883',
    )
    .option('--interval <ms>', 'metering period in ms', wholeNumber(10), 5000)
    .option('--prefix <id>', 'VEN id prefix (ids are <prefix>-001 ...)', venPrefix)
    .option('--api-key <key>', 'device API key ck_<id>_<secret> from POST /auth/api-keys', apiKey)
    .option('--username <name>', 'MQTT username (for an API key: its id)')
    .option('--password <secret>', 'MQTT password (for an API key: its secret)')
    .action(
      async (o: {
        vens: number;
        broker: string;
        interval: number;
        prefix?: string;
        apiKey?: { id: string; secret: string };
        username?: string;
        password?: string;
      }) => {
        if (o.apiKey && (o.username !== undefined || o.password !== undefined))
          command.error('error: give either --api-key or --username/--password, not both');
        const fleet = await startFleet({
          url: o.broker,
          count: o.vens,
          intervalMs: o.interval,
          prefix: o.prefix,
          username: o.apiKey?.id ?? o.username,
          password: o.apiKey?.secret ?? o.password,
          log: (line) => process.stdout.write(`${line}\n`),
        });
        process.stdout.write(
          `${o.vens} VENs on ${o.broker} (${fleet.vens[0]?.id} …), metering every ${o.interval} ms; Ctrl-C to stop\n` +
            `silence one: publish {"op":"silence","durationSec":120} to ven/cmd/<venId>\n`,
        );
        await fleet.publishAll();
        const stop = () => void fleet.stop().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );
}
