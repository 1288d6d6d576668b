/**
 * ThreadCache behaviour seen through stats() (no timing): freed small objects stay in the
 * freeing thread's cache and serve later mallocs (hits), within the per-thread byte budget;
 * a random mixed-size churn is mostly served from the cache.
 */
import { describe, expect, it } from 'vitest';
import { SharedHeap } from '../../src/index.js';
import { between, rng32 } from '../helpers/stamp.js';
import { KiB, MiB } from '../helpers/heap.js';

describe('thread cache', () => {
  it('keeps freed objects of a class and serves the next mallocs from them', () => {
    const heap = SharedHeap.create({ size: 64 * MiB });
    const ps = Array.from({ length: 1000 }, () => heap.malloc(100));
    for (const p of ps) heap.free(p);
    const s0 = heap.stats();
    expect(s0.threadCacheFreeBytes, 'the cache holds some of the freed objects').toBeGreaterThan(0);
    for (let i = 0; i < ps.length; i++) ps[i] = heap.malloc(100);
    const s1 = heap.stats();
    const hits = s1.threadCacheHits - s0.threadCacheHits;
    const misses = s1.threadCacheMisses - s0.threadCacheMisses;
    expect(hits + misses).toBe(1000);
    expect(hits, `hits ${hits}, misses ${misses}`).toBeGreaterThanOrEqual(100);
    for (const p of ps) heap.free(p);
    heap.check();
  });

  it('never populates or caches a span nobody asked for in a one-object-per-span class', () => {
    // 128 KiB objects: one per 16-page span, batch 2. Before the cap, the second fetch took
    // a whole batch (two spans) for one malloc and parked the extra 128 KiB span in the cache.
    const heap = SharedHeap.create({ size: 64 * MiB });
    const n = 128 * KiB;
    const cls = () => heap.stats().sizeClasses.find((c) => c.size === n)!;
    expect(heap.stats().sizeClasses.find((c) => c.size === n)?.pagesPerSpan).toBeGreaterThan(0);
    const a = heap.malloc(n);
    heap.free(a);
    const b = heap.malloc(n); // from the cache
    const c = heap.malloc(n); // a fetch: must take one object, from one new span
    expect(cls().spans, 'spans of the 128 KiB class').toBe(2);
    expect(cls().freeObjects, 'free 128 KiB objects anywhere').toBe(0);
    heap.free(b);
    heap.free(c); // over the list's max length of 1: one block goes back and its span with it
    expect(cls().spans).toBeLessThanOrEqual(1);
    expect(heap.stats().threadCacheFreeBytes).toBeLessThanOrEqual(n);
    heap.check();
  });

  it('gives back its cached one-object-span blocks before it takes a new span-sized block', () => {
    // 64 KiB and 72 KiB objects are one per span (8 and 9 pages). A freed 64 KiB block stays
    // in the thread cache (max length 1); the next 72 KiB fetch first gives it back, so its
    // 8 pages merge with the free pages after it and serve the 9-page span: the high-water
    // mark stays at 9 pages instead of 8 + 9. The same before a large (> 256 KiB) block.
    const heap = SharedHeap.create({ size: 8 * MiB });
    const ps = heap.stats().pageSize;
    const classOf = (n: number) => heap.stats().sizeClasses.find((c) => c.size === n)!;
    expect(classOf(64 * KiB).pagesPerSpan).toBe(8);
    expect(classOf(72 * KiB).pagesPerSpan).toBe(9);
    const a = heap.malloc(64 * KiB);
    heap.free(a);
    expect(heap.stats().threadCacheFreeBytes, 'the 64 KiB block is cached').toBe(64 * KiB);
    const b = heap.malloc(72 * KiB);
    expect(b, 'the 72 KiB span starts where the 64 KiB one was').toBe(a);
    expect(heap.stats().threadCacheFreeBytes).toBe(0);
    expect(heap.stats().touchedBytes).toBe(9 * ps);
    heap.free(b);
    expect(heap.stats().threadCacheFreeBytes, 'the 72 KiB block is cached').toBe(72 * KiB);
    const c = heap.malloc(320 * KiB); // a large block: 40 pages
    expect(c).toBe(a);
    expect(heap.stats().threadCacheFreeBytes).toBe(0);
    expect(heap.stats().touchedBytes).toBe(40 * ps);
    heap.free(c);
    heap.check();
  });

  it('stays within the per-thread budget (4 MiB by default)', () => {
    const heap = SharedHeap.create({ size: 64 * MiB });
    const ps = Array.from({ length: 8192 }, () => heap.malloc(1 * KiB)); // 8 MiB
    for (const p of ps) heap.free(p);
    const s = heap.stats();
    expect(s.threadCacheFreeBytes).toBeGreaterThan(0);
    expect(s.threadCacheFreeBytes).toBeLessThanOrEqual(4 * MiB);
    heap.check();
  });

  it('serves most of a random 16 B..1 KiB churn from the cache', () => {
    const heap = SharedHeap.create({ size: 64 * MiB });
    const next = rng32(99);
    const live = Array.from({ length: 1000 }, () => heap.malloc(between(next, 16, 1024)));
    const s0 = heap.stats();
    for (let i = 0; i < 50_000; i++) {
      const k = next() % live.length;
      heap.free(live[k]!);
      live[k] = heap.malloc(between(next, 16, 1024));
    }
    const s1 = heap.stats();
    const hits = s1.threadCacheHits - s0.threadCacheHits;
    const misses = s1.threadCacheMisses - s0.threadCacheMisses;
    expect(hits / (hits + misses), `hits ${hits}, misses ${misses}`).toBeGreaterThan(0.5);
    for (const p of live) heap.free(p);
    heap.check();
  });
});
