import { Type } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const Location = Type.Object(
  { lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
  { additionalProperties: false },
);

export const Load = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  capacityKw: Type.Number(),
  shedCapabilityKw: Type.Number(),
  currentPowerKw: Type.Number(),
});

export const Ven = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.String(),
  location: Type.Object({ lat: Type.Number(), lon: Type.Number() }),
  registrationId: Type.String(),
  metrics: Type.Object({
    currentPowerKw: Type.Number(),
    shedAvailabilityKw: Type.Number(),
    activeEventId: Nullable(Type.String()),
    shedLoadIds: Type.Array(Type.String()),
  }),
  createdAt: Type.String({ format: 'date-time' }),
  lastSeen: Nullable(Type.String({ format: 'date-time' })),
  loads: Type.Array(Load),
});

const Status = Type.String({ minLength: 1, maxLength: 32 });

export const VenCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    location: Location,
    status: Type.Optional(Status),
    registrationId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\w.:@-]+$' })),
  },
  { additionalProperties: false },
);

export const VenPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    location: Type.Optional(Location),
    status: Type.Optional(Status),
    registrationId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\w.:@-]+$' })),
  },
  { additionalProperties: false },
);

export const VenParams = Type.Object({ venId: Type.String({ maxLength: 128 }) });
export const LoadParams = Type.Object({
  venId: Type.String({ maxLength: 128 }),
  loadId: Type.String({ maxLength: 128 }),
});
export const EventParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

export const Window = Type.Object(
  {
    start: Type.Optional(Type.String({ format: 'date-time' })),
    end: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

export const HistoryQuery = Type.Object(
  {
    start: Type.Optional(Type.String({ format: 'date-time' })),
    end: Type.Optional(Type.String({ format: 'date-time' })),
    granularity: Type.Optional(Type.String({ default: '5m' })),
  },
  { additionalProperties: false },
);

export const History = Type.Object({
  points: Type.Array(
    Type.Object({
      timestamp: Type.String({ format: 'date-time' }),
      usedPowerKw: Type.Number(),
      shedPowerKw: Type.Number(),
      eventId: Nullable(Type.String()),
      requestedReductionKw: Nullable(Type.Number()),
    }),
  ),
});

export const Event = Type.Object({
  id: Type.String(),
  status: Type.String(),
  startTime: Type.String({ format: 'date-time' }),
  endTime: Type.String({ format: 'date-time' }),
  requestedReductionKw: Type.Number(),
  createdAt: Type.String({ format: 'date-time' }),
  activatedAt: Nullable(Type.String({ format: 'date-time' })),
  completedAt: Nullable(Type.String({ format: 'date-time' })),
});

export const EventCreate = Type.Object(
  {
    startTime: Type.String({ format: 'date-time' }),
    endTime: Type.String({ format: 'date-time' }),
    requestedReductionKw: Type.Number({ exclusiveMinimum: 0 }),
    status: Type.Optional(Type.Union([Type.Literal('scheduled'), Type.Literal('active')])),
  },
  { additionalProperties: false },
);

export const Circuit = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  breaker_amps: Nullable(Type.Number()),
  original_kw: Nullable(Type.Number()),
  curtailed_kw: Nullable(Type.Number()),
  final_kw: Nullable(Type.Number()),
  critical: Nullable(Type.Boolean()),
});

export const AckJson = Type.Object({
  id: Type.String(),
  venId: Type.String(),
  eventId: Nullable(Type.String()),
  correlationId: Nullable(Type.String()),
  op: Type.String(),
  status: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
  requestedShedKw: Nullable(Type.Number()),
  actualShedKw: Nullable(Type.Number()),
  circuitsCurtailed: Type.Array(Circuit),
});

export const ShedBody = Type.Object(
  { amountKw: Type.Number({ exclusiveMinimum: 0 }) },
  { additionalProperties: false },
);

export const SendEventBody = Type.Object(
  { eventId: Type.String({ maxLength: 128 }), shedKw: Type.Optional(Type.Number({ minimum: 0 })) },
  { additionalProperties: false },
);

export const DeadLetterJson = Type.Object({
  id: Type.Number(),
  consumer: Type.String(),
  topic: Type.String(),
  reason: Type.String(),
  payloadBase64: Type.String(),
  payloadText: Nullable(Type.String()),
  receivedAt: Type.String({ format: 'date-time' }),
});
