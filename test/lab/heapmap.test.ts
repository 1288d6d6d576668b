/**
 * The web lab's heap map and thread-cache reader (bench/web/page/heapmap.ts) against the
 * heap's own stats(): both read the same buffer, one from the page without attaching.
 */
import { describe, expect, it } from 'vitest';
import { PageState, readHeapMap, readThreadCaches } from '../../bench/web/page/heapmap.js';
import { SharedHeap } from '../../src/index.js';

describe('web lab heap map', () => {
  it('maps every page once, by state, in agreement with stats()', () => {
    const heap = SharedHeap.create({ size: 4 << 20, maxSize: 16 << 20 });
    const small = Array.from({ length: 3000 }, (_, k) => heap.malloc(16 + ((k * 37) % 2000)));
    const large = [heap.malloc(300_000), heap.malloc(1 << 20)];
    for (let k = 0; k < small.length; k += 3) heap.free(small[k]!);
    const map = readHeapMap(heap.buffer);
    const s = heap.stats();
    expect(map.exact).toBe(true);
    expect(map.state.length).toBe(map.metadataPages + map.committedPages);
    expect(map.metadataPages * map.pageSize).toBeGreaterThanOrEqual(s.metadataBytes);
    expect(map.committedPages * map.pageSize).toBe(s.heapBytes);
    expect(map.counts.free * map.pageSize).toBe(s.pageHeapFreeBytes);
    expect(map.counts.small * map.pageSize).toBe(s.smallSpanBytes);
    expect(map.counts.large * map.pageSize).toBe(s.largeBytes);
    expect(map.spans.large).toBe(2);
    expect(map.counts.unknown).toBe(0);
    for (let i = 0; i < map.state.length; i++) {
      if (map.state[i] === PageState.SMALL) expect(map.sizeClass[i]).toBeGreaterThan(0);
      else expect(map.sizeClass[i]).toBe(0);
    }
    // This thread's cache holds what it freed, as stats() counts it.
    const caches = readThreadCaches(heap.buffer);
    expect(caches.rows.length).toBe(1);
    expect(caches.rows[0]!.totalBytes).toBe(s.threadCacheFreeBytes);
    for (const p of [...small.filter((_, k) => k % 3 !== 0), ...large]) heap.free(p);
    heap.detach();
  });
});
