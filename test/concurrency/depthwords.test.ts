/**
 * Thread-cache list lengths kept in the cached objects' depth words, and small mallocs
 * derived instead of counted (the fast path, threadcache.ts):
 * - a write after free over the head's depth word (a length it cannot be) is repaired by
 *   the next free of the class: the owner walks the list and rewrites the depths; check()
 *   names the overwritten word until then;
 * - one that lowers a depth is seen by check(), and trim() (which walks) still empties the
 *   list;
 * - stats() clamps what it reads of another thread's (or a damaged) depth word, also while
 *   that thread churns and writes the second word of the blocks it holds (a barrier, then
 *   both act);
 * - recovery's netAllocationsBySlot is exact for a thread killed between slow paths (the
 *   counts it used to read were those published at the thread's last slow path).
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HeapCorruptionError, SharedHeap } from '../../src/index.js';
import { withTimeout } from '../helpers/pool.js';

const MiB = 1 << 20;
const DIST_INDEX = new URL('../../dist/src/index.js', import.meta.url).href;

/** n blocks of `size` bytes, then all freed: they sit on this thread's list, last freed first. */
function cacheSome(heap: SharedHeap, size: number, n: number): number[] {
  const blocks = Array.from({ length: n }, () => heap.malloc(size));
  for (const p of blocks) heap.free(p);
  return blocks;
}

function checkError(heap: SharedHeap): HeapCorruptionError | undefined {
  try {
    heap.check();
  } catch (e) {
    if (e instanceof HeapCorruptionError) return e;
    throw e;
  }
  return undefined;
}

describe('depth words of cached objects', () => {
  for (const hardening of [true, false]) {
    it(`a depth word overwritten with a length the list cannot have is repaired by the next free (hardening: ${hardening})`, () => {
      const heap = SharedHeap.create({ size: 8 * MiB, hardening });
      const held = heap.malloc(64);
      const blocks = cacheSome(heap, 64, 6);
      const before = heap.stats().threadCacheFreeBytes;
      const head = blocks[blocks.length - 1]!;
      new Uint32Array(heap.buffer)[(head >>> 2) + 1] = 0x7fff_fff0; // a write after free
      const e = checkError(heap);
      expect(e, 'check() sees the overwritten depth word').toBeInstanceOf(HeapCorruptionError);
      expect(e!.message).toContain('depth');
      // stats() reads the head's depth: clamped to what the list can hold.
      expect(heap.stats().threadCacheFreeBytes).toBeLessThan(before + 64 * 1024);
      heap.free(held); // the push finds depth 0x7fff_fff1 > max: the owner walks and repairs
      expect(checkError(heap)).toBeUndefined();
      expect(heap.stats().threadCacheFreeBytes).toBeLessThanOrEqual(before + 64);
      // The list still serves every block, each once.
      const again = new Set(Array.from({ length: 7 }, () => heap.malloc(64)));
      expect(again.size).toBe(7);
      for (const p of again) heap.free(p);
      expect(checkError(heap)).toBeUndefined();
    });
  }

  it('a lowered depth word is seen by check(), and trim() still empties the list', () => {
    const heap = SharedHeap.create({ size: 8 * MiB });
    const held = heap.malloc(128);
    const blocks = cacheSome(heap, 128, 6);
    // The second object of the list: the next pops and pushes never read its depth.
    new Uint32Array(heap.buffer)[(blocks[blocks.length - 2]! >>> 2) + 1] = 0;
    heap.free(heap.malloc(128));
    heap.free(held);
    // The list now holds more objects than its head's depth says.
    const e = checkError(heap);
    expect(e).toBeInstanceOf(HeapCorruptionError);
    expect(e!.message).toMatch(/depth|longer than expected/);
    heap.trim();
    expect(heap.stats().threadCacheFreeBytes).toBe(0);
    expect(checkError(heap)).toBeUndefined();
  });

  it('the fast path keeps exact list lengths: stats counts every cached object', () => {
    const heap = SharedHeap.create({ size: 8 * MiB });
    const s0 = heap.stats();
    const blocks = Array.from({ length: 50 }, () => heap.malloc(32));
    for (const p of blocks.slice(0, 20)) heap.free(p);
    const s1 = heap.stats();
    expect(s1.mallocCount - s0.mallocCount).toBe(50);
    expect(s1.freeCount - s0.freeCount).toBe(20);
    const cls32 = s1.sizeClasses.find((c) => c.size === 32)!;
    expect(cls32.objectsInUse).toBe(30);
    heap.check();
  });
});

