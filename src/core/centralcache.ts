/**
 * CentralCache (TCMalloc's CentralFreeList): one per size class, the middle tier.
 *
 * Owns, under class c's central lock (a spinlock that yields, by default): c's list of
 * spans with free objects (NONEMPTY), each such span's object free list and counts, and
 * c's TransferCache. Moves objects in batches between a caller's free list (a thread
 * cache list, given as the Int32 indexes of its head and length words) and the spans.
 *
 * Invariants (checked by check()):
 * - every small span of class c has FREE_COUNT + IN_USE = objects per span, and is on
 *   NONEMPTY exactly when FREE_COUNT > 0;
 * - a span whose IN_USE drops to 0 leaves the class and goes back to the PageHeap;
 * - every object on a span free list or transfer chain has SHADOW = FREE.
 *
 * Recovery: each operation is one transaction of the caller's undo log (Txn), including
 * the caller's list words, committed just before unlocking. So objects are always either
 * on the caller's list or in the class, never in flight. Spans that empty are recorded in
 * the caller's slot (S.PENDING) inside the transaction and handed to the PageHeap after
 * the unlock; a new span from the PageHeap stays in the caller's S.TRANSIT_SPAN until the
 * transaction that links it into the class.
 *
 * Every critical section is Txn.enter / try { ... commit } finally { exit } (txn.ts): a
 * throw inside (HeapCorruptionError from a broken list, an internal error, a log overflow)
 * rolls the section back and releases the class lock.
 *
 * Lock order: at most one lock at a time. The central lock is dropped before calling the
 * PageHeap, so a thread never holds two central locks or a central lock and the PageHeap
 * lock together.
 */

import type { Lock } from '../locks/lock.js';
import { HeapCorruptionError } from './errors.js';
import { CC, centralWordOf, Flag, H, PENDING_SPANS, S, SP, Shadow } from './layout.js';
import type { HeapMemory } from './memory.js';
import { decodeLink, encodeLink } from './safelink.js';
import type { SizeClassTable } from './sizeclasses.js';
import { NO_SPAN, RAISES_MARK, type SpanTable } from './span.js';
import { TransferCache } from './transfercache.js';
import type { Txn } from './txn.js';

/**
 * What the CentralCache needs of the tier below (PageHeap implements it). An interface, so
 * a CentralCache can be tested against a recording or fake page heap (test/unit/), the way
 * TCMalloc's CentralFreeList is generic over its page-heap forwarder.
 */
export interface SpanSource {
  /**
   * A span of n pages for class cls, recorded in transitWord; NO_SPAN if none; with
   * mayRaise false, RAISES_MARK rather than a span above the high-water mark.
   */
  allocateSpan(n: number, cls: number, transitWord: number, mayRaise?: boolean): number;
  /** Takes back span s (all its objects free) and clears holderWord. */
  deallocateSpan(s: number, holderWord: number): void;
  /** Clears the SHADOW of span s (n pages), which the caller owns alone. */
  clearShadow(s: number, pages: number): void;
  /** Records that the SHADOW of the object starts of span s (count objects of size bytes) is about to be written. */
  markShadowObjects(s: number, size: number, count: number): void;
}

/** Drain the TransferCaches before raising the high-water mark once they hold more than 1/32 of the touched pages. */
const TRANSFER_DRAIN_SHARE = 32;

export class CentralCache {
  private readonly mem: HeapMemory;
  private readonly spans: SpanTable;
  private readonly pageHeap: SpanSource;
  private readonly table: SizeClassTable;
  private readonly txn: Txn;
  readonly transfer: TransferCache;
  /** locks[c]: this thread's handle on class c's central lock. */
  readonly locks: Lock[];
  private readonly key: number;
  /** Int32 index of this thread's S.PENDING words and S.TRANSIT_SPAN. */
  private readonly pendingWord: number;
  private readonly transitWord: number;
  /** Thread caches in front (TransferCaches in use): the only mode spanFor() drains them in. */
  private readonly cachedMode: boolean;

  constructor(
    mem: HeapMemory,
    spans: SpanTable,
    pageHeap: SpanSource,
    table: SizeClassTable,
    locks: Lock[],
    txn: Txn,
    slotWord: number,
  ) {
    this.mem = mem;
    this.spans = spans;
    this.pageHeap = pageHeap;
    this.table = table;
    this.locks = locks;
    this.txn = txn;
    this.transfer = new TransferCache(mem, txn);
    this.key = mem.layout.key;
    this.pendingWord = slotWord + S.PENDING;
    this.transitWord = slotWord + S.TRANSIT_SPAN;
    this.cachedMode = (mem.layout.flags & Flag.THREAD_CACHE) !== 0;
  }


