/**
 * PageHeap: the bottom tier. Hands out spans of contiguous pages and takes them back.
 *
 * Owns (under its one global lock, a futex-style mutex by default): the free span lists
 * (exact length 1..MAX_PAGES_LIST, then one best-fit list for longer spans; the free span
 * at the end of the heap counts only its pages below the high-water mark, see findFree), the records
 * and PageMap entries of free spans, the PAGECLASS bytes, and the commit watermark
 * (H.COMMITTED_PAGES): growth raises it inside the buffer's reservation (memory.ts).
 * Also the SHADOW MAP's bookkeeping (markShadow, clearShadow): a SHADOW chunk is marked
 * before its first write and never written otherwise, so stats() counts only SHADOW that
 * is resident and clearShadow() never touches a chunk nobody wrote.
 *
 * Invariants (checked by check()):
 * - the spans tile the committed pages exactly; no two free spans are adjacent (freeing
 *   coalesces with both neighbours);
 * - a free span is on the list for its length and its first and last PageMap entries
 *   point at it; its SHADOW granules are all NONE except FREED marks;
 * - an in-use span has every PageMap entry pointing at it, and PAGECLASS = its class.
 *
 * Recovery: every change made under the lock goes through the holder's undo log (Txn) and
 * is committed just before unlocking, so a holder that dies is rolled back (recovery.ts).
 * A span leaving the PageHeap is recorded in its taker's slot (S.TRANSIT_SPAN) inside the
 * same transaction, and a span coming back clears the giver's record (S.TRANSIT_FREE or a
 * S.PENDING entry) inside it: no span is ever in nobody's hands.
 *
 * Every critical section here is Txn.enter / try { ... commit } finally { exit }: a throw
 * anywhere inside rolls the section back and releases the lock.
 *
 * Lock order: the PageHeap lock is a leaf. Callers never hold a central lock while they
 * call in here (CentralCache drops its lock first), so no thread ever holds two locks.
 * Large objects (> SMALL_MAX) are served here directly as spans of their own.
 */

import type { Lock } from '../locks/lock.js';
import { Flag, H, MAX_PAGES_LIST, PH, SHADOW_CHUNK_SHIFT, SP, Shadow, SpanState } from './layout.js';
import type { HeapMemory } from './memory.js';
import { NO_SPAN, RAISES_MARK, type SpanTable } from './span.js';
import type { Txn } from './txn.js';

/** Growth step: at least this many bytes, or an eighth of the heap, whichever is more. */
const MIN_GROW_BYTES = 1 << 20;

export class PageHeap {
  private readonly mem: HeapMemory;
  private readonly spans: SpanTable;
  readonly lock: Lock;
  /** Int32 index of the PageHeap region (its lock block). */
  private readonly phWord: number;

  private readonly txn: Txn;
  /** Int32 index of the SHADOW MAP (layout.ts). */
  private readonly shadowMapWord: number;

  constructor(mem: HeapMemory, spans: SpanTable, lock: Lock, txn: Txn) {
    this.mem = mem;
    this.spans = spans;
    this.lock = lock;
    this.txn = txn;
    this.phWord = mem.layout.pageHeap >>> 2;
    this.shadowMapWord = mem.layout.shadowMap >>> 2;
  }

  /** Sets up the free lists with one free span of all committed pages. Creation only. */
  initialize(): void {
    const i32 = this.mem.i32;
    for (let n = 0; n <= MAX_PAGES_LIST; n++) i32[this.phWord + PH.LISTS + n] = NO_SPAN;
    const pages = this.mem.committedPages();
    this.insertFree(0, pages);
    i32[this.phWord + PH.FREE_PAGES] = pages;
    i32[this.phWord + PH.FREE_SPANS] = 1;
    this.txn.commit();
  }

  /** Bumps a PH.EV_* event counter: lock held, plain store, not logged (introspect.ts). */
  private count(f: number): void {
    this.mem.i32[this.phWord + f] = this.mem.i32[this.phWord + f]! + 1;
  }

  private add(f: number, delta: number): void {
    this.txn.set(this.phWord + f, this.mem.i32[this.phWord + f]! + delta);
  }

  /**
   * A span of `n` pages for size class `cls` (0: a large object). Returns its first page
   * index, or NO_SPAN when the heap cannot provide (or grow to) n pages; with mayRaise
   * false, RAISES_MARK (and nothing changed) if the span would reach above the high-water
   * mark. The span's SHADOW is cleared by the caller, outside the lock.
   */
  allocateSpan(n: number, cls: number, transitWord: number, mayRaise = true): number {
    const txn = this.txn;
    let s = NO_SPAN;
    txn.enter(this.lock);
    try {
      s = this.findFree(n);
      if (!mayRaise && (s === NO_SPAN || s + n > this.mem.i32[H.TOUCHED_PAGES]!)) s = RAISES_MARK;
      else if (s === NO_SPAN && this.growLocked(n)) s = this.findFree(n);
      if (s >= 0) {
        this.carveLocked(s, n, cls);
        txn.set(transitWord, s);
      }
      txn.commit();
    } finally {
      txn.exit(this.lock);
    }
    return s;
  }

