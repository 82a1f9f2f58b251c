import { defineConfig } from 'vitest/config';

// The fault tests (`npm run test:faults`): real server processes killed, disks
// filled, databases locked, backups taken under load. Slow, so kept apart from
// `npm test`; their files end in `.faults.ts`, which its pattern does not match.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts'],
    // Builds the server they start, and prints the "Faults injected" table of SECURITY.md from this run.
    globalSetup: ['test/faults/build.setup.ts', 'test/faults/summary.ts'],
    // One at a time: each loads the machine on purpose, and timing matters.
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
