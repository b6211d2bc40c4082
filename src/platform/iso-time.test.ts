import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoFormatter } from './iso-time.ts';

describe('isoFormatter', () => {
  const isoTime = isoFormatter();
  it('formats as Date#toISOString does, in and out of the fast path', () => {
    const near = fc.integer({ min: 1_767_225_000_000, max: 1_767_226_000_000 });
    const any = fc.oneof(
      near,
      fc.integer({ min: -8_640_000_000_000_000, max: 8_640_000_000_000_000 }),
      fc.double({ min: -1e13, max: 1e13, noNaN: true }),
    );
    fc.assert(
      fc.property(fc.array(any, { minLength: 1, maxLength: 50 }), (times) => {
        for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 500 },
    );
  });

  it('handles the edges of a minute and of the fast range', () => {
    for (const ms of [0, 59_999, 60_000, 1_767_225_599_999, 1_767_225_600_000, 253_402_300_799_999])
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});
