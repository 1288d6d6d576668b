import { defineConfig } from 'vitest/config';

// Tests import the compiled allocator from dist/ only where they start workers
// (Node 20 cannot load .ts workers); everything else imports src/ directly.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: running many multi-worker files at once only oversubscribes them.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
