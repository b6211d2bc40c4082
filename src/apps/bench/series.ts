/**
 * From the raw tables of one node to its clean series: tables are outer-joined on ElapsedTime
 * (row index when a table has none), gaps inside a column's own time range are interpolated
 * linearly, known fields are mapped to typed columns, implausible values become NaN, power is
 * chosen (or derived from cumulative energy) and integrated.
 */
import {
  MAX_EPOCH_S,
  MAX_NODE_POWER_W,
  cumulativeEnergy,
  hasSignal,
  nullOutside,
  onto,
  powerFromEnergy,
} from './compute.ts';
import type { RawNode, RawTable } from './h5-reader.ts';

/** Typed sample columns besides elapsed/epoch/power/energy, by the HDF5 field they come from. */
export const METRIC_FIELDS = {
  energy_counter_j: ['Energy'],
  cpu_frequency: ['CPUFrequency'],
  cpu_time: ['CPUTime'],
  cpu_utilization: ['CPUUtilization'],
  gpu_utilization: ['GPUUtilization'],
  gpu_mem_mb: ['GPUMemMB'],
  rss: ['RSS'],
  vm_size: ['VMSize'],
  pages: ['Pages'],
  read_mb: ['ReadMB'],
  write_mb: ['WriteMB'],
} as const;
export type MetricColumn = keyof typeof METRIC_FIELDS;
export const METRIC_COLUMNS = Object.keys(METRIC_FIELDS) as MetricColumn[];

/** Power fields in order of preference. */
const POWER_FIELDS = ['NodePower', 'CurrPower', 'Power'];

export interface NodeSeries {
  node: string;
  elapsed: Float64Array;
  epoch: Float64Array;
  power: Float64Array;
  energyJ: Float64Array;
  metrics: Record<MetricColumn, Float64Array>;
  /** Where power came from, for the job log. */
  powerSource: string;
}

export type NodeResult = { ok: true; series: NodeSeries } | { ok: false; node: string; reason: string };

interface Joined {
  axis: Float64Array;
  /** column name → values on the axis */
  columns: Map<string, { field: string; values: Float64Array }>;
}

/** Outer join of a node's tables on ElapsedTime. */
export function joinTables(tables: RawTable[]): Joined {
  const timeOf = (t: RawTable) => t.columns.find((c) => c.field === 'ElapsedTime')?.values;
  const timed = tables.filter((t) => timeOf(t) !== undefined);
  const axes: Float64Array[] = tables.map((t) => {
    const own = timeOf(t);
    if (own) return own;
    const rows = t.columns[0]?.values.length ?? 0;
    // a table without time that matches a timed table's length shares its clock
    const twin = timed.find((x) => (timeOf(x)?.length ?? -1) === rows);
    return twin ? (timeOf(twin) as Float64Array) : Float64Array.from({ length: rows }, (_, i) => i);
  });
  const first = axes[0] ?? new Float64Array(0);
  // the common case: every table on the same clock, which needs no join at all
  const shared = axes.every((a) => sameArray(a, first)) && isIncreasing(first);
  const axis = shared ? first : unionAxis(axes);
  const columns = new Map<string, { field: string; values: Float64Array }>();
  tables.forEach((table, i) => {
    const own = axes[i] as Float64Array;
    for (const c of table.columns) {
      if (c.field === 'ElapsedTime' || columns.has(c.name)) continue;
      columns.set(c.name, { field: c.field, values: shared ? c.values : onto(own, c.values, axis) });
    }
  });
  return { axis, columns };
}

function sameArray(a: Float64Array, b: Float64Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isIncreasing(a: Float64Array): boolean {
  for (let i = 1; i < a.length; i++) if (!((a[i] ?? NaN) > (a[i - 1] ?? NaN))) return false;
  return Number.isFinite(a[0] ?? 0);
}

/** Sorted distinct finite times of all axes. */
export function unionAxis(axes: Float64Array[]): Float64Array {
  let n = 0;
  for (const a of axes) n += a.length;
  const all = new Float64Array(n);
  let k = 0;
  for (const a of axes) for (const v of a) if (Number.isFinite(v)) all[k++] = v;
  const sorted = all.subarray(0, k).sort();
  let m = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[m - 1]) sorted[m++] = sorted[i] ?? 0;
  }
  return sorted.slice(0, m);
}

/** The clean series of one node, or why it has nothing usable. */
export function buildNodeSeries(raw: RawNode): NodeResult {
  const tables = raw.tables.filter((t) => t.columns.length > 0 && (t.columns[0]?.values.length ?? 0) > 0);
  if (tables.length === 0) return { ok: false, node: raw.name, reason: 'no non-empty numeric datasets' };
  const { axis, columns } = joinTables(tables);
  const byField = (fields: readonly string[]) => {
    for (const f of fields) {
      for (const [name, c] of columns)
        if (c.field === f && hasSignal(c.values)) return { name, values: c.values };
    }
    return undefined;
  };
  const counter = byField(['Energy']);
  const direct = byField(POWER_FIELDS);
  let power: Float64Array;
  let powerSource: string;
  if (direct) {
    power = Float64Array.from(direct.values);
    powerSource = direct.name;
  } else if (counter) {
    power = powerFromEnergy(axis, counter.values);
    powerSource = `ΔE/Δt of ${counter.name}`;
  } else {
    return { ok: false, node: raw.name, reason: 'no power and no cumulative energy (or only zeros)' };
  }
  nullOutside(power, 0, MAX_NODE_POWER_W);
  const metrics = {} as Record<MetricColumn, Float64Array>;
  for (const col of METRIC_COLUMNS) {
    const found = byField(METRIC_FIELDS[col]);
    metrics[col] = found ? Float64Array.from(found.values) : new Float64Array(axis.length).fill(NaN);
  }
  nullOutside(metrics.cpu_utilization, 0, 100);
  nullOutside(metrics.gpu_utilization, 0, 100);
  const epochCol = byField(['EpochTime']);
  const epoch = epochCol
    ? nullOutside(Float64Array.from(epochCol.values), 0, MAX_EPOCH_S)
    : new Float64Array(axis.length).fill(NaN);
  return {
    ok: true,
    series: {
      node: raw.name,
      elapsed: axis,
      epoch,
      power,
      energyJ: cumulativeEnergy(axis, power),
      metrics,
      powerSource,
    },
  };
}
