/**
 * The numbers of the bench app, as pure functions over typed arrays. Missing or implausible
 * values are NaN here and null in the database and the API.
 */

/** Upper bound for an epoch in seconds (2100-01-01). */
export const MAX_EPOCH_S = 4_102_444_800;
/** Highest plausible power of one node in W. */
export const MAX_NODE_POWER_W = 10_000;

/** Replaces values outside [min, max] (and non-finite ones) by NaN, in place. */
export function nullOutside(values: Float64Array, min: number, max: number): Float64Array {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? NaN;
    if (!(v >= min && v <= max)) values[i] = NaN;
  }
  return values;
}

/** True when the column has at least one finite value that is not zero. */
export function hasSignal(values: Float64Array): boolean {
  for (const v of values) if (Number.isFinite(v) && v !== 0) return true;
  return false;
}

/**
 * Power from a cumulative energy counter: ΔE/Δt between consecutive samples; the first sample
 * takes the first interval's value. A step back (counter reset) or Δt ≤ 0 gives NaN.
 */
export function powerFromEnergy(elapsed: Float64Array, energy: Float64Array): Float64Array {
  const n = elapsed.length;
  const p = new Float64Array(n).fill(NaN);
  for (let i = 1; i < n; i++) {
    const dt = (elapsed[i] ?? NaN) - (elapsed[i - 1] ?? NaN);
    const de = (energy[i] ?? NaN) - (energy[i - 1] ?? NaN);
    if (dt > 0 && de >= 0) p[i] = de / dt;
  }
  if (n > 1) p[0] = p[1] ?? NaN;
  return p;
}

/**
 * Cumulative energy in J by the trapezoidal rule; an interval with an unknown end contributes
 * nothing (it is neither guessed nor allowed to poison the rest).
 */
export function cumulativeEnergy(elapsed: Float64Array, power: Float64Array): Float64Array {
  const n = elapsed.length;
  const e = new Float64Array(n);
  let acc = 0;
  for (let i = 1; i < n; i++) {
    const dt = (elapsed[i] ?? NaN) - (elapsed[i - 1] ?? NaN);
    const inc = (((power[i - 1] ?? NaN) + (power[i] ?? NaN)) / 2) * dt;
    if (Number.isFinite(inc) && dt > 0) acc += inc;
    e[i] = acc;
  }
  return e;
}

export interface Summary {
  samples: number;
  energyJ: number;
  energyKwh: number;
  /** Time to solution: last − first elapsed time. */
  ttsS: number;
  avgPowerW: number | null;
  peakPowerW: number | null;
  /** Elapsed time (s) of the peak. */
  peakAtS: number | null;
  /** Energy-delay product, J·s. */
  edpJs: number;
  /** EUR; null without a price series or epoch times. */
  costEur: number | null;
}

/** The summary of one node's series. */
export function summarize(
  elapsed: Float64Array,
  power: Float64Array,
  energyJ: Float64Array,
  costEur: number | null,
): Summary {
  let tMin = Infinity;
  let tMax = -Infinity;
  let peak = -Infinity;
  let peakAt = NaN;
  for (let i = 0; i < elapsed.length; i++) {
    const t = elapsed[i] ?? NaN;
    if (t < tMin) tMin = t;
    if (t > tMax) tMax = t;
    const p = power[i] ?? NaN;
    if (p > peak) {
      peak = p;
      peakAt = t;
    }
  }
  const ets = energyJ.length > 0 ? (energyJ[energyJ.length - 1] ?? 0) : 0;
  const tts = Number.isFinite(tMax - tMin) ? tMax - tMin : 0;
  return {
    samples: elapsed.length,
    energyJ: ets,
    energyKwh: ets / 3.6e6,
    ttsS: tts,
    avgPowerW: tts > 0 ? ets / tts : null,
    peakPowerW: Number.isFinite(peak) ? peak : null,
    peakAtS: Number.isFinite(peak) ? peakAt : null,
    edpJs: ets * tts,
    costEur,
  };
}

/**
 * Values at `axis`: exact where the column has a sample, linear between its neighbours inside
 * its own time range, NaN outside it. `own` need not be sorted.
 */
export function onto(own: Float64Array, values: Float64Array, axis: Float64Array): Float64Array {
  if (own === axis) return values;
  const order = Array.from({ length: own.length }, (_, i) => i)
    .filter((i) => Number.isFinite(own[i] ?? NaN) && Number.isFinite(values[i] ?? NaN))
    .sort((a, b) => (own[a] ?? 0) - (own[b] ?? 0));
  const out = new Float64Array(axis.length).fill(NaN);
  let j = 0;
  for (let i = 0; i < axis.length; i++) {
    const t = axis[i] ?? NaN;
    while (j + 1 < order.length && (own[order[j + 1] ?? 0] ?? 0) <= t) j++;
    const a = order[j];
    if (a === undefined) break;
    const ta = own[a] ?? NaN;
    if (t === ta) out[i] = values[a] ?? NaN;
    else if (t > ta && j + 1 < order.length) {
      const b = order[j + 1] as number;
      const tb = own[b] ?? NaN;
      out[i] = (values[a] ?? NaN) + ((t - ta) / (tb - ta)) * ((values[b] ?? NaN) - (values[a] ?? NaN));
    }
  }
  return out;
}

