import { describe, expect, it } from 'vitest';
import type { RouteAuth } from '../app.ts';
import { authorize } from './hook.ts';
import type { Principal } from './port.ts';

const p = (role: Principal['role'], via: Principal['via']): Principal => ({
  userId: 'u',
  username: 'name1',
  role,
  scope: [],
  via,
});

const cases: [RouteAuth, Principal | null, 'ok' | 401 | 403][] = [
  ['public', null, 'ok'],
  ['user', null, 401],
  ['admin', null, 401],
  ['device', null, 401],
  ['service', null, 401],
  ['user', p('user', 'jwt'), 'ok'],
  ['user', p('device', 'api_key'), 'ok'],
  ['admin', p('user', 'jwt'), 403],
  ['admin', p('admin', 'jwt'), 'ok'],
  ['admin', p('user', 'api_key'), 403],
  ['device', p('user', 'jwt'), 403],
  ['device', p('device', 'api_key'), 'ok'],
  ['device', p('user', 'api_key'), 'ok'],
  ['device', p('admin', 'jwt'), 'ok'],
  ['service', p('user', 'jwt'), 403],
  ['service', p('device', 'api_key'), 403],
  ['service', p('device', 'service'), 'ok'],
  ['service', p('admin', 'jwt'), 'ok'],
  ['admin', p('admin', 'open'), 'ok'],
];

describe('route authorization', () => {
  it.each(cases)('%s route, caller %o → %s', (need, principal, expected) => {
    let outcome: 'ok' | number = 'ok';
    try {
      authorize(need, principal);
    } catch (e) {
      outcome = (e as { status: number }).status;
    }
    expect(outcome).toBe(expected);
  });
});
