import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedVen } from './simulator.ts';

/** A VEN built from a fixed list of random numbers, reused in turn. */
const venFrom = (numbers: number[]) => {
  let i = 0;
  return new SimulatedVen('sim-001', () => numbers[i++ % numbers.length]!);
};
const randoms = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
  minLength: 1,
  maxLength: 64,
});

describe('simulated VEN', () => {
  it('always has a circuit to shed, and sheds it when an event asks', () => {
    fc.assert(
      fc.property(randoms, fc.double({ min: 0.1, max: 50, noNaN: true }), (numbers, shedKw) => {
        const ven = venFrom(numbers);
        expect(ven.circuits.some((c) => !c.critical)).toBe(true);
        const ack = ven.command({ op: 'event', eventId: 'ev-1', shedKw, correlationId: 'c-1' }, 1000);
        expect(ack).toMatchObject({ op: 'event', status: 'accepted', eventId: 'ev-1' });
        expect(ack?.actualShedKw).toBeGreaterThan(0);
        expect((ack?.circuitsCurtailed as unknown[]).length).toBeGreaterThan(0);
        // the critical circuits still run
        const loads = ven.metering().loads;
        for (const c of ven.circuits.filter((x) => x.critical))
          expect(loads.find((l) => l.id === c.id)?.enabled).toBe(true);
      }),
    );
  });

  it('answers a repeated event command with the same ack, and restores every circuit', () => {
    fc.assert(
      fc.property(randoms, (numbers) => {
        const ven = venFrom(numbers);
        const cmd = { op: 'event', eventId: 'ev-1', shedKw: 4, correlationId: 'c-1' };
        const first = ven.command(cmd, 1000);
        const again = ven.command(cmd, 2000);
        expect(again).toEqual({ ...first, timestamp: 2000 });
        expect(ven.metering().eventId).toBe('ev-1');

        expect(ven.command({ op: 'restore', eventId: 'ev-1', correlationId: 'c-2' })).toMatchObject({
          op: 'restore',
          status: 'success',
          eventId: 'ev-1',
        });
        const after = ven.metering();
        expect(after.eventId).toBeNull();
        expect(after.loads.every((l) => l.enabled)).toBe(true);
        // after a restore the next event curtails afresh
        expect(ven.command({ ...cmd, correlationId: 'c-3' }, 3000)?.actualShedKw).toBeGreaterThan(0);
      }),
    );
  });
});
