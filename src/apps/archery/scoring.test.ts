import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FACE_CATALOGUE } from './faces-catalogue.ts';
import { arrowSpeed, faceScore, score, type FaceRings, type TargetGeometry } from './scoring.ts';

/** Rings with distinct radii; points in any relation to the radii. */
const rings = fc
  .uniqueArray(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 10 })
  .chain((radii) =>
    fc
      .array(fc.integer({ min: 0, max: 10 }), { minLength: radii.length, maxLength: radii.length })
      .map((points) => ({
        radii,
        points,
      })),
  );

/** A well-formed face: points never grow outward (every real face). */
const monotoneRings = rings.map(({ radii }) => {
  const sorted = [...radii].sort((a, b) => a - b);
  return { radii: sorted, points: sorted.map((_, i) => sorted.length - i) };
});

const target = (faces: FaceRings[]): TargetGeometry => ({ maxX: 1500, maxY: 1500, faces });
const coordinate = fc.double({ min: 0, max: 1500, noNaN: true });

describe('scoring', () => {
  it('does not depend on the order the rings are stored in', () => {
    fc.assert(
      fc.property(rings, coordinate, coordinate, fc.integer(), (r, x, y, seed) => {
        const pairs = r.radii.map((radius, i) => [radius, r.points[i] as number] as const);
        const shuffled = fc.sample(fc.shuffledSubarray(pairs, { minLength: pairs.length }), {
          seed,
          numRuns: 1,
        })[0]!;
        const a: FaceRings = { x: 750, y: 750, ...r };
        const b: FaceRings = {
          x: 750,
          y: 750,
          radii: shuffled.map((p) => p[0]),
          points: shuffled.map((p) => p[1]),
        };
        expect(score(x, y, target([a]))).toBe(score(x, y, target([b])));
      }),
    );
  });

  it('never scores more further from the centre (well-formed faces)', () => {
    fc.assert(
      fc.property(
        monotoneRings,
        fc.double({ min: 0, max: 700, noNaN: true }),
        fc.double({ min: 0, max: 700, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        (r, d1, d2, angle) => {
          const face: FaceRings = { x: 750, y: 750, ...r };
          const at = (d: number) =>
            score(750 + d * Math.cos(angle), 750 + d * Math.sin(angle), target([face]));
          const [near, far] = d1 <= d2 ? [d1, d2] : [d2, d1];
          expect(at(near)).toBeGreaterThanOrEqual(at(far) as number);
        },
      ),
    );
  });

  it('is null for a miss, a shot off the target or a target without faces', () => {
    fc.assert(
      fc.property(rings, fc.double({ noNaN: true, min: -1e6, max: 1e6 }), coordinate, (r, x, y) => {
        const t = target([{ x: 750, y: 750, ...r }]);
        expect(score(null, y, t)).toBeNull();
        expect(score(x, null, t)).toBeNull();
        expect(score(x, y, null)).toBeNull();
        expect(score(x, y, target([]))).toBeNull();
        if (x < 0 || x > 1500) expect(score(x, y, t)).toBeNull();
        else expect(score(x, y, t)).not.toBeNull();
      }),
    );
  });

  it('takes the best face', () => {
    fc.assert(
      fc.property(fc.array(rings, { minLength: 1, maxLength: 3 }), coordinate, coordinate, (rs, x, y) => {
        const faces = rs.map((r, i) => ({ x: 250 + 500 * i, y: 750, ...r }));
        const s = score(x, y, target(faces));
        expect(s).toBe(Math.max(...faces.map((f) => faceScore(x, y, f))));
      }),
    );
  });

  it('scores the catalogue faces as World Archery does', () => {
    for (const face of FACE_CATALOGUE) {
      const spot: FaceRings = { x: 0, y: 0, radii: face.radii, points: face.points };
      expect(faceScore(0, 0, spot)).toBe(10);
      // On a line: the line-cutter gets the higher score.
      expect(faceScore(face.radii[0] as number, 0, spot)).toBe(10);
      expect(faceScore(Math.max(...face.radii) + 0.01, 0, spot)).toBe(0);
    }
    const full122 = FACE_CATALOGUE.find((f) => f.id === 'wa-122-full');
    expect(
      faceScore(100, 0, { radii: full122?.radii ?? [], points: full122?.points ?? [], x: 0, y: 0 }),
    ).toBe(9);
  });

  it('computes speed from distance and time of flight', () => {
    expect(arrowSpeed(18, 0.3)).toBeCloseTo(60);
    expect(arrowSpeed(18, 0)).toBeNull();
    expect(arrowSpeed(18, null)).toBeNull();
  });
});
