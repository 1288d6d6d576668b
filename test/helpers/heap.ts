/** Small helpers over a SharedHeap's public statistics, shared by the allocator tests. */
import { expect } from 'vitest';
import type { SharedHeap } from '../../src/index.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** Free spans of the page heap as a map pages -> count. */
export function freeSpans(heap: SharedHeap): Map<number, number> {
  const m = new Map<number, number>();
  for (const { pages, count } of heap.stats().pageHeapFreeSpans) if (count > 0) m.set(pages, (m.get(pages) ?? 0) + count);
  return m;
}

/** Pages of a large block (a span of its own): usableSize is whole pages. */
export function pagesOf(heap: SharedHeap, p: number): number {
  const ps = heap.stats().pageSize;
  const u = heap.usableSize(p);
  expect(u % ps, `large block ${p}: usableSize ${u} is not whole pages`).toBe(0);
  return u / ps;
}

/** Everything freed and every cache flushed: nothing in use, every page free, check() passes. */
export function expectAllPagesFree(heap: SharedHeap): void {
  heap.check();
  const s = heap.stats();
  expect(s.inUseObjects, 'inUseObjects').toBe(0);
  expect(s.inUseBytes, 'inUseBytes').toBe(0);
  const where =
    `pageHeapFreeBytes === heapBytes; elsewhere: central ${s.centralCacheFreeBytes} B, transfer ${s.transferCacheFreeBytes} B, ` +
    `thread caches ${s.threadCacheFreeBytes} B, small spans ${s.smallSpanBytes} B, large ${s.largeBytes} B`;
  expect(s.pageHeapFreeBytes, where).toBe(s.heapBytes);
}

/** Checks that no two [p, p + len) ranges overlap; returns a description of the first clash. */
export function firstOverlap(blocks: Iterable<readonly [number, number]>): string | null {
  const sorted = [...blocks].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) {
    const [p, len] = sorted[i - 1]!;
    if (p + len > sorted[i]![0]) return `[${p}, ${p + len}) overlaps block at ${sorted[i]![0]}`;
  }
  return null;
}

/**
 * With no large object live: every page of the heap is either free in the page heap or part
 * of a small-object span (per-class spans x pages per span).
 */
export function expectPagesAccounted(heap: SharedHeap): void {
  const s = heap.stats();
  expect(s.largeObjects, 'no large object is live').toBe(0);
  let smallSpanBytes = 0;
  for (const c of s.sizeClasses) smallSpanBytes += c.spans * c.pagesPerSpan * s.pageSize;
  expect(s.pageHeapFreeBytes + smallSpanBytes, 'free page-heap bytes + small span bytes === heapBytes').toBe(s.heapBytes);
}