/** Points of the common time axis {@link jobPeak} resamples unaligned nodes onto, at most. */
const MAX_AXIS = 10_000_000;
/** Node × axis points {@link jobPeak} evaluates at most (it coarsens the axis beyond). */
const MAX_WORK = 50_000_000;

/**
 * The job's peak power and its time: the highest value of the nodes' power added up over time,
 * the job's own power, of which the average power is the mean. Nodes sampled on the same clock
 * (the usual case) are added sample by sample; otherwise each node is interpolated linearly onto
 * one axis from the earliest start to the latest end, spaced like the most finely sampled node,
 * ({@link onto}) and counts as 0 outside its own span; the result is at least the highest node
 * sample. On one clock NaN samples count as 0; without any finite sample there is no peak (null).
 */
export function jobPeak(
  nodes: { elapsed: Float64Array; power: Float64Array }[],
): { w: number; atS: number } | null {
  const first = nodes[0];
  if (first === undefined || first.elapsed.length === 0) return null;
  const aligned = nodes.every(
    (n) => n.elapsed.length === first.elapsed.length && n.elapsed.every((t, i) => t === first.elapsed[i]),
  );
  let axis: Float64Array;
  let sum: Float64Array;
  if (aligned) {
    axis = first.elapsed;
    sum = new Float64Array(axis.length);
    for (const n of nodes) for (let i = 0; i < axis.length; i++) sum[i]! += finite(n.power[i]);
  } else {
    let start = Infinity;
    let end = -Infinity;
    let step = Infinity;
    for (const n of nodes) {
      const len = n.elapsed.length;
      if (len === 0) continue;
      start = Math.min(start, n.elapsed[0]!);
      end = Math.max(end, n.elapsed[len - 1]!);
      if (len > 1) step = Math.min(step, (n.elapsed[len - 1]! - n.elapsed[0]!) / (len - 1));
    }
    const span = end - start;
    if (!Number.isFinite(step) || step <= 0) step = span > 0 ? span : 1;
    step = Math.max(step, span / (MAX_AXIS - 1), (span * nodes.length) / MAX_WORK);
    const points = Math.floor(span / step + 1e-9) + 1;
    axis = Float64Array.from({ length: points }, (_, i) => start + i * step);
    sum = new Float64Array(points);
    for (const n of nodes) {
      if (n.elapsed.length === 0) continue;
      const v = onto(n.elapsed, n.power, axis);
      for (let i = 0; i < points; i++) if (Number.isFinite(v[i])) sum[i]! += v[i]!;
    }
  }
  let best = -Infinity;
  let at = NaN;
  for (let i = 0; i < sum.length; i++) {
    if (sum[i]! > best) {
      best = sum[i]!;
      at = axis[i]!;
    }
  }
  // Power is never negative, so the sum peaks at least as high as any one node; on an
  // interpolated axis a node's own peak can fall between two points.
  let any = false;
  for (const n of nodes) {
    for (let i = 0; i < n.power.length; i++) {
      const p = n.power[i]!;
      if (!Number.isFinite(p)) continue;
      any = true;
      if (p > best) {
        best = p;
        at = n.elapsed[i]!;
      }
    }
  }
  return any && Number.isFinite(best) ? { w: best, atS: at } : null;
}

const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : 0);

/**
 * The job's summary from its nodes': energies and costs add up, TTS spans the earliest start
 * to the latest end; the peak is `peak` ({@link jobPeak}), or without it the highest node peak.
 */
export function combine(
  nodes: { summary: Summary; start: number; end: number }[],
  peak?: { w: number; atS: number } | null,
): Summary {
  let energy = 0;
  let samples = 0;
  let start = Infinity;
  let end = -Infinity;
  let nodePeak: number | null = null;
  let nodePeakAt: number | null = null;
  let cost: number | null = 0;
  for (const { summary: s, start: a, end: b } of nodes) {
    energy += s.energyJ;
    samples += s.samples;
    if (a < start) start = a;
    if (b > end) end = b;
    if (s.peakPowerW !== null && (nodePeak === null || s.peakPowerW > nodePeak)) {
      nodePeak = s.peakPowerW;
      nodePeakAt = s.peakAtS;
    }
    cost = cost === null || s.costEur === null ? null : cost + s.costEur;
  }
  const tts = Number.isFinite(end - start) ? end - start : 0;
  return {
    samples,
    energyJ: energy,
    energyKwh: energy / 3.6e6,
    ttsS: tts,
    avgPowerW: tts > 0 ? energy / tts : null,
    peakPowerW: peak === undefined ? nodePeak : (peak?.w ?? null),
    peakAtS: peak === undefined ? nodePeakAt : (peak?.atS ?? null),
    edpJs: energy * tts,
    costEur: nodes.length === 0 ? null : cost,
  };
}

