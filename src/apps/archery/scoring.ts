/**
 * The scoring rule of the spec, as a pure function: the API, the live feed and the
 * performance view all score through it, so they can never disagree.
 */

export interface FaceRings {
  /** Centre of the face in target coordinates (mm). */
  x: number;
  y: number;
  /** Ring radii (mm), in any order; `points[i]` belongs to `radii[i]`. */
  radii: readonly number[];
  points: readonly number[];
}

export interface TargetGeometry {
  /** Target size (mm); shots outside [0, max] are off the target. */
  maxX: number;
  maxY: number;
  faces: readonly FaceRings[];
}

/** Points of one face: the innermost ring whose radius reaches the shot, 0 outside every ring. */
export function faceScore(x: number, y: number, face: FaceRings): number {
  const d = Math.hypot(x - face.x, y - face.y);
  // Sort rather than trust the stored order: rings may be stored outermost first.
  const rings = face.radii
    .map((r, i) => ({ r, points: face.points[i] ?? 0 }))
    .sort((a, b) => a.r - b.r || b.points - a.points);
  for (const ring of rings) if (d <= ring.r) return ring.points;
  return 0;
}

/**
 * Score of a shot landing at (x, y): null for a miss (no position), a shot outside the target
 * or a target without faces; otherwise the best score over the target's faces.
 */
export function score(x: number | null, y: number | null, target: TargetGeometry | null): number | null {
  if (x === null || y === null || target === null) return null;
  if (target.faces.length === 0) return null;
  if (x < 0 || y < 0 || x > target.maxX || y > target.maxY) return null;
  let best = 0;
  for (const face of target.faces) best = Math.max(best, faceScore(x, y, face));
  return best;
}

/** Time of flight (s) between leaving the bow and landing; null for a miss. */
export function timeOfFlightSeconds(disengage: Date, landing: Date | null): number | null {
  if (landing === null) return null;
  return (landing.getTime() - disengage.getTime()) / 1000;
}

/** Average speed (m/s) over the target distance; null for a miss or a zero time of flight. */
export function arrowSpeed(distanceM: number | null, timeOfFlight: number | null): number | null {
  if (distanceM === null || timeOfFlight === null || timeOfFlight <= 0) return null;
  return distanceM / timeOfFlight;
}
