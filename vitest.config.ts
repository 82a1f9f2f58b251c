import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the stylesheet and the compiled server first (see the file).
    globalSetup: ['test/build.setup.ts'],
    // Browser tests start Chromium; give them room on a busy 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
