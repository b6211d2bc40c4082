/**
 * Request and response schemas of the archery API (TypeBox): validation, types and the
 * OpenAPI document. Every response is the seed's envelope `{code, data, errors}`.
 */
import { Type, type Static, type TSchema } from 'typebox';

export const Uuid = Type.String({ format: 'uuid' });
export const Time = Type.String({ format: 'date-time' });
/** A timestamp in a response: rows hold Dates, which the serializer writes as ISO-8601. */
const TimeOut = Type.Unsafe<Date | string>(Type.String({ format: 'date-time' }));
/**
 * `nullable` (OpenAPI 3.0, understood by Ajv) rather than `anyOf [T, null]`: with type coercion
 * on, Ajv would turn a null into 0 or '' in the first branch of the union.
 */
const Nullable = <T extends TSchema>(t: T) => Type.Unsafe<Static<T> | null>({ ...t, nullable: true });
const Positive = Type.Number({ exclusiveMinimum: 0 });

/** The seed's response envelope: `code` is the HTTP status, `errors` says what went wrong. */
/** Input objects refuse unknown properties (Partial does not carry the option over). */
const STRICT = { additionalProperties: false } as const;

export const Envelope = <T extends TSchema>(data: T) =>
  Type.Object({ code: Type.Integer(), data, errors: Type.Array(Type.String()) });
export const ErrorEnvelope = Envelope(Type.Null());
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;
export const Deleted = Envelope(Type.Object({ id: Uuid }));

// --- arrows ---
export const Arrow = Type.Object({
  id: Uuid,
  human_identifier: Type.String(),
  length: Type.Number(),
  registration_date: TimeOut,
  is_programmed: Type.Boolean(),
  is_active: Type.Boolean(),
  voided_date: Nullable(TimeOut),
  weight: Nullable(Type.Number()),
  diameter: Nullable(Type.Number()),
  spine: Nullable(Type.Number()),
  label_position: Nullable(Type.Number()),
});
const ArrowWritable = {
  human_identifier: Type.String({ minLength: 1, maxLength: 10 }),
  length: Positive,
  registration_date: Time,
  is_programmed: Type.Boolean(),
  voided_date: Nullable(Time),
  weight: Nullable(Positive),
  diameter: Nullable(Positive),
  spine: Nullable(Positive),
  label_position: Nullable(Type.Number({ minimum: 0 })),
};
export type ArrowRow = Static<typeof Arrow>;
export const ArrowCreate = Type.Object(
  {
    id: Uuid,
    human_identifier: ArrowWritable.human_identifier,
    length: ArrowWritable.length,
    registration_date: Type.Optional(Time),
    is_programmed: Type.Optional(Type.Boolean()),
    voided_date: Type.Optional(ArrowWritable.voided_date),
    weight: Type.Optional(ArrowWritable.weight),
    diameter: Type.Optional(ArrowWritable.diameter),
    spine: Type.Optional(ArrowWritable.spine),
    label_position: Type.Optional(ArrowWritable.label_position),
  },
  { additionalProperties: false },
);
export type ArrowCreate = Static<typeof ArrowCreate>;
export const ArrowPatch = Type.Partial(
  Type.Object({ ...ArrowWritable, is_active: Type.Boolean() }, { additionalProperties: false }),
  STRICT,
);
export type ArrowPatch = Static<typeof ArrowPatch>;
export const ArrowFilters = Type.Partial(
  Type.Object(
    {
      id: Uuid,
      human_identifier: Type.String(),
      length: Type.Number(),
      registration_date: Time,
      is_programmed: Type.Boolean(),
      is_active: Type.Boolean(),
      voided_date: Time,
      weight: Type.Number(),
      diameter: Type.Number(),
      spine: Type.Number(),
      label_position: Type.Number(),
    },
    { additionalProperties: false },
  ),
  STRICT,
);
export type ArrowFilters = Static<typeof ArrowFilters>;

