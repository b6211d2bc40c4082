/**
 * World Archery target faces (Constitution & Rules, Book 3, target faces): ring radii in mm
 * measured from the centre, and the points of each ring. Triple faces are three 6-ring (10..6)
 * 40 cm or 60 cm spots, arranged vertically (indoor 18 m) or in a triangle (indoor 25 m).
 */

export interface CatalogueSpot {
  /** Offset of the spot centre from the face centre (mm); y grows downwards like the target. */
  dx: number;
  dy: number;
}

export interface CatalogueFace {
  id: string;
  name: string;
  /** Nominal face diameter (cm). */
  diameterCm: number;
  /** Ring radii (mm), innermost first, and the points of each ring. */
  radii: number[];
  points: number[];
  /** One spot for a single face; three for triple faces. */
  spots: CatalogueSpot[];
  /** Width and height (mm) the whole face needs on a target. */
  widthMm: number;
  heightMm: number;
}

/** Radii (mm) of a full 10-ring face of the given diameter: ten rings of equal width. */
function fullRings(diameterCm: number): { radii: number[]; points: number[] } {
  const width = (diameterCm * 10) / 20; // each of the 10 rings is 1/20 of the diameter (mm)
  const radii = Array.from({ length: 10 }, (_, i) => width * (i + 1));
  return { radii, points: [10, 9, 8, 7, 6, 5, 4, 3, 2, 1] };
}

/** The 6-ring face keeps the 10..5 rings of the full face of the same nominal size. */
function sixRings(diameterCm: number): { radii: number[]; points: number[] } {
  const full = fullRings(diameterCm);
  return { radii: full.radii.slice(0, 6), points: full.points.slice(0, 6) };
}

/** Triple spots keep the 10..6 rings of the 40 cm / 60 cm face. */
function spotRings(diameterCm: number): { radii: number[]; points: number[] } {
  const full = fullRings(diameterCm);
  return { radii: full.radii.slice(0, 5), points: full.points.slice(0, 5) };
}

function single(id: string, name: string, diameterCm: number, rings: { radii: number[]; points: number[] }) {
  const r = Math.max(...rings.radii);
  return { id, name, diameterCm, ...rings, spots: [{ dx: 0, dy: 0 }], widthMm: 2 * r, heightMm: 2 * r };
}

const triple40 = spotRings(40); // spot radius 100 mm
const triple60 = spotRings(60); // spot radius 150 mm

export const FACE_CATALOGUE: readonly CatalogueFace[] = [
  single('wa-122-full', 'World Archery 122 cm, 10 rings', 122, fullRings(122)),
  single('wa-80-full', 'World Archery 80 cm, 10 rings', 80, fullRings(80)),
  single('wa-60-full', 'World Archery 60 cm, 10 rings', 60, fullRings(60)),
  single('wa-40-full', 'World Archery 40 cm, 10 rings', 40, fullRings(40)),
  single('wa-122-6ring', 'World Archery 122 cm, 6 rings (10-5)', 122, sixRings(122)),
  single('wa-80-6ring', 'World Archery 80 cm, 6 rings (10-5)', 80, sixRings(80)),
  {
    id: 'wa-40-triple-vertical',
    name: 'World Archery 40 cm triple, vertical (3 spots, 10-6)',
    diameterCm: 40,
    ...triple40,
    // Spots 220 mm apart centre to centre, one above the other.
    spots: [
      { dx: 0, dy: -220 },
      { dx: 0, dy: 0 },
      { dx: 0, dy: 220 },
    ],
    widthMm: 200,
    heightMm: 640,
  },
  {
    id: 'wa-60-triple-triangular',
    name: 'World Archery 60 cm triple, triangular (3 spots, 10-6)',
    diameterCm: 60,
    ...triple60,
    // Two spots side by side under one centred above, 320 mm apart centre to centre.
    spots: [
      { dx: 0, dy: -139 },
      { dx: -160, dy: 139 },
      { dx: 160, dy: 139 },
    ],
    widthMm: 620,
    heightMm: 578,
  },
];

export function catalogueFace(id: string): CatalogueFace | undefined {
  return FACE_CATALOGUE.find((f) => f.id === id);
}
