/**
 * Many workers on one heap (piscina, 16 threads, 16-32 churn tasks and 16 drain tasks so every
 * thread runs several tasks: attach -> work -> detach, then re-attach in a later task), once
 * per heap configuration: default, other lock kinds, no thread caches, one global lock. One
 * pool serves every configuration (a task carries nothing from one heap to the next).
 *
 * Workers allocate random sizes from 16 B to 1 MiB (mostly small, some large), stamp every
 * block with a pattern derived from (pointer, owner thread), and swap most new blocks into a
 * shared exchange array (itself a block of the heap) with Atomics.exchange; the block they
 * get back was usually allocated by another thread and is verified and freed there (a
 * remote free). Drain tasks then empty the exchange array, verifying and freeing each block.
 *
 * At the end: every worker has detached, so only the creating thread is attached and every
 * thread cache has been flushed; check() passes, nothing is in use, and every page is back in
 * the page heap as one free span (pageHeapFreeBytes === heapBytes), with no explicit trim().
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Piscina } from 'piscina';
import { SharedHeap, type HeapOptions } from '../../src/index.js';
import type { ChurnTask, DrainTask, TaskCounts } from '../fixtures/heap-worker.js';
import { KiB, MiB, expectAllPagesFree, expectPagesAccounted } from '../helpers/heap.js';
import { heapPool, withTimeout } from '../helpers/pool.js';

const THREADS = 16;
const SLOTS = 2048;
const DRAIN_TASKS = 16;

/** Heap configurations: the default one works hardest; the other modes get a shorter run. */
const CONFIGS: { name: string; opts: Partial<HeapOptions>; tasks: number; ops: number }[] = [
  { name: 'default (thread caches, ttas central locks, futex page-heap lock)', opts: {}, tasks: 32, ops: 400 },
  { name: 'mcs central locks, adaptive page-heap lock', opts: { locks: { central: 'mcs', pageHeap: 'adaptive' } }, tasks: 24, ops: 200 },
  // With the two above, every lock kind runs in each tier (short runs: FIFO kinds crawl
  // when 16 workers share 2 cores).
  { name: 'tas central locks, ticket page-heap lock', opts: { locks: { central: 'tas', pageHeap: 'ticket' } }, tasks: 16, ops: 100 },
  { name: 'ticket central locks, mcs page-heap lock', opts: { locks: { central: 'ticket', pageHeap: 'mcs' } }, tasks: 16, ops: 100 },
  { name: 'futex central locks, ttas page-heap lock', opts: { locks: { central: 'futex', pageHeap: 'ttas' } }, tasks: 16, ops: 100 },
  { name: 'adaptive central locks, tas page-heap lock', opts: { locks: { central: 'adaptive', pageHeap: 'tas' } }, tasks: 16, ops: 100 },
  { name: 'no thread caches (threadCache: false)', opts: { threadCache: false }, tasks: 24, ops: 200 },
  { name: 'one global lock (globalLock: true)', opts: { globalLock: true }, tasks: 24, ops: 200 },
];

// One pool of sixteen threads serves every configuration: a task attaches at its start and
// detaches at its end, so a thread carries nothing from one heap to the next.
let pool: Piscina | undefined;
afterAll(async () => {
  await pool?.destroy();
});

describe.each(CONFIGS)('sixteen workers on one heap: $name', ({ opts, tasks: CHURN_TASKS, ops: OPS_PER_TASK }) => {

  it(
    'churns with remote frees, verifies every block, and gives every page back',
    async () => {
      // Room for the exchange array's blocks (2048 of 16 KiB on average) and the caches.
      const heap = SharedHeap.create({ size: 64 * MiB, ...opts });
      // The exchange array is a large block (a span of its own), so freeing it at the end
      // returns its pages straight to the page heap, not to this thread's cache.
      const slotsPtr = heap.malloc(Math.max(SLOTS * 4, 300 * KiB));
      new Int32Array(heap.buffer, slotsPtr, SLOTS).fill(0);

      pool ??= heapPool(THREADS);
      const churns: Promise<TaskCounts>[] = [];
      for (let i = 0; i < CHURN_TASKS; i++) {
        const task: ChurnTask = { buffer: heap.buffer, slotsPtr, slotCount: SLOTS, ops: OPS_PER_TASK, seed: 0x5eed0000 + i };
        churns.push(pool!.run(task, { name: 'churn' }));
      }
      const churned = await withTimeout(Promise.all(churns), 90_000, 'churn tasks');

      const drains: Promise<TaskCounts>[] = [];
      for (let i = 0; i < DRAIN_TASKS; i++) {
        const per = SLOTS / DRAIN_TASKS;
        const task: DrainTask = { buffer: heap.buffer, slotsPtr, slotCount: SLOTS, from: i * per, to: (i + 1) * per };
        drains.push(pool!.run(task, { name: 'drain' }));
      }
      const drained = await withTimeout(Promise.all(drains), 60_000, 'drain tasks');

      const all = [...churned, ...drained];
      const allocs = all.reduce((a, c) => a + c.allocs, 0);
      const frees = all.reduce((a, c) => a + c.frees, 0);
      const remote = all.reduce((a, c) => a + c.remoteFrees, 0);
      expect(allocs).toBe(CHURN_TASKS * OPS_PER_TASK);
      expect(frees, 'every block allocated by a worker was freed by a worker').toBe(allocs);
      expect(remote, `remote frees ${remote} of ${frees}`).toBeGreaterThan(frees / 2);
      expect(all.reduce((a, c) => a + c.remoteReallocs, 0), 'blocks of other threads were realloc\'ed').toBeGreaterThan(0);
      expect(all.reduce((a, c) => a + c.callocs, 0)).toBeGreaterThan(0);
      expect(new Set(all.map((c) => c.threadId)).size, 'tasks ran on 16 threads').toBe(THREADS);
      const tasksPerThread = new Map<number, number>();
      for (const c of all) tasksPerThread.set(c.threadId, (tasksPerThread.get(c.threadId) ?? 0) + 1);
      expect(Math.max(...tasksPerThread.values()), 'some thread detached and re-attached').toBeGreaterThan(1);

      expect(new Int32Array(heap.buffer, slotsPtr, SLOTS).every((x) => x === 0)).toBe(true);
      heap.free(slotsPtr);
      const s = heap.stats();
      expect(s.attachedThreads, 'only the creating thread is still attached').toBe(1);
      expect(s.mallocCount, 'malloc and free counts balance').toBe(s.freeCount);
      expect(s.mallocCount).toBeGreaterThanOrEqual(allocs + 1);
      expect(s.threadCacheFreeBytes, 'no thread cache holds anything').toBe(0);
      expect(s.inUseObjects).toBe(0);
      expectPagesAccounted(heap);
      expectAllPagesFree(heap);
      expect(heap.stats().pageHeapFreeSpanCount, 'the free pages coalesced into one span').toBe(1);

      // The heap keeps working for a new round of workers after all that.
      const again = await withTimeout(
        Promise.all(Array.from({ length: THREADS }, (_, i) => pool!.run({ buffer: heap.buffer, sizes: [16, 1000, 70 * KiB, 600 * KiB].map((n) => n + i) }, { name: 'allocSizes' }))),
        30_000,
        'second round',
      );
      expect(again.every((c) => c.allocs === 4 && c.frees === 4)).toBe(true);
      expectAllPagesFree(heap);
    },
    180_000,
  );
});