  /**
   * Takes back an in-use span (its objects are all free, or it is a large object whose free
   * was claimed by claimLarge). The caller has already put its SHADOW in the free-span state.
   */
  deallocateSpan(s: number, holderWord: number): void {
    const txn = this.txn;
    txn.enter(this.lock);
    try {
      this.deallocateLocked(s);
      txn.set(holderWord, NO_SPAN);
      txn.commit();
    } finally {
      txn.exit(this.lock);
    }
  }

  private deallocateLocked(s: number): void {
    const sp = this.spans;
    this.count(PH.EV_RETURNS);
    const n = sp.get(s, SP.PAGES);
    if (sp.get(s, SP.STATE) === SpanState.LARGE) {
      this.add(PH.LARGE_SPANS, -1);
      this.add(PH.LARGE_PAGES, -n);
      this.txn.fillPageClass(s, n, 0, 0);
    } else {
      this.add(PH.SMALL_SPANS, -1);
      this.add(PH.SMALL_PAGES, -n);
      this.txn.fillPageClass(s, n, 0, sp.get(s, SP.CLASS));
    }
    this.releaseLocked(s, n);
  }

  /**
   * Racing frees of one large block: validation outside the lock is only a hint,
   * so the block is re-validated here, under the lock, and marked FREED in the same
   * transaction. Exactly one of any number of racing frees/reallocs sees it allocated.
   */
  private largeIsLiveLocked(s: number): boolean {
    const sp = this.spans;
    return (
      s >= 0 &&
      s < this.mem.committedPages() &&
      sp.spanOfPage(s) === s &&
      sp.get(s, SP.STATE) === SpanState.LARGE &&
      this.mem.shadow[(this.mem.pageAddress(s) - this.mem.base) >>> 4] === Shadow.ALLOCATED
    );
  }

  private shadowByte(s: number): number {
    return this.mem.layout.shadow + ((this.mem.pageAddress(s) - this.mem.base) >>> 4);
  }

  /**
   * free() of the large block at page s, all in one transaction: re-validate, mark FREED,
   * return the pages. False (nothing changed) if the block is no longer allocated: another
   * thread's free or realloc of it won.
   */
  freeLarge(s: number): boolean {
    return this.takeLarge(s, NO_SPAN, true);
  }

  /**
   * Claims the large block at page s for a free that finishes later (realloc, debug free):
   * re-validates it under the lock, marks it FREED (so racing frees fail from now on) and
   * records s in holderWord (S.TRANSIT_FREE: recovery completes the free of a thread that
   * dies before deallocateSpan). False (nothing changed) if another thread won.
   */
  claimLarge(s: number, holderWord: number): boolean {
    return this.takeLarge(s, holderWord, false);
  }

  private takeLarge(s: number, holderWord: number, release: boolean): boolean {
    const txn = this.txn;
    let ok = false;
    txn.enter(this.lock);
    try {
      ok = this.largeIsLiveLocked(s);
      if (ok) {
        txn.setByte(this.shadowByte(s), Shadow.FREED);
        if (release) this.deallocateLocked(s);
        else txn.set(holderWord, s);
      }
      txn.commit();
    } finally {
      txn.exit(this.lock);
    }
    return ok;
  }

  /** Undoes claimLarge (the realloc or debug free it served failed): the block is allocated again. */
  unclaimLarge(s: number, holderWord: number): void {
    const txn = this.txn;
    txn.enter(this.lock);
    try {
      txn.setByte(this.shadowByte(s), Shadow.ALLOCATED);
      txn.set(holderWord, NO_SPAN);
      txn.commit();
    } finally {
      txn.exit(this.lock);
    }
  }

