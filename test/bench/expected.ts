/**
 * The numbers a profile should produce, computed here from the raw arrays the fixture wrote,
 * independently of the app's code (plain loops, no shared helpers).
 */
import type { NodeSpec } from '../../src/apps/bench/simulator.ts';

export interface Expected {
  energyJ: number;
  ttsS: number;
  peakW: number;
  samples: number;
  costEur: number;
  perNode: { node: string; energyJ: number; samples: number }[];
}

/** `prices`: [epoch ms, EUR/MWh] sorted; interpolated linearly, held flat outside. */
export function expectedFor(nodes: NodeSpec[], prices: [number, number][]): Expected {
  const priceAt = (ms: number) => {
    const first = prices[0] as [number, number];
    const last = prices[prices.length - 1] as [number, number];
    if (ms <= first[0]) return first[1];
    if (ms >= last[0]) return last[1];
    for (let i = 1; i < prices.length; i++) {
      const [t1, p1] = prices[i] as [number, number];
      const [t0, p0] = prices[i - 1] as [number, number];
      if (ms <= t1) return p0 + ((ms - t0) / (t1 - t0)) * (p1 - p0);
    }
    return last[1];
  };
  let energyJ = 0;
  let costEur = 0;
  // The job's power is the nodes' power added up at each time (they share one clock here).
  const total = new Map<number, number>();
  let samples = 0;
  let start = Infinity;
  let end = -Infinity;
  const perNode: Expected['perNode'] = [];
  for (const node of nodes) {
    const table = node.tables.find((t) => t.path === 'Energy');
    const t = table?.columns.ElapsedTime ?? new Float64Array(0);
    const p = table?.columns.NodePower ?? new Float64Array(0);
    const epoch = table?.columns.EpochTime ?? new Float64Array(0);
    let e = 0;
    for (let i = 1; i < t.length; i++) {
      const de = (((p[i - 1] as number) + (p[i] as number)) / 2) * ((t[i] as number) - (t[i - 1] as number));
      e += de;
      const midMs = (((epoch[i - 1] as number) + (epoch[i] as number)) / 2) * 1000;
      costEur += (de / 3_600_000) * (priceAt(midMs) / 1000);
    }
    for (let i = 0; i < t.length; i++)
      total.set(t[i] as number, (total.get(t[i] as number) ?? 0) + (p[i] as number));
    energyJ += e;
    samples += t.length;
    start = Math.min(start, t[0] as number);
    end = Math.max(end, t[t.length - 1] as number);
    perNode.push({ node: node.name, energyJ: e, samples: t.length });
  }
  const peakW = Math.max(...total.values());
  return { energyJ, ttsS: end - start, peakW, samples, costEur, perNode };
}
