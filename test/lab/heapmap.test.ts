/**
 * The web lab's thread-cache reader (bench/web/page/heapmap.ts) against the heap's own
 * stats(): both read the same buffer, one from the page without attaching.
 */
import { describe, expect, it } from 'vitest';
import { readThreadCaches } from '../../bench/web/page/heapmap.js';
import { SharedHeap } from '../../src/index.js';

describe('web lab thread-cache reader', () => {
  it('counts what this thread cached, in agreement with stats()', () => {
    const heap = SharedHeap.create({ size: 4 << 20, maxSize: 16 << 20 });
    const small = Array.from({ length: 3000 }, (_, k) => heap.malloc(16 + ((k * 37) % 2000)));
    const large = [heap.malloc(300_000), heap.malloc(1 << 20)];
    for (let k = 0; k < small.length; k += 3) heap.free(small[k]!);
    const s = heap.stats();
    // This thread's cache holds what it freed, as stats() counts it.
    const caches = readThreadCaches(heap.buffer);
    expect(caches.rows.length).toBe(1);
    expect(caches.rows[0]!.totalBytes).toBe(s.threadCacheFreeBytes);
    for (const p of [...small.filter((_, k) => k % 3 !== 0), ...large]) heap.free(p);
    heap.detach();
  });
});
