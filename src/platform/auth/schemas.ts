import { Type } from 'typebox';

export const TokenPair = Type.Object({
  access: Type.String({ description: 'JWT access token (10 minutes)' }),
  refresh: Type.String({ description: 'opaque refresh token (30 days, single use)' }),
});

export const Credentials = Type.Object(
  {
    username: Type.String({ minLength: 5, maxLength: 20 }),
    password: Type.String({ minLength: 8, maxLength: 128 }),
  },
  { additionalProperties: false },
);

/** Login accepts JSON or the seed's `?u=&p=` query, so every field is optional in both places. */
export const LoginBody = Type.Object(
  { username: Type.Optional(Type.String()), password: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
export const LoginQuery = Type.Object(
  { u: Type.Optional(Type.String()), p: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refresh: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
export const RefreshQuery = Type.Object(
  { rid: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

export const Me = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Type.String(),
  scope: Type.Array(Type.String()),
  via: Type.String(),
});

export const ApiKeyCreate = Type.Object(
  {
    username: Type.String({ description: 'account the key acts as (a device account for devices)' }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scope: Type.Optional(Type.Array(Type.String({ pattern: '^\\S+$' }), { maxItems: 50 })),
  },
  { additionalProperties: false },
);

export const ApiKey = Type.Object({
  id: Type.String({ description: 'key id, also the MQTT username' }),
  name: Type.String(),
  username: Type.String(),
  role: Type.String(),
  scope: Type.Array(Type.String()),
  created_at: Type.String(),
  last_used_at: Type.Union([Type.String(), Type.Null()]),
  revoked: Type.Boolean(),
});

export const ApiKeyCreated = Type.Intersect([
  ApiKey,
  Type.Object({ key: Type.String({ description: 'ck_<id>_<secret>; shown once' }) }),
]);

export const UserCreate = Type.Object(
  {
    username: Type.String({ minLength: 5, maxLength: 20 }),
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 128 })),
    role: Type.Union([Type.Literal('admin'), Type.Literal('user'), Type.Literal('device')]),
  },
  { additionalProperties: false },
);

export const User = Type.Object({ id: Type.String(), username: Type.String(), role: Type.String() });
