/** Accounts for tests: create one directly through the auth part and sign in over HTTP. */
import { expect } from 'vitest';
import type { Role } from '../../src/platform/auth/port.ts';
import type { Server } from '../../src/server.ts';

export interface Session {
  username: string;
  access: string;
  refresh: string;
  headers: { authorization: string };
}

export async function signIn(server: Server, username: string, password: string): Promise<Session> {
  const res = await server.http.inject({
    method: 'POST',
    url: '/auth/password',
    payload: { username, password },
  });
  expect(res.statusCode, res.body).toBe(200);
  const { access, refresh } = res.json<{ access: string; refresh: string }>();
  return { username, access, refresh, headers: { authorization: `Bearer ${access}` } };
}

/** Creates an account with the given role and signs it in. */
export async function account(server: Server, username: string, role: Role = 'user'): Promise<Session> {
  const password = `pw-${username}-123`;
  await server.core.auth.createUser(username, password, role);
  return signIn(server, username, password);
}
