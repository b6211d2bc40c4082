import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  combine,
  jobPeak,
  onto,
  cost,
  cumulativeEnergy,
  equivalentAppliance,
  parsePriceCsv,
  parseSmardJson,
  powerFromEnergy,
  priceAt,
  summarize,
} from './compute.ts';
import { unionAxis } from './series.ts';

const f64 = (xs: number[]) => Float64Array.from(xs);

describe('energy', () => {
  it('integrates by the trapezoidal rule', () => {
    expect(cumulativeEnergy(f64([0, 1, 3]), f64([100, 200, 200]))).toEqual(f64([0, 150, 550]));
  });

  it('skips intervals with an unknown end instead of poisoning the total', () => {
    expect(cumulativeEnergy(f64([0, 1, 2, 3]), f64([100, NaN, 100, 100]))).toEqual(f64([0, 0, 0, 100]));
  });

  it('constant power P over T gives P·T (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.array(fc.double({ min: 0.001, max: 100, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (p, steps) => {
          const t = new Float64Array(steps.length + 1);
          steps.forEach((d, i) => (t[i + 1] = (t[i] ?? 0) + d));
          const e = cumulativeEnergy(t, new Float64Array(t.length).fill(p));
          const total = (t[t.length - 1] ?? 0) - (t[0] ?? 0);
          expect(e[e.length - 1]).toBeCloseTo(p * total, 6);
        },
      ),
    );
  });

  it('ΔE/Δt of a counter integrates back to the counter (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 5000, noNaN: true }), { minLength: 2, maxLength: 40 }),
        (ps) => {
          // piecewise-constant power on 1 s steps: the counter is exact
          const t = f64(ps.map((_, i) => i));
          const counter = new Float64Array(ps.length);
          for (let i = 1; i < ps.length; i++) counter[i] = (counter[i - 1] ?? 0) + (ps[i] ?? 0);
          const p = powerFromEnergy(t, counter);
          for (let i = 1; i < ps.length; i++) expect(p[i]).toBeCloseTo(ps[i] ?? 0, 6);
          expect(p[0]).toBe(p[1]);
        },
      ),
    );
  });

  it('treats a counter reset as unknown power', () => {
    expect(powerFromEnergy(f64([0, 1, 2]), f64([0, 100, 50]))[2]).toBeNaN();
  });
});

describe('summary', () => {
  it('computes ETS, TTS as last − first, average, peak with its time, EDP', () => {
    const t = f64([10, 11, 12, 14]);
    const p = f64([100, 300, 200, 200]);
    const e = cumulativeEnergy(t, p);
    const s = summarize(t, p, e, null);
    expect(s).toEqual({
      samples: 4,
      energyJ: 200 + 250 + 400,
      energyKwh: 850 / 3.6e6,
      ttsS: 4,
      avgPowerW: 850 / 4,
      peakPowerW: 300,
      peakAtS: 11,
      edpJs: 850 * 4,
      costEur: null,
    });
  });

  it('combines nodes: energies and costs add, time spans all nodes', () => {
    const a = summarize(f64([0, 10]), f64([100, 100]), f64([0, 1000]), 0.5);
    const b = summarize(f64([5, 20]), f64([50, 250]), f64([0, 2250]), null);
    const job = combine([
      { summary: a, start: 0, end: 10 },
      { summary: b, start: 5, end: 20 },
    ]);
    expect(job.energyJ).toBe(3250);
    expect(job.ttsS).toBe(20);
    expect(job.peakPowerW).toBe(250);
    expect(job.costEur).toBeNull();
    expect(job.edpJs).toBe(3250 * 20);
  });

  it('takes the job’s peak from the nodes’ power added up over time', () => {
    // One clock: sample by sample. Node a peaks at 0 s, b at 10 s; together they peak at 5 s.
    const t = f64([0, 5, 10]);
    expect(
      jobPeak([
        { elapsed: t, power: f64([300, 200, 0]) },
        { elapsed: t, power: f64([0, 250, 400]) },
      ]),
    ).toEqual({ w: 450, atS: 5 });
    // Different clocks: interpolated onto one axis, each node 0 outside its span.
    const peak = jobPeak([
      { elapsed: f64([0, 10]), power: f64([100, 100]) },
      { elapsed: f64([5, 20]), power: f64([50, 200]) },
    ]);
    expect(peak?.atS).toBe(10);
    expect(peak?.w).toBeCloseTo(100 + 50 + (150 * 5) / 15, 9);
    expect(jobPeak([])).toBeNull();
    // Never below one node's own peak, even when it falls between two axis points.
    expect(
      jobPeak([
        { elapsed: f64([0, 1, 2]), power: f64([100, 100, 100]) },
        { elapsed: f64([0.5, 1.5, 2.5]), power: f64([100, 1000, 100]) },
      ])?.w,
    ).toBeGreaterThanOrEqual(1000);
    expect(jobPeak([{ elapsed: f64([0, 1]), power: f64([NaN, NaN]) }])).toBeNull();
  });
});

describe('cost', () => {
  const prices = parsePriceCsv('epoch_ms,eur_per_mwh\n0,100\n3600000,200\n');

  it('prices each energy increment at its time, EUR/MWh ÷ 1000 per kWh', () => {
    // 1 kWh in the first half hour at ~125 EUR/MWh, 1 kWh later at ~175 EUR/MWh
    const epoch = f64([0, 1800, 3600]);
    const energy = f64([0, 3.6e6, 7.2e6]);
    expect(cost(epoch, energy, prices)).toBeCloseTo(0.125 + 0.175, 10);
  });

  it('is null without a price series or without epoch times', () => {
    expect(cost(f64([0, 1]), f64([0, 1]), null)).toBeNull();
    expect(cost(f64([NaN, NaN]), f64([0, 1e6]), prices)).toBeNull();
  });

  it('interpolates inside the series and holds the nearest value outside', () => {
    expect(priceAt(prices, 1_800_000)).toBe(150);
    expect(priceAt(prices, -5)).toBe(100);
    expect(priceAt(prices, 9e9)).toBe(200);
  });

  it('reads SMARD chart JSON and skips null points', () => {
    const s = parseSmardJson({
      series: [
        [2000, 50],
        [1000, null],
        [1000, 40],
      ],
    });
    expect([...s.t]).toEqual([1000, 2000]);
    expect([...s.eurPerMwh]).toEqual([40, 50]);
    expect(() => parseSmardJson({ data: [] })).toThrow(/series/);
  });
});

describe('appliance equivalent', () => {
  it('picks the run time closest to 10 minutes within 1–120 minutes', () => {
    // 1.2 MJ: kettle 10 min exactly
    expect(equivalentAppliance(1.2e6)?.name).toBe('electric kettle');
    // 36 kJ: 60 W runs 10 min (laptop and light bulb tie; the first listed wins)
    expect(equivalentAppliance(36_000)).toEqual({ name: 'laptop', watts: 60, minutes: 10 });
    expect(equivalentAppliance(10)).toBeNull();
    expect(equivalentAppliance(1e12)).toBeNull();
  });
});

describe('join', () => {
  it('builds the sorted union of clocks and interpolates inside each column’s range only', () => {
    const axis = unionAxis([f64([0, 2, 4]), f64([1, 2, 3])]);
    expect([...axis]).toEqual([0, 1, 2, 3, 4]);
    expect([...onto(f64([0, 2, 4]), f64([10, 20, 40]), axis)]).toEqual([10, 15, 20, 30, 40]);
    expect([...onto(f64([3, 1, 2]), f64([30, 10, 20]), axis)]).toEqual([NaN, 10, 20, 30, NaN]);
  });
});