  /**
   * Bumps event counter `ev` (a CC.EV_* word) of class cls: slow paths only, class lock
   * held, a plain store outside the undo log (introspect.ts reads these; a rolled-back
   * section leaves an over-count, which a statistic tolerates).
   */
  private count(cls: number, ev: number): void {
    const w = this.classWord(cls) + ev;
    this.mem.i32[w] = this.mem.i32[w]! + 1;
  }

  /** Int32 index of class c's block (its lock block comes first). */
  classWord(cls: number): number {
    return centralWordOf(this.mem.layout, cls);
  }

  initialize(): void {
    const i32 = this.mem.i32;
    for (let c = 1; c < this.table.count; c++) i32[this.classWord(c) + CC.NONEMPTY] = NO_SPAN;
  }

  /**
   * Moves up to n objects of class cls onto the (empty or not) list whose head lives at
   * Int32 index headWord. Returns how many (0: out of memory). The list's length is the
   * caller's to record (a thread cache writes its objects' depth words, threadcache.ts).
   * One critical section per refill of the class: the lock is dropped around populate().
   * A new span is carved only when the class has no free object at all (gperftools'
   * RemoveRange): a refill that finds fewer than n returns them. Carving a span to top up a
   * partial batch grew a class past the most objects it ever had live, parking the
   * difference in thread caches (larson, 1 worker: pages touched 1.22x the peak live
   * bytes against 1.19x for the sum over classes of their most objects live in whole
   * spans; 1.19x with this rule, bench/memory/blowup-replay.ts).
   */
  removeRange(cls: number, n: number, headWord: number): number {
    const lock = this.locks[cls]!;
    const txn = this.txn;
    let got = 0;
    for (;;) {
      txn.enter(lock);
      try {
        got = this.removeLocked(cls, n, got, headWord);
        txn.commit();
      } finally {
        txn.exit(lock);
      }
      if (got > 0 || this.populate(cls) === NO_SPAN) return got;
    }
  }

  /** Body of removeRange under the class lock: takes objects until `got` reaches n or the class is empty. */
  private removeLocked(cls: number, n: number, got: number, headWord: number): number {
    const txn = this.txn;
    if (got === 0 && n === this.table.batchOf[cls] && this.mem.i32[headWord] === 0) {
      const batch = this.transfer.remove(cls);
      if (batch > 0) {
        txn.set(headWord, this.transfer.removedHead);
        this.count(cls, CC.EV_REFILLS);
        this.count(cls, CC.EV_TRANSFER_HITS);
        return batch;
      }
    }
    const b = this.classWord(cls);
    const key = this.key;
    if (got < n && this.mem.i32[b + CC.NONEMPTY] !== NO_SPAN) this.count(cls, CC.EV_REFILLS);
    while (got < n) {
      const s = this.mem.i32[b + CC.NONEMPTY]!;
      if (s === NO_SPAN) return got;
      const sw = this.spans.w(s, 0);
      const i32 = this.mem.i32;
      const u32 = this.mem.u32;
      let obj = i32[sw + SP.FREE_HEAD]! >>> 0;
      const free = i32[sw + SP.FREE_COUNT]!;
      const take = Math.min(n - got, free);
      let head = i32[headWord]! >>> 0;
      // Pop `take` objects off the span's list and push them onto the caller's list.
      for (let k = 0; k < take; k++) {
        const next = decodeLink(u32[obj >>> 2]!, obj, key);
        if (k + 1 < free && !this.isFreeObjectOf(next, s)) {
          // The section aborts: exit() rolls back to the state before this refill.
          throw new HeapCorruptionError(
            `free list of a class ${cls} span (page ${s}): block ${obj} links to ${next}, not a free block of the span (write after free or overflow into block ${obj})`,
            obj,
          );
        }
        txn.set(obj >>> 2, encodeLink(head, obj, key));
        head = obj;
        obj = next;
      }
      txn.set(headWord, head);
      txn.set(sw + SP.FREE_HEAD, obj);
      txn.set(sw + SP.FREE_COUNT, free - take);
      txn.set(sw + SP.IN_USE, i32[sw + SP.IN_USE]! + take);
      txn.set(b + CC.FREE_IN_SPANS, i32[b + CC.FREE_IN_SPANS]! - take);
      if (free === take) this.spans.listRemove(b + CC.NONEMPTY, s);
      got += take;
    }
    return got;
  }

