/** Admin routes: accounts (devices included) and API keys for devices and services. */
import { Type } from 'typebox';
import type { Http } from '../../app.ts';
import type { AuthService } from '../service.ts';
import { ApiKey, ApiKeyCreate, ApiKeyCreated, User, UserCreate } from '../schemas.ts';

const tags = ['auth'];

export function registerAdminRoutes(http: Http, auth: AuthService) {
  http.post(
    '/auth/users',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Create an account (admin, user, or a device account without password)',
        body: UserCreate,
        response: { 201: User },
      },
    },
    async (req, reply) => {
      const u = await auth.createUser(req.body.username, req.body.password ?? null, req.body.role);
      return reply.status(201).send({ id: u.id, username: u.username, role: u.role });
    },
  );

  http.post(
    '/auth/api-keys',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Issue an API key acting as an account; the key is returned once',
        body: ApiKeyCreate,
        response: { 201: ApiKeyCreated },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await auth.createApiKey(req.body.username, req.body.name, req.body.scope)),
  );

  http.get(
    '/auth/api-keys',
    {
      config: { auth: 'admin' },
      schema: { tags, summary: 'Every API key (without secrets)', response: { 200: Type.Array(ApiKey) } },
    },
    async () => auth.listApiKeys(),
  );

  http.delete(
    '/auth/api-keys/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Revoke an API key',
        params: Type.Object({ id: Type.String() }, { additionalProperties: false }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await auth.revokeApiKey(req.params.id);
      return reply.status(204).send(null);
    },
  );
}
