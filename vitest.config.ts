import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // PGlite and child processes are heavy: keep parallelism to the machine's size.
    maxWorkers: 2,
    allowOnly: false,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