  /**
   * Moves the first `count` objects (count <= batch size) of the list at headWord back to
   * class cls (the objects left keep their depth words, counted from the list's end): a whole batch into the TransferCache when it has room
   * (unless viaTransfer is false), otherwise each object to its span; spans left with no
   * object in use go back to the PageHeap.
   */
  insertRange(cls: number, headWord: number, count: number, viaTransfer: boolean): void {
    const lock = this.locks[cls]!;
    const txn = this.txn;
    txn.enter(lock);
    try {
      // Cut the chain off the caller's list, inside the transaction.
      const i32 = this.mem.i32;
      const u32 = this.mem.u32;
      const key = this.key;
      // Every object walked, and the object left as the caller's new list head, is checked
      // before the first write: the walk goes deeper than the fast path's pop looks (the
      // pop checks one link ahead), so an overwritten link further down would otherwise be
      // used as a word index here, or left as a list head whose SHADOW byte the next pop
      // writes. The thrown error aborts the section (nothing written yet).
      const head = i32[headWord]! >>> 0;
      let last = head;
      this.checkCachedObject(cls, head, head, 0, count);
      for (let k = 1; k < count; k++) {
        const next = decodeLink(u32[last >>> 2]!, last, key);
        this.checkCachedObject(cls, next, last, k, count);
        last = next;
      }
      const rest = decodeLink(u32[last >>> 2]!, last, key);
      if (rest !== 0) this.checkCachedObject(cls, rest, last, count, count);
      txn.set(last >>> 2, encodeLink(0, last, key));
      txn.set(headWord, rest);
      this.count(cls, CC.EV_RELEASES);
      if (viaTransfer && count === this.table.batchOf[cls] && this.transfer.insert(cls, head, count)) {
        this.count(cls, CC.EV_TRANSFER_INSERTS);
      } else {
        this.releaseToSpansLocked(cls, head, count);
      }
      txn.commit();
    } finally {
      txn.exit(lock);
    }
    this.returnPendingSpans();
  }

  /**
   * ReleaseFreeMemory: moves every TransferCache batch of every class back into spans, and
   * returns every span with no object out to the PageHeap. (A span can sit in its class
   * with nothing out when a thread populated it while another refilled the class first.)
   */
  drainTransferCaches(): void {
    for (let c = 1; c < this.table.count; c++) {
      const lock = this.locks[c]!;
      for (;;) {
        let got = 0;
        this.txn.enter(lock);
        try {
          got = this.transfer.remove(c);
          if (got > 0) this.releaseToSpansLocked(c, this.transfer.removedHead, got);
          else this.releaseUnusedSpansLocked(c);
          this.txn.commit();
        } finally {
          this.txn.exit(lock);
        }
        this.returnPendingSpans();
        if (got === 0) break;
      }
    }
  }

  /**
   * A span of `pages` pages for class cls (0: a large block) from the PageHeap, recorded
   * in this thread's S.TRANSIT_SPAN; NO_SPAN if out of memory. Called with no lock held
   * (or only the NoLock outer section). Before a span would raise the high-water mark of
   * pages handed out, the TransferCaches are drained if they hold more than the span and
   * more than 1/TRANSFER_DRAIN_SHARE of the touched pages: batches parked for classes
   * nobody allocates any more keep whole spans resident (measured on the phase pattern of
   * the RSS benchmark, bench/memory/rss.ts: 4.2 MiB of a 24 MiB live set at 1 worker).
   * Drained, their spans empty back into the PageHeap and serve this request below the
   * mark. The test reads the TransferCache counts without locks: a hint, and the drain
   * itself takes each class's lock in turn (one lock at a time).
   */
  spanFor(pages: number, cls: number): number {
    if (!this.worthDraining(pages)) return this.pageHeap.allocateSpan(pages, cls, this.transitWord);
    const s = this.pageHeap.allocateSpan(pages, cls, this.transitWord, false);
    if (s !== RAISES_MARK) return s;
    this.drainTransferCaches();
    return this.pageHeap.allocateSpan(pages, cls, this.transitWord);
  }

  private worthDraining(pages: number): boolean {
    if (!this.cachedMode) return false;
    const i32 = this.mem.i32;
    const sizeOf = this.table.sizeOf;
    let bytes = 0;
    for (let c = 1; c < this.table.count; c++) bytes += i32[this.classWord(c) + CC.TRANSFER_OBJECTS]! * sizeOf[c]!;
    const pageSize = this.mem.pageSize;
    return bytes > pages * pageSize && bytes * TRANSFER_DRAIN_SHARE > i32[H.TOUCHED_PAGES]! * pageSize;
  }

