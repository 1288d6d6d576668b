/**
 * The mleak workload at small counts: real child worker_threads exchange stamped blocks
 * and leave by detach, process.exit/throw and terminate(). The suite fails a run on any
 * verification failure (a held, adopted, received or leftover block whose stamp broke), a
 * failed check(), or blocks still in use beyond those counted lost-on-kill once every slot
 * table and mailbox cell was freed; so no failures asserts contents and the final
 * accounting. The churn counters show the kills really happened and were recovered.
 * No timing is asserted: every count below holds whatever fits in the window. Each slot's
 * turns are detach, exit, terminate, detach, throw, terminate (worker 1 a turn ahead of
 * worker 0), and minLives 2 starts at least two children per slot even after the window
 * (a terminate child runs until it is killed), so three consecutive turns, which hold a
 * terminate and an exit or a throw, always come up. sabmalloc's 2 s window gives the kills
 * many places to land (several children per slot); the peers need only their clean
 * exits, so they share one 400 ms suite run.
 */
import { describe, expect, it } from 'vitest';
import { runContentionSuite } from '../../bench/contention/suite.js';
import { WORKLOAD_NAMES, workloadByName } from '../../bench/contention/workloads/index.js';
import { createSabmallocHeap } from '../../bench/contention/adapters/sabmalloc.js';
import { createControl, controlViews } from '../../bench/kit/control.js';
import { VerificationError } from '../../bench/contention/workloads/common.js';
import { Child, CELL_WORDS, EMPTY, I_FREE, S, SLOT_HEADER, TAKING, mleakDataWords, slotBase, type MleakLayout } from '../../bench/contention/workloads/mleak-child.js';
import { settle } from '../../bench/contention/workloads/mleak-supervisor.js';
import { HeapView, newChurn } from '../../bench/contention/workloads/common.js';
import { stampTag, tagIntact } from '../../bench/kit/stamp.js';
import { DoubleFreeError, SharedHeap } from '../../src/index.js';

const SMALL = { scale: 'small' as const, touch: 'full' as const, reps: 1, warmup: false, fullCleanup: true, failFast: true, progress: false as const, workloads: ['mleak'] };

