/**
 * Worker thread of the grid-ingest benchmark: simulated VENs publishing metering (5 loads per
 * message) at QoS 1 over several connections, flat out or at a fixed rate. Posts the send time of
 * every message (by sequence number) back to the main thread in chunks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';

export interface PublishJob {
  url: string;
  connections: number;
  vens: number;
  /** First sequence number and how many to send. */
  first: number;
  count: number;
  /** Messages per second in total; 0 = as fast as the broker acknowledges. */
  rate: number;
  /** Upper bound of the phase in ms. */
  maxMs: number;
  base: number;
  /** In-flight QoS 1 messages per connection. */
  window: number;
  /** Topic prefix: `ven/telemetry` for the gateway, something it does not read for the baseline. */
  topic: string;
}

const job = workerData as PublishJob;
const now = () => performance.timeOrigin + performance.now();

function payload(seq: number): string {
  const ven = seq % job.vens;
  const loads = [];
  for (let i = 0; i < 5; i++)
    loads.push({
      id: `c${i}`,
      name: `circuit ${i}`,
      type: i === 0 ? 'hvac' : i === 1 ? 'ev_charger' : 'lighting',
      capacityKw: 7.2,
      shedCapabilityKw: i === 0 ? 0 : 1.5,
      currentPowerKw: 1 + ((seq + i) % 5) * 0.3,
      enabled: true,
    });
  return JSON.stringify({
    venId: `bench-${ven}`,
    timestamp: job.base + seq,
    usedPowerKw: 5 + (seq % 7),
    shedPowerKw: 4.5,
    loads,
  });
}

const clients = await Promise.all(
  Array.from({ length: job.connections }, (_, i) =>
    mqtt.connectAsync(job.url, { clientId: `bench-pub-${job.first}-${i}`, clean: true, reconnectPeriod: 0 }),
  ),
);
const sent = new Float64Array(2 * 4096);
let filled = 0;
const flush = () => {
  if (filled === 0) return;
  parentPort!.postMessage(sent.slice(0, filled * 2));
  filled = 0;
};
const cpu0 = process.threadCpuUsage();
const start = now();
let next = 0;
let acked = 0;
async function lane(ci: number) {
  const client = clients[ci]!;
  for (;;) {
    const seq = next++;
    if (seq >= job.count || now() - start > job.maxMs) return;
    if (job.rate > 0) {
      const due = start + (seq * 1000) / job.rate;
      const wait = due - now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    const s = job.first + seq;
    const t = now();
    sent[filled * 2] = s;
    sent[filled * 2 + 1] = t;
    if (++filled === 4096) flush();
    await client.publishAsync(`${job.topic}/bench-${s % job.vens}`, payload(s), { qos: 1 });
    acked++;
  }
}
const lanes: Promise<void>[] = [];
for (let ci = 0; ci < job.connections; ci++) for (let w = 0; w < job.window; w++) lanes.push(lane(ci));
await Promise.all(lanes);
flush();
const elapsed = now() - start;
await Promise.all(clients.map((c) => c.endAsync()));
const cpu = process.threadCpuUsage(cpu0);
parentPort!.postMessage({ done: true, acked, elapsedMs: elapsed, cpuUs: cpu.user + cpu.system });