/** An electricity price series: times in epoch ms (ascending), prices in EUR/MWh. */
export interface PriceSeries {
  t: Float64Array;
  eurPerMwh: Float64Array;
}

/** Price in EUR/MWh at `ms`: linear between points, the nearest point outside the series. */
export function priceAt(prices: PriceSeries, ms: number): number {
  const { t, eurPerMwh: p } = prices;
  const n = t.length;
  if (n === 0 || !Number.isFinite(ms)) return NaN;
  if (ms <= (t[0] ?? 0)) return p[0] ?? NaN;
  if (ms >= (t[n - 1] ?? 0)) return p[n - 1] ?? NaN;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((t[mid] ?? 0) <= ms) lo = mid;
    else hi = mid;
  }
  const t0 = t[lo] ?? 0;
  const t1 = t[hi] ?? 0;
  const f = t1 > t0 ? (ms - t0) / (t1 - t0) : 0;
  return (p[lo] ?? NaN) + f * ((p[hi] ?? NaN) - (p[lo] ?? NaN));
}

/**
 * Cost in EUR: Σ ΔE(kWh) × price(EUR/MWh ÷ 1000) over the sample intervals, priced at the
 * interval's midpoint epoch. Null without prices or without any epoch time.
 */
export function cost(epochS: Float64Array, energyJ: Float64Array, prices: PriceSeries | null): number | null {
  if (!prices || prices.t.length === 0) return null;
  let total = 0;
  let priced = 0;
  for (let i = 1; i < energyJ.length; i++) {
    const dKwh = ((energyJ[i] ?? 0) - (energyJ[i - 1] ?? 0)) / 3.6e6;
    if (dKwh === 0) continue;
    const mid = (((epochS[i] ?? NaN) + (epochS[i - 1] ?? NaN)) / 2) * 1000;
    const eurPerKwh = priceAt(prices, mid) / 1000;
    if (!Number.isFinite(eurPerKwh)) continue;
    total += dKwh * eurPerKwh;
    priced++;
  }
  return priced > 0 ? total : null;
}

/** Parses `epoch_ms,eur_per_mwh` lines (a header line and blank lines are skipped). */
export function parsePriceCsv(text: string): PriceSeries {
  const pts: [number, number][] = [];
  for (const line of text.split(/\r?\n/)) {
    const [a, b] = line.split(/[,;]/).map((s) => s.trim());
    const t = Number(a);
    const p = Number(b);
    if (a && b && Number.isFinite(t) && Number.isFinite(p)) pts.push([t, p]);
  }
  return toSeries(pts);
}

/** Parses SMARD chart data `{"series": [[epoch_ms, price|null], ...]}`. */
export function parseSmardJson(json: unknown): PriceSeries {
  const series = (json as { series?: unknown } | null)?.series;
  if (!Array.isArray(series)) throw new Error('price JSON has no "series" array');
  const pts: [number, number][] = [];
  for (const point of series) {
    if (!Array.isArray(point)) continue;
    const [t, p] = point as unknown[];
    if (typeof t === 'number' && typeof p === 'number' && Number.isFinite(t) && Number.isFinite(p))
      pts.push([t, p]);
  }
  return toSeries(pts);
}

function toSeries(pts: [number, number][]): PriceSeries {
  pts.sort((x, y) => x[0] - y[0]);
  return { t: Float64Array.from(pts, (x) => x[0]), eurPerMwh: Float64Array.from(pts, (x) => x[1]) };
}

export const APPLIANCES: readonly { name: string; watts: number }[] = [
  { name: 'hair dryer', watts: 1800 },
  { name: 'electric kettle', watts: 2000 },
  { name: 'microwave oven', watts: 1000 },
  { name: 'laptop', watts: 60 },
  { name: 'light bulb', watts: 60 },
  { name: 'fridge', watts: 150 },
  { name: 'television', watts: 100 },
  { name: 'washing machine', watts: 500 },
  { name: 'oven', watts: 2500 },
];

/**
 * The appliance whose run time on `energyJ` is closest to 10 minutes, if that run time is
 * between 1 and 120 minutes.
 */
export function equivalentAppliance(
  energyJ: number,
): { name: string; watts: number; minutes: number } | null {
  let best: { name: string; watts: number; minutes: number } | null = null;
  for (const a of APPLIANCES) {
    const minutes = energyJ / a.watts / 60;
    if (minutes < 1 || minutes > 120) continue;
    if (!best || Math.abs(minutes - 10) < Math.abs(best.minutes - 10)) best = { ...a, minutes };
  }
  return best;
}
