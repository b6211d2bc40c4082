/**
 * Route schemas compiled on first use. Fastify compiles every route's validators (Ajv) and
 * response serializers (fast-json-stringify) when the server becomes ready; with a few hundred
 * schemas that is a third of the start-up time, spent on routes a given process may never serve.
 * These factories wrap Fastify's own compilers and defer each compilation to the first request
 * that needs it; the compiled function is then kept, so later requests cost the same as before.
 *
 * The compilers themselves (Ajv, fast-json-stringify) are loaded with the first compilation too.
 *
 * `compileAll()` forces every deferred compilation (tests call it so that a schema Ajv rejects
 * still fails the suite, not a user's first request).
 */
import { createRequire } from 'node:module';
import type AjvCompilerModule from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

const require = createRequire(import.meta.url);

type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type Serialize = (data: unknown) => string;
type Definition = Record<string, unknown>;
type Factories = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

export interface LazyCompilers {
  /** For Fastify's `schemaController.compilersFactory`. */
  compilersFactory: Factories;
  /** Compiles whatever is still deferred; throws the first compilation error. */
  compileAll(): void;
}

/** The packages' typings describe Ajv's types in detail; Fastify treats both kinds as opaque. */
type Builder<F> = (externalSchemas: unknown, options: unknown) => (route: Definition) => F;

export function lazyCompilers(): LazyCompilers {
  const pending = new Set<() => unknown>();

  /**
   * A factory whose compilers are made on first use: `load` gives Fastify's own factory (loading
   * its package then), and each route's function is compiled when first forced.
   */
  function deferred<F>(load: () => Builder<F>) {
    let builder: Builder<F> | null = null;
    return (externalSchemas: unknown, options: unknown) => {
      let compile: ((route: Definition) => F) | null = null;
      return (route: Definition) => {
        let fn: F | null = null;
        const force = (): F => {
          builder ??= load();
          compile ??= builder(externalSchemas, options);
          fn ??= compile(route);
          pending.delete(force);
          return fn;
        };
        pending.add(force);
        return () => fn ?? force();
      };
    };
  }

  const validators = deferred<Validate>(
    () => (require('@fastify/ajv-compiler') as typeof AjvCompilerModule)() as unknown as Builder<Validate>,
  );
  const serializers = deferred<Serialize>(
    () => (require('@fastify/fast-json-stringify-compiler') as () => unknown)() as Builder<Serialize>,
  );
  const factories = {
    buildValidator: (externalSchemas: unknown, options: unknown) => {
      const forRoute = validators(externalSchemas, options);
      return (route: Definition) => {
        const get = forRoute(route);
        const validate: Validate = (data) => {
          const f = get();
          const result = f(data);
          // Fastify reads the errors of a failed validation from the function itself.
          validate.errors = f.errors;
          return result;
        };
        return validate;
      };
    },
    buildSerializer: (externalSchemas: unknown, options: unknown) => {
      const forRoute = serializers(externalSchemas, options);
      return (route: Definition) => {
        const get = forRoute(route);
        return (data: unknown) => get()(data);
      };
    },
  };

  return {
    // Fastify's types ask for Ajv's full function type; it only ever calls the function and
    // reads `errors`, which is what these wrappers provide.
    compilersFactory: factories as unknown as Factories,
    compileAll() {
      for (const force of [...pending]) force();
    },
  };
}