describe('mleak on sabmalloc', () => {
  it('children are killed every way, recovered, their blocks adopted or settled, and the heap ends accounted', { timeout: 240_000 }, async () => {
    const r = await runContentionSuite({ ...SMALL, allocators: ['sabmalloc'], workers: [2], durationMs: 2_000, params: { mleak: { minLives: 2 } } });
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

describe('mleak minLives', () => {
  it('every way of leaving comes up even when the window closes before the first child starts', { timeout: 240_000 }, async () => {
    const r = await runContentionSuite({ ...SMALL, allocators: ['sabmalloc'], workers: [2], durationMs: 1, params: { mleak: { minLives: 2 } } });
    expect(r.failures).toEqual([]);
    const c = r.runs[0].churn!;
    expect(c.created).toBeGreaterThanOrEqual(4);
    expect(c.terminated).toBeGreaterThan(0); // a terminate turn started after the window is still killed
    expect(c.processExits + c.throws).toBeGreaterThan(0);
    expect(c.cleanExits + c.processExits + c.throws + c.terminated).toBe(c.created);
    expect(c.adopted).toBeGreaterThan(0);
  });
});

// The peers in one suite run on one pool (onePool), 2 workers, 400 ms: a few children per slot (at least one).
describe('mleak on zig-gpa, smo and thing-futex (no recovery: clean-exit churn only)', () => {
  it('every child detaches, replacements adopt the blocks, every block is freed', { timeout: 240_000 }, async () => {
    const r = await runContentionSuite({ ...SMALL, allocators: ['zig-gpa', 'smo', 'thing-futex'], workers: [2], durationMs: 400, onePool: true, params: { mleak: { minLives: 1 } } });
    expect(r.runs.map((x) => x.allocator).sort()).toEqual(['smo', 'thing-futex', 'zig-gpa']);
    expect(r.failures).toEqual([]);
    for (const run of r.runs) {
      const c = run.churn!;
      expect(c.created, run.allocator).toBeGreaterThan(0);
      expect(run.units).toBe(c.created);
      expect(c.cleanExits).toBe(c.created);
      expect(c.terminated + c.processExits + c.throws + c.recovered + c.lostOnKill).toBe(0);
      expect(run.mallocs).toBeGreaterThan(0);
    }
  });
});

describe('a child on the main thread', () => {
  it('keeps the slot table stamped, and a replacement refuses a damaged block it would adopt', () => {
    const params = { ...workloadByName('mleak').defaults, ...workloadByName('mleak').small };
    const heap = createSabmallocHeap({ id: 'sabmalloc', label: 'sabmalloc', family: 'sabmalloc' }, { liveBytes: 4 << 20, workers: 1, preallocate: false });
    const data = new SharedArrayBuffer(mleakDataWords(params as unknown as MleakLayout, 1) * 4);
    const d = new Int32Array(data);
    const cd = { allocator: heap.spec, heap: heap.buffer, ctl: createControl(), data, slot: 0, workers: 1, index: 1, life: 0, mode: 'clean' as const, params, seed: 5, touch: 'full' as const };
    const first = new Child(heap.adapter, d, cd);
    expect(first.run(controlViews(cd.ctl).i32)).toBe(false); // lifeOps iterations, no STOP
    const tbl = slotBase(params as unknown as MleakLayout, 0) + SLOT_HEADER;
    const held = new Child(heap.adapter, d, { ...cd, life: 1 }).adopt();
    expect(held).toBe(params.slots);
    expect(heap.liveObjects()).toBeGreaterThanOrEqual(params.slots); // plus blocks still in the mailbox
    const p = d[tbl + 3];
    const h = new Int32Array(heap.buffer);
    h[p >>> 2] ^= 1; // the block's first word (checked with the middle and last ones)
    expect(() => new Child(heap.adapter, d, { ...cd, life: 2 }).adopt()).toThrow(VerificationError);
    heap.dispose();
  });
});

// A child killed inside free(p) (its intent logged, its count not bumped), settled by the
// supervisor against the heap's count of the child's mallocs minus frees. Once the free went
// through, recovery hands p back to the central cache and a live child may own it before the
// supervisor settles: one heap on this thread plays the dead child, then that live child.
describe('settling a dead child\'s free', () => {
  const l = { ...workloadByName('mleak').defaults, ...workloadByName('mleak').small } as unknown as MleakLayout;
  const b = slotBase(l, 0);
  const tbl = b + SLOT_HEADER;
  const N = 48;
  const TAG = 0x1235;
  const OTHER = 0x7777;
  const setup = (): { heap: SharedHeap; d: Int32Array; hv: HeapView; p: number } => {
    const heap = SharedHeap.create({ size: 1 << 20, maxThreads: 4 });
    const d = new Int32Array(mleakDataWords(l, 1));
    const hv = new HeapView(heap.buffer);
    const p = heap.malloc(N);
    stampTag(hv.h, p, N, TAG);
    return { heap, d, hv, p };
  };
  /** The intent a free logs, as Child.release (cell -1) and Child.receive (cell c) write it. */
  const intendFree = (d: Int32Array, p: number, cell: number): void => {
    d[b + S.k] = cell < 0 ? 0 : -1;
    d[b + S.p] = p;
    d[b + S.cell] = cell;
    d[b + S.counted] = d[b + S.frees];
    d[b + S.intent] = I_FREE;
  };
  const fromTable = (d: Int32Array, p: number): void => {
    d[tbl + l.slots] = N;
    d[tbl + 2 * l.slots] = TAG;
    intendFree(d, p, -1);
  };

  it('leaves alone a block the finished free gave back and a live child took again', () => {
    for (const cell of [-1, 2 * CELL_WORDS]) {
      const { heap, d, hv, p } = setup();
      if (cell < 0) fromTable(d, p);
      else {
        d.set([TAKING + 0, p, N, TAG], cell);
        intendFree(d, p, cell);
      }
      heap.free(p); // the child's free went through; its count did not
      const q = heap.malloc(N); // a live child's malloc: the same block, again
      expect(q).toBe(p);
      stampTag(hv.h, q, N, OTHER);
      const churn = newChurn();
      settle(heap, d, hv, l, 0, -1, churn); // the heap counts the free: net -1
      expect(tagIntact(hv.h, q, N, OTHER)).toBe(true);
      expect(churn.reclaimed).toBe(0);
      expect(() => heap.free(q)).not.toThrow(); // still the live child's, not freed under it
      expect(d[b + S.intent]).toBe(0);
      if (cell >= 0) expect(d[cell]).toBe(EMPTY);
      heap.detach();
    }
  });

  it('finishes a free the child had not begun, and leaves one it began without a count in doubt', () => {
    const { heap, d, hv, p } = setup();
    fromTable(d, p); // killed after the table let go of p, before free(p)
    const churn = newChurn();
    settle(heap, d, hv, l, 0, 0, churn);
    expect(churn.reclaimed).toBe(1);
    expect(() => heap.free(p)).toThrow(DoubleFreeError);
    const p2 = heap.malloc(N);
    stampTag(hv.h, p2, N, TAG);
    fromTable(d, p2);
    hv.h[p2 >>> 2] = 0; // the free's link written, its push not made: nothing counted
    settle(heap, d, hv, l, 0, 0, churn);
    expect(churn.reclaimed).toBe(1);
    expect(churn.mallocsInDoubt).toBe(1);
    heap.free(p2);
    heap.detach();
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
