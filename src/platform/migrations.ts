import type { Migration } from './db/migrate.ts';
import { JOBS_MIGRATIONS } from './jobs/migrations.ts';
import { DEAD_LETTER_MIGRATIONS } from './mqtt/dead-letters.ts';
import { AUTH_MIGRATIONS } from './auth/migrations.ts';
import { OBJECTS_MIGRATIONS } from './objects/migrations.ts';
import { LIVE_MIGRATIONS } from './live/store.ts';

/**
 * The platform's own schema (accounts, objects, jobs, live events ...). Each part appends its
 * migrations here in id order; ids are never reused or edited once released.
 */
export const PLATFORM_MIGRATIONS: readonly Migration[] = [
  ...AUTH_MIGRATIONS,
  ...OBJECTS_MIGRATIONS,
  ...DEAD_LETTER_MIGRATIONS,
  ...LIVE_MIGRATIONS,
  ...JOBS_MIGRATIONS,
];