  /**
   * Best span for n pages, judged by what it costs in committed memory: pages below the
   * high-water mark (H.TOUCHED_PAGES) are resident already, pages above it are not. So the
   * free tail span (the one ending at the watermark of the heap) counts only its pages below
   * the high-water mark: if those hold n, it competes with the other spans at that length;
   * otherwise it is the last resort, taken only when no other span fits. Among the rest:
   * exact lists n..MAX, then best fit among longer spans.
   * (Without this, a tail span of exactly n pages won over a longer hole below the mark and
   * raised it: measured on mstress, 1 worker, a 16-page block placed above the mark next to
   * a free 57-page hole, blowup 1.56 for that run.)
   */
  private findFree(n: number): number {
    const i32 = this.mem.i32;
    const lists = this.phWord + PH.LISTS;
    const tail = this.freeTailStart(this.mem.committedPages());
    const tailBelowMark = tail === NO_SPAN ? 0 : i32[H.TOUCHED_PAGES]! - tail;
    for (let k = n; k <= MAX_PAGES_LIST; k++) {
      let head = i32[lists + k]!;
      if (head === tail && head !== NO_SPAN) head = this.spans.get(head, SP.NEXT);
      if (head !== NO_SPAN) return head;
      if (k === tailBelowMark) return tail;
    }
    let best = NO_SPAN;
    let bestPages = 0;
    for (let s = i32[lists]!; s !== NO_SPAN; s = this.spans.get(s, SP.NEXT)) {
      const pages = s === tail ? tailBelowMark : this.spans.get(s, SP.PAGES);
      if (pages >= n && (best === NO_SPAN || pages < bestPages || (pages === bestPages && s < best))) {
        best = s;
        bestPages = pages;
      }
    }
    if (best !== NO_SPAN) return best;
    return tail !== NO_SPAN && this.spans.get(tail, SP.PAGES) >= n ? tail : NO_SPAN;
  }

  private listHeadWord(pages: number): number {
    return this.phWord + PH.LISTS + (pages <= MAX_PAGES_LIST ? pages : 0);
  }

  /** Removes free span s from its list, splits off the tail beyond n pages, marks it in use. */
  private carveLocked(s: number, n: number, cls: number): void {
    const sp = this.spans;
    const pages = sp.get(s, SP.PAGES);
    sp.listRemove(this.listHeadWord(pages), s);
    this.count(PH.EV_CARVES);
    this.add(PH.FREE_PAGES, -n);
    if (pages > n) {
      this.insertFree(s + n, pages - n);
    } else {
      this.add(PH.FREE_SPANS, -1);
    }
    sp.set(s, SP.PAGES, n);
    sp.set(s, SP.STATE, cls === 0 ? SpanState.LARGE : SpanState.SMALL);
    sp.set(s, SP.CLASS, cls);
    sp.set(s, SP.FREE_HEAD, 0);
    sp.set(s, SP.FREE_COUNT, 0);
    sp.set(s, SP.IN_USE, 0);
    sp.mapAllPages(s, n);
    this.txn.fillPageClass(s, n, cls, 0);
    // A large block's SHADOW is its first granule (ALLOCATED / FREED marks): the rest of its
    // chunks stays unwritten. Set-only bits: a rollback leaves them set (an over-count).
    if (cls === 0) this.markShadow(this.granuleOf(s), this.granuleOf(s));
    // High-water mark of pages handed out: pages above it have never been touched, so
    // they are not resident (stats().committedBytes counts up to here).
    if (s + n > this.mem.i32[H.TOUCHED_PAGES]!) this.txn.set(H.TOUCHED_PAGES, s + n);
    if (cls === 0) {
      this.add(PH.LARGE_SPANS, 1);
      this.add(PH.LARGE_PAGES, n);
    } else {
      this.add(PH.SMALL_SPANS, 1);
      this.add(PH.SMALL_PAGES, n);
    }
  }

  /** Records [s, s+n) as one free span on its list (no coalescing). */
  private insertFree(s: number, n: number): void {
    const sp = this.spans;
    sp.set(s, SP.PAGES, n);
    sp.set(s, SP.STATE, SpanState.FREE);
    sp.set(s, SP.CLASS, 0);
    sp.set(s, SP.FREE_HEAD, 0);
    sp.set(s, SP.FREE_COUNT, 0);
    sp.set(s, SP.IN_USE, 0);
    sp.mapEnds(s, n);
    sp.listPush(this.listHeadWord(n), s);
  }

  /** Frees [s, s+n), merging with a free left and right neighbour. */
  private releaseLocked(s: number, n: number): void {
    const sp = this.spans;
    let start = s;
    let len = n;
    this.add(PH.FREE_PAGES, n);
    this.add(PH.FREE_SPANS, 1);
    if (start > 0) {
      const left = sp.spanOfPage(start - 1);
      if (left >= 0 && sp.get(left, SP.STATE) === SpanState.FREE && left + sp.get(left, SP.PAGES) === start) {
        const leftPages = sp.get(left, SP.PAGES);
        sp.listRemove(this.listHeadWord(leftPages), left);
        sp.clearRecord(start);
        start = left;
        len += leftPages;
        this.add(PH.FREE_SPANS, -1);
        this.count(PH.EV_COALESCES);
      }
    }
    const r = start + len;
    if (r < this.mem.committedPages()) {
      const right = sp.spanOfPage(r);
      if (right === r && sp.get(right, SP.STATE) === SpanState.FREE) {
        const rightPages = sp.get(right, SP.PAGES);
        sp.listRemove(this.listHeadWord(rightPages), right);
        sp.clearRecord(right);
        len += rightPages;
        this.add(PH.FREE_SPANS, -1);
        this.count(PH.EV_COALESCES);
      }
    }
    if (start !== s) sp.clearRecord(s);
    this.insertFree(start, len);
  }

