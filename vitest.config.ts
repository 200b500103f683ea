import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM builds; pin one so schema and executor share a realm.
    alias: { graphql: createRequire(import.meta.url).resolve('graphql') },
  },
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/helpers/secret-scan.ts'],
    pool: 'forks',
    // Two files at a time even on two cores: most of a file's time is spent waiting (real servers,
    // processes, timers), and every file has its own databases and Redis prefix.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 90_000,
    reporters: ['default'],
  },
});
