import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// One project per test tier, so a tier runs alone (`npx vitest run --project unit`) and
// `vitest run` runs them all. A new file in a tier's folder joins its project by the glob.
// Tests import the compiled allocator from dist/ only where they start workers (Node 20
// cannot load .ts workers); everything else imports src/ directly.
const TIERS = ['unit', 'api', 'concurrency', 'lab', 'repo'] as const;

/**
 * The files that take longest on a 2-core machine, longest first. A fresh clone has no
 * duration cache, and a long file started last leaves one core idle while it runs alone;
 * started first, the short files fill the other core around it.
 */
const SLOW_FIRST = [
  'test/repo/package.test.ts',
  'test/lab/browser.test.ts',
  'test/lab/stress.test.ts',
  'test/lab/locks.test.ts',
  'test/lab/contention.test.ts',
  'test/lab/locks-all-kinds.test.ts',
  'test/concurrency/races.test.ts',
  'test/concurrency/killed.test.ts',
  'test/lab/micro.test.ts',
  'test/concurrency/bigheap.test.ts',
];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOW_FIRST.findIndex((name) => f.moduleId.endsWith(name));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map((x) => x.f);
  }
}

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: a third file at once made the whole run slower (255 s against 238 s).
    maxWorkers: 2,
    fileParallelism: true,
    sequence: { sequencer: SlowFirst },
    projects: TIERS.map((name) => ({
      extends: true as const,
      // A fresh module graph per file (vite's transform, the imports of src/ and bench/)
      // cost api 24 s of CPU against 15 s shared, concurrency 103 s against 86 s: the files
      // of a tier share one instead. What may not leak between files is restored by the
      // file that changes it (process.env, spies). unit keeps isolation: one of its files
      // replaces a library module with vi.mock.
      test: { name, include: [`test/${name}/**/*.test.ts`], isolate: name === 'unit' },
    })),
  },
});