// --- sessions ---
export const Session = Type.Object({
  id: Uuid,
  is_opened: Type.Boolean(),
  start_time: TimeOut,
  end_time: Nullable(TimeOut),
  location: Type.String(),
  is_indoor: Type.Boolean(),
});
export type SessionRow = Static<typeof Session>;
export const SessionCreate = Type.Object(
  {
    location: Type.String({ minLength: 1, maxLength: 255 }),
    is_indoor: Type.Optional(Type.Boolean()),
    start_time: Type.Optional(Time),
    end_time: Type.Optional(Nullable(Time)),
  },
  { additionalProperties: false },
);
export type SessionCreate = Static<typeof SessionCreate>;
export const SessionPatch = Type.Partial(
  Type.Object(
    {
      location: Type.String({ minLength: 1, maxLength: 255 }),
      is_indoor: Type.Boolean(),
      start_time: Time,
      end_time: Nullable(Time),
      /** `false` closes the session now; `true` reopens it. */
      is_opened: Type.Boolean(),
    },
    { additionalProperties: false },
  ),
  STRICT,
);
export type SessionPatch = Static<typeof SessionPatch>;
export const SessionFilters = Type.Partial(
  Type.Object(
    {
      id: Uuid,
      is_opened: Type.Boolean(),
      start_time: Time,
      end_time: Time,
      location: Type.String(),
      is_indoor: Type.Boolean(),
    },
    { additionalProperties: false },
  ),
  STRICT,
);
export type SessionFilters = Static<typeof SessionFilters>;

// --- targets and faces ---
export const Face = Type.Object({
  id: Uuid,
  target_id: Uuid,
  x: Type.Number(),
  y: Type.Number(),
  human_identifier: Type.String(),
  radii: Type.Array(Type.Number()),
  points: Type.Array(Type.Integer()),
});
export type FaceRow = Static<typeof Face>;
export const FaceCreate = Type.Object(
  {
    x: Type.Number({ minimum: 0 }),
    y: Type.Number({ minimum: 0 }),
    human_identifier: Type.String({ minLength: 1, maxLength: 10 }),
    radii: Type.Array(Positive, { minItems: 1, maxItems: 20 }),
    points: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 20 }),
  },
  { additionalProperties: false },
);
export type FaceCreate = Static<typeof FaceCreate>;
/** 1–3 faces, or one catalogue entry placed on the target (its spots become the faces). */
export const FacesCreate = Type.Union([
  Type.Array(FaceCreate, { minItems: 1, maxItems: 3 }),
  Type.Object(
    {
      catalogue_id: Type.String(),
      /** Centre of the catalogue face on the target (mm); default the target's centre. */
      x: Type.Optional(Type.Number({ minimum: 0 })),
      y: Type.Optional(Type.Number({ minimum: 0 })),
    },
    { additionalProperties: false },
  ),
]);
export type FacesCreate = Static<typeof FacesCreate>;
export const FaceFilters = Type.Partial(
  Type.Object(
    { id: Uuid, target_id: Uuid, human_identifier: Type.String() },
    { additionalProperties: false },
  ),
  STRICT,
);
export type FaceFilters = Static<typeof FaceFilters>;

export const Target = Type.Object({
  id: Uuid,
  max_x: Type.Number(),
  max_y: Type.Number(),
  distance: Type.Number(),
  session_id: Uuid,
});
export type TargetRow = Static<typeof Target>;
const TargetWritable = { max_x: Positive, max_y: Positive, distance: Positive, session_id: Uuid };
export const TargetCreate = Type.Object(TargetWritable, { additionalProperties: false });
export type TargetCreate = Static<typeof TargetCreate>;
export const TargetPatch = Type.Partial(Type.Object(TargetWritable, { additionalProperties: false }), STRICT);
export type TargetPatch = Static<typeof TargetPatch>;
export const TargetFilters = Type.Partial(
  Type.Object(
    {
      id: Uuid,
      max_x: Type.Number(),
      max_y: Type.Number(),
      distance: Type.Number(),
      session_id: Uuid,
    },
    { additionalProperties: false },
  ),
  STRICT,
);
export type TargetFilters = Static<typeof TargetFilters>;
/** What a target sensor needs to calibrate: the open session's target and its faces. */
export const Calibration = Type.Object({
  session_id: Uuid,
  target: Nullable(Target),
  faces: Type.Array(Face),
});

