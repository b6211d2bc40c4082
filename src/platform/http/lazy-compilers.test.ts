import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyCompilers } from './lazy-compilers.ts';

function app(schema: Record<string, unknown>) {
  const compilers = lazyCompilers();
  const http = Fastify({
    schemaController: { compilersFactory: compilers.compilersFactory },
    // Fastify's default removes unknown properties; the server's setting (refuse them) must reach Ajv.
    ajv: { customOptions: { removeAdditional: false } },
  });
  http.post('/things', { schema }, async (req) => ({ ...(req.body as object), secret: 'not in the schema' }));
  return { http, compilers };
}

const thing = {
  body: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: { type: 'string', minLength: 2 }, count: { type: 'integer', default: 1 } },
  },
  response: {
    200: { type: 'object', properties: { name: { type: 'string' }, count: { type: 'integer' } } },
  },
};

describe('route schemas compiled on first use', () => {
  it('validate, apply defaults and serialise exactly as compiled ones', async () => {
    const { http } = app(thing);
    await http.ready();
    const bad = await http.inject({ method: 'POST', url: '/things', payload: { name: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ message: string }>().message).toContain('must NOT have fewer than 2');
    const extra = await http.inject({ method: 'POST', url: '/things', payload: { name: 'ok', more: 1 } });
    expect(extra.statusCode).toBe(400);
    const good = await http.inject({ method: 'POST', url: '/things', payload: { name: 'ok' } });
    expect(good.statusCode).toBe(200);
    // The default filled in by the validator, the undeclared field dropped by the serializer.
    expect(good.json()).toEqual({ name: 'ok', count: 1 });
    await http.close();
  });

  it('defer a broken schema to compileAll (or the first request) instead of start-up', async () => {
    const { http, compilers } = app({
      body: { type: 'object', properties: { a: { type: 'no-such-type' } } },
    });
    await http.ready();
    expect(() => compilers.compileAll()).toThrow(/no-such-type|type/);
    await http.close();
  });
});
