/** Who is calling: set on every request by the auth hook from a JWT or an API key. */
export type Role = 'admin' | 'user' | 'device';

export interface Principal {
  userId: string;
  username: string;
  role: Role;
  /** Scopes from the token (empty for full access of the role). */
  scope: string[];
  /**
   * `jwt` for access tokens, `api_key` for `ck_...` keys, `open` in AUTH_MODE=open, `service`
   * for the shared service token of `service` routes (e.g. the storage event webhook).
   */
  via: 'jwt' | 'api_key' | 'open' | 'service';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; `undefined` on public routes called anonymously. */
    principal?: Principal;
  }
}
