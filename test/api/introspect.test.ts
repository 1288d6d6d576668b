/**
 * heapPicture(): the read-only picture of the tiers against the heap's own stats() and
 * check(), on one thread (exact: nobody else changes the heap while it is read).
 */
import { describe, expect, it } from 'vitest';
import { heapPicture, SharedHeap, sizeClassOfRequest } from '../../src/index.js';

describe('heapPicture', () => {
  it('places every span and object as stats() counts them, and its event counters move on slow paths only', () => {
    const heap = SharedHeap.create({ size: 1 << 20, maxSize: 16 << 20 });
    const start = heapPicture(heap.buffer);
    expect(start.spans).toEqual([expect.objectContaining({ start: 0, kind: 'free', pages: start.committedPages })]);
    const cls = sizeClassOfRequest(start.pageSize, 100);
    // First malloc of a class: a miss, a refill of a freshly populated span carved from the PageHeap.
    const first = heap.malloc(100);
    const p1 = heapPicture(heap.buffer);
    expect(p1.classes[cls]!.events.refills).toBe(1);
    expect(p1.classes[cls]!.events.populates).toBe(1);
    expect(p1.pageHeap.carves).toBe(1);
    expect(p1.threads[0]!.misses).toBe(1);
    // Second: slow start let the list hold nothing more yet (max length 1): another refill, no carve.
    const second = heap.malloc(100);
    const p2 = heapPicture(heap.buffer);
    expect(p2.classes[cls]!.events.refills).toBe(2);
    expect(p2.pageHeap.carves).toBe(1);
    const many = Array.from({ length: 3000 }, (_, k) => heap.malloc(16 + ((k * 37) % 3000)));
    const large = heap.malloc(400_000);
    for (let k = 0; k < many.length; k += 2) heap.free(many[k]!);
    // stats() first: it publishes this thread's free count, which the picture then reads.
    const s = heap.stats();
    const pic = heapPicture(heap.buffer);
    expect(pic.exact).toBe(true);
    expect(pic.spans.reduce((n, x) => n + x.pages, 0)).toBe(pic.committedPages);
    expect(pic.spans.filter((x) => x.kind === 'free').reduce((n, x) => n + x.pages, 0) * pic.pageSize).toBe(s.pageHeapFreeBytes);
    expect(pic.spans.filter((x) => x.kind === 'large').length).toBe(1);
    let inUse = 0;
    let cached = 0;
    let transfer = 0;
    for (const x of pic.spans) {
      if (x.sizeClass === 0) continue;
      expect(x.freeInSpan + x.outOfSpan).toBe(x.objectsPerSpan);
      inUse += x.heldByApp;
      cached += x.inThreadCaches * x.objectSize;
      transfer += x.inTransfer * x.objectSize;
    }
    expect(inUse + 1).toBe(s.inUseObjects);
    expect(cached).toBe(s.threadCacheFreeBytes);
    expect(transfer).toBe(s.transferCacheFreeBytes);
    for (const c of s.sizeClasses) expect(pic.classes[c.sizeClass]!.inUse).toBe(c.objectsInUse);
    expect(pic.threads.length).toBe(1);
    expect(pic.threads[0]!.threadCacheHits).toBe(s.threadCacheHits);
    expect(pic.threads[0]!.misses).toBe(s.threadCacheMisses);
    expect(pic.totals.threadCacheHits).toBe(s.threadCacheHits);
    expect(pic.totals.threadCacheMisses).toBe(s.threadCacheMisses);
    // Nobody holds or waits for a lock between calls.
    for (const l of pic.locks) {
      expect(l.holderThread).toBe(0);
      expect(l.waitingThreads).toEqual([]);
    }
    for (const p of [first, second, large, ...many.filter((_, k) => k % 2 === 1)]) heap.free(p);
    heap.check();
    heap.detach();
  });
});
