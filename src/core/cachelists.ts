/**
 * A ThreadCache's lists as other code than their owner's fast paths sees them: recovery
 * settling a free its dead owner had claimed, stats and the heap map reading a list's
 * length, and the error a corrupted list raises.
 *
 * Owns nothing: the lists are the owning ThreadCache's (threadcache.ts, whose header
 * states their invariants). settleClaim writes a dead owner's slot and SHADOW byte (only
 * recovery calls it, after the slot is marked DEAD); cachedListLength only reads, racing
 * the owner, and clamps what it reads.
 */

import { HeapCorruptionError } from './errors.js';
import { S, Shadow } from './layout.js';
import type { HeapMemory } from './memory.js';

/**
 * Recovery of a thread killed inside a claimed free (debug/uncached/global-lock heaps,
 * realloc: SharedHeap.claim marks the block FREED and records it in S.CLAIMED before the
 * push). A claimed block at the head of its class list was pushed but not yet marked: the
 * free completes (FREE). Anywhere else the push never happened: the free is undone
 * (ALLOCATED), as if the thread had died just before it.
 */
export function settleClaim(mem: HeapMemory, slotWord: number, headsWord: number): void {
  const p = mem.i32[slotWord + S.CLAIMED]! >>> 0;
  if (p === 0) return;
  const g = (p - mem.base) >>> 4;
  if (mem.shadow[g] === Shadow.FREED) {
    const cls = mem.pageClass[(p - mem.base) >>> mem.pageShift]!;
    mem.shadow[g] = cls > 0 && mem.u32[headsWord + cls] === p ? Shadow.FREE : Shadow.ALLOCATED;
  }
  mem.i32[slotWord + S.CLAIMED] = 0;
}

/**
 * Length of the cached list whose head and max length live at Int32 indexes headWord and
 * maxLengthWord, read by a thread other than its owner (stats, the heap map): the head's
 * depth word. The owner may pop that head meanwhile and its new holder write the word, so
 * the head is read again after the depth and the value is clamped to what the list can
 * hold (MAX_LENGTHS + 1). A statistic, not evidence: check() walks the list.
 */
export function cachedListLength(u32: Uint32Array, headWord: number, maxLengthWord: number): number {
  for (let tries = 0; tries < 8; tries++) {
    const head = u32[headWord]!;
    if (head === 0) return 0;
    const depth = u32[(head >>> 2) + 1]!;
    if (u32[headWord] === head) return Math.min(depth, (u32[maxLengthWord]! | 0) + 1);
  }
  return 0;
}

/**
 * The error for p, reached from prev on the list of class cls (prev 0: p is the head), not
 * being a free block of that class: a write after free, or an overflow into prev.
 */
export function listCorruption(prev: number, p: number, cls: number, size: number): HeapCorruptionError {
  if (prev === 0) return new HeapCorruptionError(`thread cache list of class ${cls} (size ${size}): its head ${p} is not a free block of that class`, p);
  return new HeapCorruptionError(
    `thread cache list of class ${cls} (size ${size}): block ${prev} links to ${p}, ` +
      'which is not a free block of that class (write after free or overflow into block ' + prev + ')',
    prev,
  );
}