describe('recovery of a killed thread', () => {
  it('reports its net allocations exactly, although it died between slow paths', async () => {
    const heap = SharedHeap.create({ size: 16 * MiB });
    const control = new Int32Array(new SharedArrayBuffer(4));
    // 40 mallocs, 15 frees, then 5 mallocs served by its list (no slow path after them):
    // 30 blocks held when it is terminated.
    const worker = new Worker(
      `const { workerData, parentPort, threadId } = require('node:worker_threads');
       import(workerData.url).then(({ SharedHeap }) => {
         const h = SharedHeap.attach(workerData.buffer);
         const held = [];
         for (let i = 0; i < 40; i++) held.push(h.malloc(64));
         for (let i = 0; i < 15; i++) h.free(held.pop());
         for (let i = 0; i < 5; i++) held.push(h.malloc(64));
         parentPort.postMessage({ threadId, held });
         Atomics.wait(new Int32Array(workerData.control), 0, 0);
       });`,
      { eval: true, workerData: { url: DIST_INDEX, buffer: heap.buffer, control: control.buffer } },
    );
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    const { threadId, held } = await withTimeout(
      new Promise<{ threadId: number; held: number[] }>((r) => worker.once('message', r)),
      60_000,
      'worker allocations',
    );
    await worker.terminate();
    await exited;
    const report = heap.recover(threadId);
    expect(report.slots).toHaveLength(1);
    expect(report.netAllocationsBySlot[report.slots[0]!]).toBe(held.length);
    for (const p of held) heap.free(p);
    heap.check();
  }, 90_000);

  it("stats() while another worker churns and writes its blocks' second words: every figure stays bounded", async () => {
    const heap = SharedHeap.create({ size: 16 * MiB });
    // [0] ready, [1] go, [2] done
    const control = new Int32Array(new SharedArrayBuffer(12));
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       import(workerData.url).then(({ SharedHeap }) => {
         const h = SharedHeap.attach(workerData.buffer);
         const u32 = new Uint32Array(workerData.buffer);
         const c = new Int32Array(workerData.control);
         const ring = [];
         for (let i = 0; i < 64; i++) ring.push(h.malloc(64));
         Atomics.store(c, 0, 1); Atomics.notify(c, 0);
         Atomics.wait(c, 1, 0);
         for (let it = 0; it < 400000; it++) {
           const p = h.malloc(16 + (it % 8) * 16);
           u32[(p >>> 2) + 1] = 0xffffffff; // the application's data, where a depth word was
           const k = it & 63;
           h.free(ring[k]);
           ring[k] = p;
         }
         for (const p of ring) h.free(p);
         h.detach();
         Atomics.store(c, 2, 1); Atomics.notify(c, 2);
       });`,
      { eval: true, workerData: { url: DIST_INDEX, buffer: heap.buffer, control: control.buffer } },
    );
    try {
      expect(Atomics.wait(control, 0, 0, 60_000)).not.toBe('timed-out');
      Atomics.store(control, 1, 1);
      Atomics.notify(control, 1);
      let reads = 0;
      while (Atomics.load(control, 2) === 0 || reads === 0) {
        const s = heap.stats();
        reads++;
        expect(s.threadCacheFreeBytes).toBeGreaterThanOrEqual(0);
        expect(s.threadCacheFreeBytes).toBeLessThanOrEqual(s.heapBytes);
        for (const c of s.sizeClasses) {
          expect(c.freeObjects).toBeGreaterThanOrEqual(0);
          expect(c.freeObjects * c.size).toBeLessThanOrEqual(s.heapBytes);
        }
        expect(Number.isFinite(s.mallocCount) && Number.isFinite(s.freeCount)).toBe(true);
      }
      expect(reads).toBeGreaterThan(0);
    } finally {
      await worker.terminate();
    }
    // The worker detached with nothing held: the exact counts are back.
    const s = heap.stats();
    expect(s.inUseObjects).toBe(0);
    expect(s.mallocCount).toBe(s.freeCount);
    heap.check();
  }, 90_000);
});
