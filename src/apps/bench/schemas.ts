import { Type, type Static } from 'typebox';

const Num = Type.Union([Type.Number(), Type.Null()]);

export const JobIdParams = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'job id: the file stem up to the first `_`',
    }),
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);

export const SeriesQuery = Type.Object(
  {
    columns: Type.String({
      default: 'power_w,energy_j',
      description: 'comma list of sample columns, e.g. power_w,energy_j,cpu_utilization',
    }),
    maxPoints: Type.Integer({
      minimum: 2,
      maximum: 100_000,
      default: 2000,
      description: 'points per node at most',
    }),
  },
  { additionalProperties: false },
);

export const SummaryFields = {
  samples: Num,
  nodes: Num,
  energy_j: Num,
  energy_kwh: Num,
  tts_s: Type.Union([Type.Number(), Type.Null()], {
    description: 'time to solution: last − first ElapsedTime',
  }),
  avg_power_w: Num,
  peak_power_w: Num,
  peak_at_s: Num,
  edp_js: Type.Union([Type.Number(), Type.Null()], { description: 'energy-delay product, J·s' }),
  cost_eur: Num,
};

export const JobSummary = Type.Object({
  job_id: Type.String(),
  owner: Type.String(),
  object_key: Type.String(),
  etag: Type.String(),
  stem: Type.String(),
  view: Type.Union([Type.String(), Type.Null()]),
  status: Type.String({ description: 'queued | processing | succeeded | failed' }),
  error: Type.Union([Type.String(), Type.Null()]),
  ...SummaryFields,
  equivalent: Type.Union([
    Type.Object({ name: Type.String(), watts: Type.Number(), minutes: Type.Number() }),
    Type.Null(),
  ]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  processed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type JobSummary = Static<typeof JobSummary>;

export const NodeSummary = Type.Object({
  node: Type.String(),
  power_source: Type.String(),
  samples: Type.Number(),
  energy_j: Type.Number(),
  energy_kwh: Type.Number(),
  tts_s: Type.Number(),
  avg_power_w: Num,
  peak_power_w: Num,
  peak_at_s: Num,
  edp_js: Type.Number(),
  cost_eur: Num,
});

export const Processing = Type.Object({
  queue_job_id: Num,
  status: Type.Union([Type.String(), Type.Null()]),
  attempts: Num,
  last_error: Type.Union([Type.String(), Type.Null()]),
  log: Type.Array(
    Type.Object({
      at: Type.String({ format: 'date-time' }),
      level: Type.String(),
      attempt: Type.Number(),
      message: Type.String(),
    }),
  ),
});

export const JobDetail = Type.Intersect([
  JobSummary,
  Type.Object({ node_summaries: Type.Array(NodeSummary), processing: Processing }),
]);

export const JobList = Type.Object({ jobs: Type.Array(JobSummary) });

export const SeriesResponse = Type.Object({
  job_id: Type.String(),
  columns: Type.Array(Type.String()),
  max_points: Type.Number(),
  nodes: Type.Array(
    Type.Object({
      node: Type.String(),
      points: Type.Number(),
      elapsed_s: Type.Array(Type.Number()),
      values: Type.Record(Type.String(), Type.Array(Num)),
    }),
  ),
});

export const ReprocessResponse = Type.Object({
  job_id: Type.String(),
  queue_job_id: Type.Number(),
  status: Type.String(),
});