export const CatalogueEntry = Type.Object({
  id: Type.String(),
  name: Type.String(),
  diameterCm: Type.Number(),
  radii: Type.Array(Type.Number()),
  points: Type.Array(Type.Integer()),
  spots: Type.Array(Type.Object({ dx: Type.Number(), dy: Type.Number() })),
  widthMm: Type.Number(),
  heightMm: Type.Number(),
});

// --- shots ---
export const Shot = Type.Object({
  id: Uuid,
  arrow_id: Uuid,
  session_id: Uuid,
  arrow_engage_time: TimeOut,
  arrow_disengage_time: TimeOut,
  arrow_landing_time: Nullable(TimeOut),
  x: Nullable(Type.Number()),
  y: Nullable(Type.Number()),
});
export type ShotRow = Static<typeof Shot>;
export const ShotCreate = Type.Object(
  {
    arrow_id: Uuid,
    session_id: Uuid,
    arrow_engage_time: Time,
    arrow_disengage_time: Time,
    arrow_landing_time: Type.Optional(Nullable(Time)),
    x: Type.Optional(Nullable(Type.Number())),
    y: Type.Optional(Nullable(Type.Number())),
  },
  { additionalProperties: false },
);
export type ShotCreate = Static<typeof ShotCreate>;
export const ShotsCreate = Type.Union([ShotCreate, Type.Array(ShotCreate, { minItems: 1, maxItems: 1000 })]);
export type ShotsCreate = Static<typeof ShotsCreate>;
export const ShotFilters = Type.Partial(
  Type.Object(
    {
      id: Uuid,
      arrow_id: Uuid,
      session_id: Uuid,
      arrow_engage_time: Time,
      arrow_disengage_time: Time,
      arrow_landing_time: Time,
      x: Type.Number(),
      y: Type.Number(),
    },
    { additionalProperties: false },
  ),
  STRICT,
);
export type ShotFilters = Static<typeof ShotFilters>;

/** A shot as the performance view and the live socket show it. */
export const ScoredShot = Type.Object({
  id: Uuid,
  arrow_id: Uuid,
  session_id: Uuid,
  human_identifier: Type.String(),
  arrow_engage_time: TimeOut,
  arrow_disengage_time: TimeOut,
  arrow_landing_time: Nullable(TimeOut),
  x: Nullable(Type.Number()),
  y: Nullable(Type.Number()),
  time_of_flight_seconds: Nullable(Type.Number()),
  arrow_speed: Nullable(Type.Number()),
  score: Nullable(Type.Integer()),
});
export type ScoredShot = Static<typeof ScoredShot>;
export const PerformanceQuery = Type.Object(
  { session_id: Type.Optional(Uuid) },
  { additionalProperties: false },
);

// --- sensor readings (the sensor processes' API when they run remotely) ---
export const Reading = Type.Object({
  id: Uuid,
  session_id: Uuid,
  arrow_id: Uuid,
  read_at: TimeOut,
  arrow_engage_time: Nullable(TimeOut),
  arrow_disengage_time: Nullable(TimeOut),
  target_read: Type.Boolean(),
  arrow_landing_time: Nullable(TimeOut),
  x: Nullable(Type.Number()),
  y: Nullable(Type.Number()),
  shot_id: Nullable(Uuid),
});
export const ReadingCreate = Type.Object(
  { session_id: Uuid, arrow_id: Uuid },
  { additionalProperties: false },
);
export const ReadingQuery = Type.Object(
  { session_id: Uuid, stage: Type.Union([Type.Literal('bow'), Type.Literal('target')]) },
  { additionalProperties: false },
);
export const ReadingBow = Type.Object(
  { arrow_engage_time: Time, arrow_disengage_time: Time },
  { additionalProperties: false },
);
export const ReadingTarget = Type.Object(
  { arrow_landing_time: Nullable(Time), x: Nullable(Type.Number()), y: Nullable(Type.Number()) },
  { additionalProperties: false },
);
