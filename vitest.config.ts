import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // With TEST_DATABASE_URL (npm run test:postgres), also the few tests of what only PostgreSQL has.
    include: ['test/**/*.test.ts', ...(process.env.TEST_DATABASE_URL ? ['test/**/*.postgres.ts'] : [])],
    // Builds the stylesheet first (see the file).
    globalSetup: ['test/build.setup.ts'],
    // Browser tests start Chromium; give them room on a busy 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