  /**
   * Grows a growable heap so that a span of n pages fits (like brk growing a process): the
   * commit watermark rises inside the buffer's reservation; the buffer itself never
   * changes. A free span ending at the watermark merges with the new pages, so only the
   * pages it lacks are needed (a heap of 128 free pages growing to 160 adds 32, not 160).
   * Step: at least MIN_GROW_BYTES or an eighth of the heap, capped by the capacity.
   * Under the PageHeap lock, so COMMITTED_PAGES only ever rises under it.
   */
  private growLocked(n: number): boolean {
    const mem = this.mem;
    if ((mem.layout.flags & Flag.GROWABLE) === 0) return false;
    const committed = mem.committedPages();
    const capacity = mem.layout.capacityPages;
    const need = n - this.freeTailPages(committed);
    if (committed + need > capacity) return false;
    const step = Math.max(need, Math.ceil(Math.max(MIN_GROW_BYTES, (committed * mem.pageSize) / 8) / mem.pageSize));
    const add = Math.min(step, capacity - committed);
    // A rollback of this transaction lowers the watermark again; the pages above it were
    // never handed out, so they are as untouched as before.
    this.txn.set(H.COMMITTED_PAGES, committed + add);
    Atomics.add(mem.i32, H.GROW_COUNT, 1);
    // Pages above the watermark were never touched: their SHADOW, PAGECLASS and span
    // records are still zero.
    this.releaseLocked(committed, add);
    return true;
  }

  /** First page of the free span ending at the watermark (NO_SPAN if the last span is in use). */
  private freeTailStart(committed: number): number {
    if (committed === 0) return NO_SPAN;
    const s = this.spans.spanOfPage(committed - 1);
    if (s < 0 || this.spans.get(s, SP.STATE) !== SpanState.FREE) return NO_SPAN;
    return s + this.spans.get(s, SP.PAGES) === committed ? s : NO_SPAN;
  }

  /** Pages of the free span ending at the watermark (0 if the last span is in use). */
  private freeTailPages(committed: number): number {
    const s = this.freeTailStart(committed);
    return s === NO_SPAN ? 0 : this.spans.get(s, SP.PAGES);
  }

  /** First SHADOW granule of page index s. */
  private granuleOf(s: number): number {
    // Multiplication, not << : granule indexes reach 2^28.
    return s * (this.mem.pageSize / 16);
  }

  /**
   * Sets the SHADOW MAP bits of the chunks holding granules g0..g1 (inclusive): called
   * before their first write, by the PageHeap lock holder (large spans) or a central lock
   * holder (populate), hence Atomics.or (two classes may share a map word).
   */
  markShadow(g0: number, g1: number): void {
    const i32 = this.mem.i32;
    const last = g1 >>> SHADOW_CHUNK_SHIFT;
    for (let c = g0 >>> SHADOW_CHUNK_SHIFT; c <= last; c++) {
      const w = this.shadowMapWord + (c >>> 5);
      const bit = 1 << (c & 31);
      if ((i32[w]! & bit) === 0) Atomics.or(i32, w, bit);
    }
  }

  /** markShadow for the object starts of a small span being carved into objects. */
  markShadowObjects(s: number, size: number, count: number): void {
    const first = this.granuleOf(s);
    const step = size / 16;
    if (step < 1 << SHADOW_CHUNK_SHIFT) this.markShadow(first, first + (count - 1) * step);
    else for (let k = 0; k < count; k++) this.markShadow(first + k * step, first + k * step);
  }

  /**
   * Clears the SHADOW of a span that the caller now owns exclusively. Chunks whose SHADOW
   * MAP bit is clear were never written (all NONE) and are skipped, so they stay unresident.
   */
  clearShadow(s: number, pages: number): void {
    const i32 = this.mem.i32;
    const from = this.granuleOf(s);
    const to = from + pages * (this.mem.pageSize / 16);
    // fillBytes stores words (a byte fill over a SharedArrayBuffer goes byte by byte); a
    // page's SHADOW is a multiple of 256 bytes in a 4 KiB aligned region: whole words only.
    const at = this.mem.layout.shadow;
    for (let g = from; g < to; ) {
      const c = g >>> SHADOW_CHUNK_SHIFT;
      const end = Math.min(to, (c + 1) * 2 ** SHADOW_CHUNK_SHIFT);
      if ((i32[this.shadowMapWord + (c >>> 5)]! & (1 << (c & 31))) !== 0) this.mem.fillBytes(Shadow.NONE, at + g, at + end);
      g = end;
    }
  }
}
