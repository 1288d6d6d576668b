/**
 * The mleak workload at small counts: real child worker_threads exchange stamped blocks
 * and leave by detach, process.exit/throw and terminate(). The suite fails a run on any
 * verification failure (a held, adopted, received or leftover block whose stamp broke), a
 * failed check(), or blocks still in use beyond those counted lost-on-kill once every slot
 * table and mailbox cell was freed; so no failures asserts contents and the final
 * accounting. The churn counters show the kills really happened and were recovered.
 * No timing is asserted (the window is long only so that every way of leaving comes up
 * on a loaded machine: each slot's turns are detach, exit, terminate, detach, throw, ...).
 */
import { describe, expect, it } from 'vitest';
import { runContentionSuite } from '../../bench/contention/suite.js';
import { WORKLOAD_NAMES, workloadByName } from '../../bench/contention/workloads/index.js';

const SMALL = { scale: 'small' as const, touch: 'full' as const, reps: 1, warmup: false, fullCleanup: true, failFast: true, progress: false as const, workloads: ['mleak'] };

describe('mleak on sabmalloc', () => {
  it('children are killed every way, recovered, their blocks adopted or settled, and the heap ends accounted', { timeout: 240_000 }, async () => {
    const r = await runContentionSuite({ ...SMALL, allocators: ['sabmalloc'], workers: [2], durationMs: 4_000 });
    expect(r.failures).toEqual([]);
    const [run] = r.runs;
    const c = run.churn!;
    expect(c.created).toBeGreaterThanOrEqual(4);
    expect(run.units).toBe(c.created);
    expect(c.cleanExits + c.processExits + c.throws + c.terminated).toBe(c.created);
    expect(c.terminated).toBeGreaterThan(0);
    expect(c.processExits + c.throws).toBeGreaterThan(0);
    // every child that died attached (exit, throw, most terminations) was recovered
    expect(c.recovered).toBeGreaterThanOrEqual(c.processExits + c.throws);
    expect(c.recovered).toBeLessThanOrEqual(c.processExits + c.throws + c.terminated);
    // a replacement takes over the blocks its predecessor held
    expect(c.adopted).toBeGreaterThan(0);
    // at most one block per terminated child is lost: a malloc returned, its pointer not yet stored
    expect(c.lostOnKill).toBeLessThanOrEqual(c.terminated);
    expect(run.mallocs).toBeGreaterThan(0);
    expect(run.frees).toBeGreaterThan(0);
  });
});

describe.each(['zig-gpa', 'smo', 'thing-futex'])('mleak on %s (no recovery: clean-exit churn only)', (allocator) => {
  it('every child detaches, replacements adopt the blocks, every block is freed', { timeout: 240_000 }, async () => {
    const r = await runContentionSuite({ ...SMALL, allocators: [allocator], workers: [1, 2], durationMs: 1_500 });
    expect(r.failures).toEqual([]);
    for (const run of r.runs) {
      const c = run.churn!;
      expect(c.created).toBeGreaterThan(0);
      expect(c.cleanExits).toBe(c.created);
      expect(c.terminated + c.processExits + c.throws + c.recovered + c.lostOnKill).toBe(0);
      expect(run.mallocs).toBeGreaterThan(0);
    }
  });
});

describe('mleak outside Node', () => {
  it('is a suite workload marked Node-only (the browser lab leaves those out), with a clear error off Node', () => {
    expect(WORKLOAD_NAMES).toContain('mleak');
    const def = workloadByName('mleak');
    expect(def.nodeOnly).toBe(true);
    expect(() => def.run({} as never)).toThrow(/Node contention worker only/);
  });
});