  /** Moves c's spans that have no object out (IN_USE = 0) to this thread's S.PENDING. */
  private releaseUnusedSpansLocked(cls: number): void {
    const b = this.classWord(cls);
    const i32 = this.mem.i32;
    const perSpan = this.table.classes[cls]!.objectsPerSpan;
    let pending = 0;
    for (let s = i32[b + CC.NONEMPTY]!; s !== NO_SPAN; ) {
      const next = this.spans.get(s, SP.NEXT);
      if (this.spans.get(s, SP.IN_USE) === 0) {
        while (pending < PENDING_SPANS && i32[this.pendingWord + pending] !== NO_SPAN) pending++;
        if (pending >= PENDING_SPANS) return; // the rest go on a later drain
        this.spans.listRemove(b + CC.NONEMPTY, s);
        this.txn.set(b + CC.SPANS, i32[b + CC.SPANS]! - 1);
        this.txn.set(b + CC.FREE_IN_SPANS, i32[b + CC.FREE_IN_SPANS]! - perSpan);
        this.txn.set(this.pendingWord + pending, s);
        this.count(cls, CC.EV_SPANS_EMPTIED);
      }
      s = next;
    }
  }

  /** Walks a chain of `count` objects back onto span free lists (central lock held). */
  private releaseToSpansLocked(cls: number, head: number, count: number): void {
    const txn = this.txn;
    const i32 = this.mem.i32;
    const u32 = this.mem.u32;
    const key = this.key;
    const b = this.classWord(cls);
    const spans = this.spans;
    const perSpan = this.table.classes[cls]!.objectsPerSpan;
    let pending = 0;
    let obj = head;
    for (let k = 0; k < count; k++) {
      if (obj === 0 || !this.isFreeObjectOf(obj, -1)) {
        // The caller's section aborts: its exit() rolls back and unlocks.
        throw new HeapCorruptionError(`class ${cls} chain of ${count} objects broken after ${k}: bad pointer ${obj}`, obj);
      }
      const next = decodeLink(u32[obj >>> 2]!, obj, key);
      const s = spans.spanOfPage(this.mem.pageOf(obj));
      const sw = spans.w(s, 0);
      const free = i32[sw + SP.FREE_COUNT]!;
      txn.set(obj >>> 2, encodeLink(i32[sw + SP.FREE_HEAD]! >>> 0, obj, key));
      txn.set(sw + SP.FREE_HEAD, obj);
      txn.set(sw + SP.FREE_COUNT, free + 1);
      txn.set(sw + SP.IN_USE, i32[sw + SP.IN_USE]! - 1);
      txn.set(b + CC.FREE_IN_SPANS, i32[b + CC.FREE_IN_SPANS]! + 1);
      if (free === 0) spans.listPush(b + CC.NONEMPTY, s);
      if (free + 1 === perSpan) {
        // Nothing of this span is out any more: it leaves the class.
        spans.listRemove(b + CC.NONEMPTY, s);
        txn.set(b + CC.SPANS, i32[b + CC.SPANS]! - 1);
        txn.set(b + CC.FREE_IN_SPANS, i32[b + CC.FREE_IN_SPANS]! - perSpan);
        while (i32[this.pendingWord + pending] !== NO_SPAN) pending++;
        if (pending >= PENDING_SPANS) throw new Error('sabmalloc internal error: too many emptied spans at once');
        txn.set(this.pendingWord + pending, s);
        this.count(cls, CC.EV_SPANS_EMPTIED);
      }
      obj = next;
    }
  }

  /** Hands the spans this thread emptied (its S.PENDING words) to the PageHeap. No lock held. */
  returnPendingSpans(): void {
    const i32 = this.mem.i32;
    for (let k = 0; k < PENDING_SPANS; k++) {
      const s = i32[this.pendingWord + k]!;
      if (s === NO_SPAN) continue;
      this.markObjectsFreed(s);
      this.pageHeap.deallocateSpan(s, this.pendingWord + k);
    }
  }

  /**
   * The span is ours alone now (no object of it is anywhere). Its object starts become
   * FREED rather than NONE, so a late second free of one of them is still reported as a
   * double free until the pages are reused.
   */
  markObjectsFreed(s: number): void {
    const info = this.table.classes[this.spans.get(s, SP.CLASS)]!;
    const shadow = this.mem.shadow;
    const first = (this.mem.pageAddress(s) - this.mem.base) / 16;
    const step = info.size / 16;
    for (let k = 0, g = first; k < info.objectsPerSpan; k++, g += step) shadow[g] = Shadow.FREED;
  }

