/** The seed's account routes: register, login (JSON or `?u=&p=`), refresh (`{refresh}` or `?rid=`), logout, me. */
import { Type } from 'typebox';
import type { Http } from '../../app.ts';
import { badRequest, unauthorized } from '../../errors.ts';
import type { AuthService } from '../service.ts';
import { Credentials, LoginBody, LoginQuery, Me, RefreshBody, RefreshQuery, TokenPair } from '../schemas.ts';

const tags = ['auth'];

export function registerSessionRoutes(http: Http, auth: AuthService) {
  // Login and refresh may come with no body at all (query form): validate an empty object then.
  const emptyBody = async (req: { body: unknown }) => {
    req.body ??= {};
  };

  http.post(
    '/auth/register',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Create an account and sign in',
        body: Credentials,
        response: { 201: TokenPair },
      },
    },
    async (req, reply) => reply.status(201).send(await auth.register(req.body.username, req.body.password)),
  );

  http.post(
    '/auth/password',
    {
      config: { auth: 'public' },
      preValidation: emptyBody,
      schema: {
        tags,
        summary: 'Sign in with username and password (JSON body or the seed’s ?u=&p=)',
        body: LoginBody,
        querystring: LoginQuery,
        response: { 200: TokenPair },
      },
    },
    async (req) => {
      const username = req.body.username ?? req.query.u;
      const password = req.body.password ?? req.query.p;
      if (username === undefined || password === undefined)
        throw badRequest('username and password are required');
      return auth.login(username, password, req.ip);
    },
  );

  http.post(
    '/auth/refresh',
    {
      config: { auth: 'public' },
      preValidation: emptyBody,
      schema: {
        tags,
        summary: 'Exchange a refresh token for a new pair (the old one is spent)',
        body: RefreshBody,
        querystring: RefreshQuery,
        response: { 200: TokenPair },
      },
    },
    async (req) => {
      const token = req.body.refresh ?? req.query.rid;
      if (token === undefined) throw unauthorized('refresh token required');
      return auth.refresh(token);
    },
  );

  http.post(
    '/auth/logout',
    {
      config: { auth: 'user' },
      preValidation: emptyBody,
      schema: {
        tags,
        summary: 'Revoke the given refresh token’s sessions, or all of the caller’s sessions',
        body: RefreshBody,
        querystring: RefreshQuery,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await auth.logout(req.principal!, req.body.refresh ?? req.query.rid);
      return reply.status(204).send(null);
    },
  );

  http.get(
    '/auth/me',
    { config: { auth: 'user' }, schema: { tags, summary: 'The caller', response: { 200: Me } } },
    async (req) => {
      const p = req.principal!;
      return { id: p.userId, username: p.username, role: p.role, scope: p.scope, via: p.via };
    },
  );
}
