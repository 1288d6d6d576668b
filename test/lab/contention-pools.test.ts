/**
 * The contention suite's worker pools under a memory budget: past the budget every pool is
 * closed between workloads and the next workload runs on fresh threads, with every run
 * still verified (a closed pool reused, or a run lost in the switch, fails here).
 */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { poolMemoryBudget, runContentionSuite } from '../../bench/contention/suite.js';

describe('contention suite pools', () => {
  it('budget: a quarter of the machine, at most 4 GiB, or SABMALLOC_POOL_BUDGET_MIB', () => {
    expect(poolMemoryBudget({})).toBe(Math.min(os.totalmem() / 4, 4 * 2 ** 30));
    expect(poolMemoryBudget({ SABMALLOC_POOL_BUDGET_MIB: '64' })).toBe(64 * 2 ** 20);
    expect(poolMemoryBudget({ SABMALLOC_POOL_BUDGET_MIB: 'lots' })).toBe(poolMemoryBudget({}));
  });

  it('closes the pools between workloads past the budget and runs every point', async () => {
    const before = process.env.SABMALLOC_POOL_BUDGET_MIB;
    process.env.SABMALLOC_POOL_BUDGET_MIB = '1'; // always past it: recycle before each workload
    try {
      const r = await runContentionSuite({ quick: true, workloads: ['ring', 'larson', 'ring'], workers: [1, 2], allocators: ['sabmalloc'], reps: 1, durationMs: 30, progress: false, scale: 'small', warmup: false });
      expect(r.failures).toEqual([]);
      expect(r.meta.poolRecycles).toBe(2); // before the second and the third workload
      expect(r.runs.filter((x) => x.workload === 'ring')).toHaveLength(4);
      expect(r.runs.filter((x) => x.workload === 'larson')).toHaveLength(2);
    } finally {
      if (before === undefined) delete process.env.SABMALLOC_POOL_BUDGET_MIB;
      else process.env.SABMALLOC_POOL_BUDGET_MIB = before;
    }
  });
});