  /**
   * Gets a span for cls from the PageHeap (no central lock held), carves it into objects,
   * then links it into the class. Returns the span or NO_SPAN if the PageHeap is out of memory.
   */
  private populate(cls: number): number {
    const info = this.table.classes[cls]!;
    const s = this.spanFor(info.pages, cls);
    if (s === NO_SPAN) return NO_SPAN;
    this.pageHeap.clearShadow(s, info.pages);
    // The span is only ours until it is linked: no log needed for carving it.
    // Link the objects lowest address first, so a fresh span hands out ascending addresses.
    const u32 = this.mem.u32;
    const shadow = this.mem.shadow;
    const key = this.key;
    const start = this.mem.pageAddress(s);
    const size = info.size;
    const base = this.mem.base;
    // Debug heaps poison fresh objects too, so every reuse can be checked for writes after free.
    if ((this.mem.layout.flags & Flag.DEBUG) !== 0) this.mem.fillBytes(0xdd, start, start + info.objectsPerSpan * size);
    // zeroOnFree heaps: pages reused from another class still hold that class's links.
    else if ((this.mem.layout.flags & Flag.ZERO_ON_FREE) !== 0) this.mem.fillBytes(0, start, start + info.pages * this.mem.pageSize);
    this.pageHeap.markShadowObjects(s, size, info.objectsPerSpan);
    let head = 0;
    for (let k = info.objectsPerSpan - 1; k >= 0; k--) {
      const obj = start + k * size;
      u32[obj >>> 2] = encodeLink(head, obj, key);
      shadow[(obj - base) >>> 4] = Shadow.FREE;
      head = obj;
    }
    const lock = this.locks[cls]!;
    const txn = this.txn;
    let linked = false;
    txn.enter(lock);
    try {
      const b = this.classWord(cls);
      const i32 = this.mem.i32;
      this.spans.set(s, SP.FREE_HEAD, head);
      this.spans.set(s, SP.FREE_COUNT, info.objectsPerSpan);
      this.spans.set(s, SP.IN_USE, 0);
      this.spans.listPush(b + CC.NONEMPTY, s);
      txn.set(b + CC.SPANS, i32[b + CC.SPANS]! + 1);
      txn.set(b + CC.FREE_IN_SPANS, i32[b + CC.FREE_IN_SPANS]! + info.objectsPerSpan);
      txn.set(this.transitWord, NO_SPAN);
      this.count(cls, CC.EV_POPULATES);
      txn.commit();
      linked = true;
    } finally {
      txn.exit(lock);
      // The section aborted: the span is still only ours (S.TRANSIT_SPAN); give it back.
      if (!linked) this.returnTransitSpan(s, info.pages);
    }
    return s;
  }

  /** Returns a span that never got linked into its class (populate aborted) to the PageHeap. */
  private returnTransitSpan(s: number, pages: number): void {
    this.pageHeap.clearShadow(s, pages); // its objects were never handed out: back to NONE
    this.pageHeap.deallocateSpan(s, this.transitWord);
  }

  /**
   * Throws HeapCorruptionError unless obj (reached from `from`, the k-th object of a chain
   * of `count` moved out of a thread cache) is a FREE object start of class cls.
   */
  private checkCachedObject(cls: number, obj: number, from: number, k: number, count: number): void {
    if (obj !== 0 && this.isFreeObjectOf(obj, -1) && this.mem.pageClass[this.mem.pageOf(obj)] === cls) return;
    const what = k === 0 ? `list head ${obj} is` : `block ${from} links to ${obj}, which is`;
    throw new HeapCorruptionError(
      `thread cache list of class ${cls}: ${what} not a free block of that class (write after free or overflow ` +
        `into block ${from}; found moving ${count} object(s) to the central cache)`,
      from,
    );
  }

  /** True if obj is a FREE object start (inside span s, unless s is -1): else a link was overwritten. */
  private isFreeObjectOf(obj: number, s: number): boolean {
    const mem = this.mem;
    return (
      (obj & 15) === 0 &&
      obj >= mem.base &&
      obj < mem.limit &&
      (s === -1 || this.spans.spanOfPage(mem.pageOf(obj)) === s) &&
      mem.shadow[(obj - mem.base) >>> 4] === Shadow.FREE
    );
  }
}
