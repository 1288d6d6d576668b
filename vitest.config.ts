import { defineConfig } from 'vitest/config';

// One project per test tier, so a tier runs alone (`npx vitest run --project unit`) and
// `vitest run` runs them all. A new file in a tier's folder joins its project by the glob.
// Tests import the compiled allocator from dist/ only where they start workers (Node 20
// cannot load .ts workers); everything else imports src/ directly.
const TIERS = ['unit', 'api', 'concurrency', 'lab', 'repo'] as const;

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: running many multi-worker files at once only oversubscribes them.
    maxWorkers: 2,
    fileParallelism: true,
    projects: TIERS.map((name) => ({
      extends: true as const,
      test: { name, include: [`test/${name}/**/*.test.ts`] },
    })),
  },
});
