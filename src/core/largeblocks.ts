/**
 * Large blocks (more than SMALL_MAX bytes): each is a whole span of its own, taken from the
 * PageHeap through CentralCache.spanFor (which may first send TransferCache batches back,
 * to keep the high-water mark low) and, on free, given back whole (SharedHeap.freeSlow and
 * release hold the PageHeap side of the claim).
 *
 * Owns nothing: it runs on the calling thread's tiers, inside the caller's outer lock
 * (the global lock of a globalLock heap, else a NoLock). Writes this thread's slot only:
 * its TRANSIT_SPAN record and its large-block counters.
 *
 * Invariant (crash consistency): the new span is recorded in S.TRANSIT_SPAN by spanFor
 * before it leaves the PageHeap's transaction, and the block's SHADOW byte says ALLOCATED
 * before that record is dropped, so recovery of a thread killed on the way either gives
 * the span back (still in transit) or leaves the block allocated (handed out).
 */

import type { Lock } from '../locks/index.js';
import { S, Shadow, slotF64Of } from './layout.js';
import { NO_SPAN } from './span.js';
import type { HeapTiers } from './tiers.js';

/** A block of n bytes (n > SMALL_MAX) on whole pages; 0 when no run of free pages is left. */
export function allocateLarge(t: HeapTiers, outer: Lock, n: number): number {
  const mem = t.mem;
  const pages = Math.ceil(n / mem.pageSize);
  // Spans parked in this thread's cache go back first, so they can serve this block.
  if (t.modes.threadCache) t.threadCache.releaseSpanBlocks(0);
  let s = NO_SPAN;
  t.txn.enter(outer);
  try {
    s = t.central.spanFor(pages, 0);
  } finally {
    t.txn.exit(outer);
  }
  if (s === NO_SPAN) return 0;
  t.pageHeap.clearShadow(s, pages);
  const p = mem.pageAddress(s);
  mem.shadow[(p - mem.base) >>> 4] = Shadow.ALLOCATED;
  mem.i32[t.slotWord + S.TRANSIT_SPAN] = NO_SPAN;
  mem.f64[slotF64Of(t.layout, t.threadSlot) + t.layout.slot.largeMallocs]++;
  return p;
}

/** Counts a large block this thread freed (a free of its slot's counters, and a large one). */
export function countLargeFree(t: HeapTiers): void {
  const f = slotF64Of(t.layout, t.threadSlot);
  t.mem.f64[f + t.layout.slot.frees]++;
  t.mem.f64[f + t.layout.slot.largeFrees]++;
}
