/**
 * Batches parked in the TransferCaches for size classes nobody allocates any more go back
 * before the high-water mark of pages handed out rises (CentralCache.spanFor): a phase of
 * small blocks freed, then a phase of other sizes, reuses the first phase's pages instead
 * of touching new ones.
 */
import { describe, expect, it } from 'vitest';
import { SharedHeap } from '../../src/index.js';

const MiB = 2 ** 20;

describe('TransferCaches drained before the high-water mark rises', () => {
  it('a second phase of other sizes reuses the pages of the first phase', () => {
    const heap = SharedHeap.create({ size: 8 * MiB, maxSize: 256 * MiB, threadCacheThreadBudget: 256 * 1024 });
    const blocks: number[] = [];
    // Phase 1: 8 MiB of blocks of 16 classes (16..256 B), then all freed: the thread cache
    // overflows batch by batch into the TransferCaches.
    for (let bytes = 0, k = 0; bytes < 8 * MiB; k++) {
      const n = 16 * (1 + (k % 16));
      blocks.push(heap.malloc(n));
      bytes += n;
    }
    for (const p of blocks) heap.free(p);
    const after1 = heap.memoryReport();
    // The precondition the drain acts on: parked batches worth more than 1/32 of the touched pages.
    expect(after1.transferCacheBytes * 32).toBeGreaterThan(after1.touchedBytes);
    // Phase 2: blocks of 20 KiB (one-object spans of a class phase 1 never used).
    const big: number[] = [];
    for (let bytes = 0; bytes < 6 * MiB; bytes += 20 * 1024) big.push(heap.malloc(20 * 1024));
    const after2 = heap.memoryReport();
    expect(after2.transferCacheBytes).toBeLessThan(after1.transferCacheBytes);
    // Without the drain the pages of the parked batches stay resident and phase 2 touches
    // new pages for most of its 6 MiB.
    expect(after2.touchedBytes - after1.touchedBytes).toBeLessThan(after1.transferCacheBytes / 2);
    expect(after2.unaccountedBytes).toBe(0);
    for (const p of big) heap.free(p);
    heap.check();
  });
});
