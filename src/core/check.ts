/**
 * check(): walks the invariants of the heap and throws HeapCorruptionError on the first
 * one broken. It is the allocator's own proof obligation, used by the tests after every
 * multi-worker run, every error case and every fuzz sequence, and by users as a watchdog
 * while their workers run.
 *
 * Two modes; neither ever holds more than one lock at a time, because no lock kind
 * tolerates more (an MCS lock has one queue node per thread slot: a second lock() by the
 * same thread would reuse the node a waiter of the first lock is linked to).
 *
 * - `quiescent: true` (the default): the caller promises no other thread allocates or
 *   frees meanwhile (workers done, detached or dead). No lock is taken; check() walks
 *   everything, every attached thread's cache lists included, and reconciles all counts:
 *   every object of every small span is exactly once either held by the application or on
 *   exactly one free list.
 * - `quiescent: false`: safe while other threads work. It never reports a healthy heap,
 *   so it only checks what is stable under the one lock it holds:
 *   1. under the PageHeap lock: the span tiling, PageMap and PAGECLASS of every span, the
 *      free lists and counters of the PageHeap, SHADOW of free and large spans (a large
 *      span whose block is in transit, recorded in a slot's S.TRANSIT_SPAN/TRANSIT_FREE, is
 *      accepted; that record is set before and cleared after its SHADOW changes);
 *   2. under class c's lock, for each class in turn: c's NONEMPTY list, every span on it
 *      (object marks, free list, counts), c's counters and TransferCache chains. Spans of
 *      c with no free object, and objects in thread caches, are outside this lock's reach:
 *      they are checked by the quiescent mode;
 *   3. the calling thread's own cache lists (no lock: they are its own).
 *   In globalLock heaps the one global lock freezes every tier, so all of it is checked.
 */

import type { Lock } from '../locks/lock.js';
import { HeapCorruptionError } from './errors.js';
import { CC, MAX_PAGES_LIST, PH, S, SHADOW_CHUNK_SHIFT, Shadow, SlotState, slotWordOf, SP, SpanState, TRANSFER_SLOTS } from './layout.js';
import type { RecoverableHeap } from './recovery.js';
import { decodeLink } from './safelink.js';
import { NO_SPAN } from './span.js';

/** What check() reads (a live handle's HeapTiers, tiers.ts); an interface so check.ts does not import sharedheap.ts. */
export interface CheckableHeap extends RecoverableHeap {
  readonly slotWord: number;
  readonly modes: { globalLock: boolean };
  globalLockHandle(): Lock;
}

export interface CheckOptions {
  /**
   * No other thread allocates or frees meanwhile (default true): walk their caches too and
   * reconcile every count. false: a watchdog check that is safe while other threads work.
   */
  quiescent?: boolean;
}

function fail(why: string, pointer?: number): never {
  throw new HeapCorruptionError(why, pointer);
}

export function checkHeap(heap: CheckableHeap, options: CheckOptions = {}): void {
  const quiescent = options.quiescent ?? true;
  if (quiescent) {
    new HeapChecker(heap, 'quiescent').run();
    return;
  }
  if (heap.modes.globalLock) {
    underLock(heap, heap.globalLockHandle(), () => new HeapChecker(heap, 'global').run());
    return;
  }
  const checker = new HeapChecker(heap, 'concurrent');
  underLock(heap, heap.pageHeap.lock, () => checker.runPageHeap());
  for (let c = 1; c < heap.sizeClasses.count; c++) {
    underLock(heap, heap.central.locks[c]!, () => checker.runCentral(c));
  }
  checker.runOwnCache();
}

function underLock(heap: CheckableHeap, lock: Lock, body: () => void): void {
  lock.lock();
  try {
    body();
  } finally {
    lock.unlock();
  }
}

/**
 * quiescent: everything; global: everything but thread caches (globalLock heaps have none)
 * under the global lock; concurrent: the per-lock parts run one at a time by checkHeap().
 */
type Mode = 'quiescent' | 'global' | 'concurrent';

class HeapChecker {
  private readonly heap: CheckableHeap;
  private readonly mode: Mode;
  private visited: Uint8Array; // one bit per granule: object seen on a free list
  /** SHADOW four granules a word (the region is 64-byte aligned): runs of NONE are tested a word at a time. */
  private readonly shadow32: Int32Array;
  /** Concurrent mode: bits set in `visited` by the current class, cleared after it. */
  private readonly touched: number[] = [];
  private readonly freeOnLists: Float64Array; // per class: objects found on free lists
  private readonly freeInSpans: Float64Array; // per class: FREE object starts in spans
  private readonly spansOfClass: Float64Array;
  private readonly nonEmptyOfClass: Float64Array;
  private readonly freeCountOfClass: Float64Array;

  constructor(heap: CheckableHeap, mode: Mode) {
    this.heap = heap;
    this.mode = mode;
    const sh = heap.mem.shadow;
    this.shadow32 = new Int32Array(sh.buffer, sh.byteOffset, sh.length >>> 2);
    const nc = heap.sizeClasses.count;
    this.visited = new Uint8Array(0);
    this.sizeVisited();
    this.freeOnLists = new Float64Array(nc);
    this.freeInSpans = new Float64Array(nc);
    this.spansOfClass = new Float64Array(nc);
    this.nonEmptyOfClass = new Float64Array(nc);
    this.freeCountOfClass = new Float64Array(nc);
  }

  /** The buffer may have grown since the last lock was taken. */
  private sizeVisited(): void {
    const bytes = Math.ceil((this.heap.mem.committedPages() * this.heap.mem.pageSize) / 128);
    if (bytes > this.visited.length) {
      const bigger = new Uint8Array(bytes);
      bigger.set(this.visited);
      this.visited = bigger;
    }
  }

  /** Quiescent and global modes: every tier at once. */
  run(): void {
    const { freeSpans, freePages, largeSpans } = this.walkSpans(true);
    this.checkPageHeapLists(freeSpans, freePages, largeSpans);
    for (let c = 1; c < this.heap.sizeClasses.count; c++) this.checkCentral(c);
    if (this.mode === 'quiescent') {
      this.checkThreadCaches();
      this.reconcile();
    }
  }

  /** Concurrent mode, PageHeap lock held: what the PageHeap owns. */
  runPageHeap(): void {
    this.sizeVisited();
    const { freeSpans, freePages, largeSpans } = this.walkSpans(false);
    this.checkPageHeapLists(freeSpans, freePages, largeSpans);
  }

  /** Concurrent mode, class c's lock held: what the class owns, and this thread's own list of c. */
  runCentral(c: number): void {
    this.sizeVisited();
    try {
      this.checkCentral(c);
      this.checkCacheList(this.heap.threadSlot, c, SlotState.ATTACHED);
    } finally {
      // Once the lock is dropped these objects may move anywhere: forget them.
      for (const bit of this.touched) this.visited[bit >>> 3] = 0;
      this.touched.length = 0;
    }
  }

  /** Concurrent mode, no lock: this thread's own slot has nothing in flight. */
  runOwnCache(): void {
    const w = this.heap.slotWord;
    const i32 = this.heap.mem.i32;
    if (i32[w + S.LOG_LEN] !== 0) fail(`thread slot ${this.heap.threadSlot} (the caller's) has an open transaction`);
    if (i32[w + S.TRANSIT_SPAN] !== NO_SPAN || i32[w + S.TRANSIT_FREE] !== NO_SPAN) {
      fail(`thread slot ${this.heap.threadSlot} (the caller's) has a span in flight`);
    }
  }

  /**
   * The spans tile the committed pages; each span is consistent with the PageMap and SHADOW.
   * deep: also the objects of small spans (their owner, the class lock, is held too).
   */
  private walkSpans(deep: boolean): { freeSpans: number; freePages: number; largeSpans: number } {
    const { mem, spans } = this.heap;
    const table = this.heap.sizeClasses;
    const committed = mem.committedPages();
    const granulesPerPage = mem.pageSize / 16;
    let freeSpans = 0;
    let freePages = 0;
    let largeSpans = 0;
    let previousFree = false;
    for (let s = 0; s < committed; ) {
      const pages = spans.get(s, SP.PAGES);
      const state = spans.get(s, SP.STATE);
      if (pages <= 0 || s + pages > committed) fail(`span at page ${s} has bad length ${pages}`);
      const g0 = s * granulesPerPage;
      const g1 = g0 + pages * granulesPerPage;
      if (state === SpanState.FREE) {
        if (previousFree) fail(`free span at page ${s} follows another free span (not coalesced)`);
        if (spans.spanOfPage(s) !== s || spans.spanOfPage(s + pages - 1) !== s) fail(`free span ${s}: PageMap ends wrong`);
        if (!this.noneIn(g0, g1)) {
          for (let g = g0; g < g1; g++) {
            const st = mem.shadow[g]!;
            if (st !== Shadow.NONE && st !== Shadow.FREED) fail(`free span ${s} has a live block at ${mem.base + g * 16}`, mem.base + g * 16);
          }
        }
        freeSpans++;
        freePages += pages;
      } else if (state === SpanState.LARGE) {
        this.checkMapped(s, pages, 0);
        if (this.largeSpanInTransit(s)) {
          // Its SHADOW is being set up (allocation) or torn down (free) by its thread.
        } else {
          if (mem.shadow[g0] !== Shadow.ALLOCATED) fail(`large span ${s} is not marked allocated`, mem.pageAddress(s));
          if (!this.noneIn(g0 + 1, g1)) fail(`large span ${s}: stray block mark inside`);
        }
        largeSpans++;
      } else if (state === SpanState.SMALL) {
        const cls = spans.get(s, SP.CLASS);
        if (cls < 1 || cls >= table.count) fail(`small span ${s} has bad class ${cls}`);
        const info = table.classes[cls]!;
        if (pages !== info.pages) fail(`small span ${s} of class ${cls} has ${pages} pages, class wants ${info.pages}`);
        this.checkMapped(s, pages, cls);
        if (deep) this.checkSmallSpan(s, cls);
      } else {
        fail(`page ${s} starts a span in unknown state ${state}`);
      }
      previousFree = state === SpanState.FREE;
      s += pages;
    }
    this.checkShadowMap(committed * granulesPerPage);
    return { freeSpans, freePages, largeSpans };
  }

  /**
   * SHADOW MAP (layout.ts): a chunk whose bit is clear was never written, so all its SHADOW
   * bytes are NONE (stats() counts it as not resident, clearShadow() skips it). The bit is
   * re-read after a non-NONE byte: a writer sets it before writing, so a chunk being marked
   * and written while a concurrent check reads it is not a failure.
   */
  private checkShadowMap(granules: number): void {
    const mem = this.heap.mem;
    const mapWord = mem.layout.shadowMap >>> 2;
    const size = 2 ** SHADOW_CHUNK_SHIFT;
    const marked = (c: number): boolean => (Atomics.load(mem.i32, mapWord + (c >>> 5)) & (1 << (c & 31))) !== 0;
    for (let c = 0; c * size < granules; c++) {
      if (marked(c)) continue;
      const end = Math.min(granules, (c + 1) * size);
      if (this.noneIn(c * size, end)) continue;
      for (let g = c * size; g < end; g++) {
        if (mem.shadow[g] !== Shadow.NONE) {
          if (marked(c)) break;
          fail(`SHADOW chunk ${c} holds a block mark at ${mem.base + g * 16} but its SHADOW MAP bit is clear`, mem.base + g * 16);
        }
      }
    }
  }

  /**
   * A large span (PageHeap lock held) whose head is not ALLOCATED because a thread is
   * between its allocateSpan and marking the block (S.TRANSIT_SPAN = s, set under the
   * lock, cleared after the mark), or between marking it FREED and its deallocateSpan
   * (S.TRANSIT_FREE = s, set before the mark, cleared under the lock). The head is read
   * before the records and again after: a span cannot go from allocating through
   * allocated to freeing and back while the lock is held, so three rounds decide.
   */
  private largeSpanInTransit(s: number): boolean {
    const { mem, layout } = this.heap;
    const g0 = (mem.pageAddress(s) - mem.base) >>> 4;
    for (let round = 0; round < 3; round++) {
      if (Atomics.load(mem.shadow, g0) === Shadow.ALLOCATED) return false;
      for (let slot = 0; slot < layout.maxThreads; slot++) {
        const w = slotWordOf(layout, slot);
        if (Atomics.load(mem.i32, w + S.TRANSIT_SPAN) === s || Atomics.load(mem.i32, w + S.TRANSIT_FREE) === s) return true;
      }
    }
    return false;
  }

  private checkMapped(s: number, pages: number, cls: number): void {
    const { mem, spans } = this.heap;
    for (let p = s; p < s + pages; p++) {
      if (spans.spanOfPage(p) !== s) fail(`PageMap of page ${p} says span ${spans.spanOfPage(p)}, not ${s}`);
      if (mem.pageClass[p] !== cls) fail(`PAGECLASS of page ${p} is ${mem.pageClass[p]}, span ${s} has class ${cls}`);
    }
  }

  /** Every SHADOW byte of granules [a, b) is NONE. */
  private noneIn(a: number, b: number): boolean {
    const sh = this.heap.mem.shadow;
    for (; a < b && (a & 3) !== 0; a++) if (sh[a] !== Shadow.NONE) return false;
    const w = this.shadow32;
    const wordsEnd = b >>> 2;
    for (let i = a >>> 2; i < wordsEnd; i++) if (w[i] !== 0) return false;
    for (a = Math.max(a, wordsEnd << 2); a < b; a++) if (sh[a] !== Shadow.NONE) return false;
    return true;
  }

  /** Names the first block mark inside an object (or a span's tail) of class cls in [a, b). */
  private failInside(a: number, b: number, cls: number): never {
    const mem = this.heap.mem;
    for (let g = a; g < b; g++) {
      const st = mem.shadow[g]!;
      if (st !== Shadow.NONE) fail(`${mem.base + g * 16} inside an object of class ${cls} is marked as a block start (${st})`, mem.base + g * 16);
    }
    fail(`granules ${a}..${b} of class ${cls} changed while checked`);
  }

  /** Object starts are FREE or ALLOCATED, interiors NONE; the span's list holds exactly its FREE objects. */
  private checkSmallSpan(s: number, cls: number): void {
    const { mem, spans } = this.heap;
    const info = this.heap.sizeClasses.classes[cls]!;
    const start = mem.pageAddress(s);
    const end = start + info.pages * mem.pageSize;
    let free = 0;
    // Object starts sit every size/16 granules (class sizes are multiples of 16); what lies
    // between them, and the span's tail, must be NONE, tested a word at a time.
    const step = info.size >>> 4;
    const g0 = (start - mem.base) >>> 4;
    const objects = Math.floor((end - start) / info.size);
    for (let k = 0, g = g0; k < objects; k++, g += step) {
      const st = mem.shadow[g]!;
      if (st === Shadow.FREE) free++;
      // FREED: a free or realloc of this held object has claimed it (an atomic SHADOW
      // change taken without any lock) and not yet put it on a list: it still
      // counts as IN_USE. Only while other threads run; at rest no claim is open.
      else if (st !== Shadow.ALLOCATED && !(st === Shadow.FREED && this.mode !== 'quiescent'))
        fail(`object ${mem.base + g * 16} of class ${cls} has shadow state ${st}`, mem.base + g * 16);
      if (step > 1 && !this.noneIn(g + 1, g + step)) this.failInside(g + 1, g + step, cls);
    }
    const gEnd = (end - mem.base) >>> 4;
    if (!this.noneIn(g0 + objects * step, gEnd)) this.failInside(g0 + objects * step, gEnd, cls);
    this.freeInSpans[cls]! += free;
    this.spansOfClass[cls]!++;
    const freeCount = spans.get(s, SP.FREE_COUNT);
    const inUse = spans.get(s, SP.IN_USE);
    if (freeCount < 0 || inUse < 0 || freeCount + inUse !== info.objectsPerSpan) {
      fail(`span ${s} of class ${cls}: ${freeCount} free + ${inUse} in use != ${info.objectsPerSpan} objects`);
    }
    if (freeCount > 0) this.nonEmptyOfClass[cls]!++;
    this.freeCountOfClass[cls]! += freeCount;
    const walked = this.walkChain(spans.get(s, SP.FREE_HEAD) >>> 0, cls, freeCount + 1, `span ${s}`, (p) => {
      if (p < start || p >= end || (p - start) % info.size !== 0) fail(`span ${s} free list holds ${p}, outside its objects`, p);
    });
    if (walked !== freeCount) fail(`span ${s} free list has ${walked} objects, FREE_COUNT says ${freeCount}`);
  }

  /** Walks a safe-linked chain of FREE class-cls objects; returns its length. */
  private walkChain(head: number, cls: number, limit: number, where: string, extra?: (p: number) => void): number {
    const mem = this.heap.mem;
    const key = this.heap.layout.key;
    let n = 0;
    for (let p = head; p !== 0; ) {
      if (n >= limit) fail(`${where}: free list longer than expected (cycle?)`);
      if ((p & 15) !== 0 || p < mem.base || p >= mem.limit) fail(`${where}: free list holds wild pointer ${p}`, p);
      const rel = p - mem.base;
      if (mem.shadow[rel >>> 4] !== Shadow.FREE) fail(`${where}: ${p} is on a free list but not marked free`, p);
      if (mem.pageClass[rel >>> mem.pageShift] !== cls) fail(`${where}: ${p} is not an object of class ${cls}`, p);
      const bit = rel >>> 4;
      if ((this.visited[bit >>> 3]! & (1 << (bit & 7))) !== 0) fail(`${where}: ${p} is on two free lists (duplicated block)`, p);
      this.visited[bit >>> 3]! |= 1 << (bit & 7);
      if (this.mode === 'concurrent') this.touched.push(bit);
      extra?.(p);
      this.freeOnLists[cls]!++;
      n++;
      p = decodeLink(mem.u32[p >>> 2]!, p, key);
    }
    return n;
  }

  private checkPageHeapLists(freeSpans: number, freePages: number, largeSpans: number): void {
    const { mem, spans } = this.heap;
    const ph = this.heap.layout.pageHeap >>> 2;
    let listed = 0;
    for (let k = 0; k <= MAX_PAGES_LIST; k++) {
      let prev = NO_SPAN;
      for (let s = mem.i32[ph + PH.LISTS + k]!; s !== NO_SPAN; s = spans.get(s, SP.NEXT)) {
        if (++listed > freeSpans) fail(`PageHeap free lists hold more spans than the heap has free spans`);
        if (spans.get(s, SP.STATE) !== SpanState.FREE) fail(`PageHeap list ${k} holds span ${s} which is not free`);
        const pages = spans.get(s, SP.PAGES);
        if (k === 0 ? pages <= MAX_PAGES_LIST : pages !== k) fail(`span ${s} of ${pages} pages is on free list ${k}`);
        if (spans.get(s, SP.PREV) !== prev) fail(`PageHeap list ${k}: broken back link at span ${s}`);
        prev = s;
      }
    }
    if (listed !== freeSpans) fail(`${freeSpans} free spans but ${listed} on the PageHeap lists`);
    if (mem.i32[ph + PH.FREE_PAGES] !== freePages) fail(`PageHeap counts ${mem.i32[ph + PH.FREE_PAGES]} free pages, found ${freePages}`);
    if (mem.i32[ph + PH.FREE_SPANS] !== freeSpans) fail(`PageHeap counts ${mem.i32[ph + PH.FREE_SPANS]} free spans, found ${freeSpans}`);
    if (mem.i32[ph + PH.LARGE_SPANS] !== largeSpans) fail(`PageHeap counts ${mem.i32[ph + PH.LARGE_SPANS]} large spans, found ${largeSpans}`);
  }

  private checkCentral(c: number): void {
    const { mem, spans } = this.heap;
    const b = this.heap.central.classWord(c);
    const concurrent = this.mode === 'concurrent';
    const info = this.heap.sizeClasses.classes[c]!;
    // Concurrent mode has not walked the spans: the list is its way to c's spans with free
    // objects (bounded by the pages, so a cycle cannot hang it).
    const bound = concurrent ? mem.committedPages() : this.nonEmptyOfClass[c]!;
    let prev = NO_SPAN;
    let listed = 0;
    for (let s = mem.i32[b + CC.NONEMPTY]!; s !== NO_SPAN; s = spans.get(s, SP.NEXT)) {
      if (++listed > bound) fail(`class ${c} nonempty list longer than its spans with free objects`);
      if (s < 0 || s >= mem.committedPages()) fail(`class ${c} nonempty list holds span ${s}, beyond the heap`);
      if (spans.get(s, SP.STATE) !== SpanState.SMALL || spans.get(s, SP.CLASS) !== c) fail(`class ${c} nonempty list holds span ${s} of another kind`);
      if (spans.get(s, SP.PREV) !== prev) fail(`class ${c} nonempty list: broken back link at span ${s}`);
      if (concurrent) {
        // A span linked into c stays c's (and its PageMap, PAGECLASS stay) while c's lock is held.
        if (spans.get(s, SP.PAGES) !== info.pages) fail(`small span ${s} of class ${c} has ${spans.get(s, SP.PAGES)} pages, class wants ${info.pages}`);
        this.checkMapped(s, info.pages, c);
        this.checkSmallSpan(s, c);
        if (spans.get(s, SP.FREE_COUNT) === 0) fail(`class ${c} nonempty list holds span ${s}, which has no free object`);
      }
      prev = s;
    }
    if (concurrent) {
      if (mem.i32[b + CC.SPANS]! < listed) fail(`class ${c} counts ${mem.i32[b + CC.SPANS]} spans, ${listed} are on its nonempty list`);
    } else {
      if (listed !== this.nonEmptyOfClass[c]) fail(`class ${c}: ${this.nonEmptyOfClass[c]} spans have free objects, ${listed} listed`);
      if (mem.i32[b + CC.SPANS] !== this.spansOfClass[c]) fail(`class ${c} counts ${mem.i32[b + CC.SPANS]} spans, found ${this.spansOfClass[c]}`);
    }
    // Spans with free objects are exactly the listed ones (both modes), so their counts add up.
    if (mem.i32[b + CC.FREE_IN_SPANS] !== this.freeCountOfClass[c]) fail(`class ${c} counts ${mem.i32[b + CC.FREE_IN_SPANS]} free objects in spans, found ${this.freeCountOfClass[c]}`);
    const used = mem.i32[b + CC.TRANSFER_USED]!;
    if (used < 0 || used > TRANSFER_SLOTS) fail(`class ${c} TransferCache uses ${used} slots`);
    // stats() counts the TRANSFER rows below the high-water mark as written
    if (used > mem.i32[b + CC.TRANSFER_HWM]!) fail(`class ${c} TransferCache uses ${used} slots, its high-water mark says ${mem.i32[b + CC.TRANSFER_HWM]}`);
    let objects = 0;
    for (let k = 0; k < used; k++) {
      const head = this.heap.central.transfer.slotHead(c, k);
      const count = this.heap.central.transfer.slotCount(c, k);
      const n = this.walkChain(head, c, count + 1, `class ${c} transfer slot ${k}`);
      if (n !== count) fail(`class ${c} transfer slot ${k} chain has ${n} objects, slot says ${count}`);
      objects += n;
    }
    if (mem.i32[b + CC.TRANSFER_OBJECTS] !== objects) fail(`class ${c} TransferCache counts ${mem.i32[b + CC.TRANSFER_OBJECTS]} objects, found ${objects}`);
  }

  private checkThreadCaches(): void {
    const { mem, layout } = this.heap;
    for (let slot = 0; slot < layout.maxThreads; slot++) {
      const w = slotWordOf(layout, slot);
      const state = Atomics.load(mem.i32, w + S.STATE);
      if (state === SlotState.DEAD) fail(`thread slot ${slot} belongs to a dead thread that was not recovered`);
      if (mem.i32[w + S.LOG_LEN] !== 0) fail(`thread slot ${slot} has an open transaction (${mem.i32[w + S.LOG_LEN]} entries)`);
      if (state === SlotState.ATTACHED && (mem.i32[w + S.TRANSIT_SPAN] !== -1 || mem.i32[w + S.TRANSIT_FREE] !== -1)) {
        fail(`thread slot ${slot} has a span in flight`);
      }
      for (let c = 1; c < this.heap.sizeClasses.count; c++) this.checkCacheList(slot, c, state);
    }
  }

  private checkCacheList(slot: number, c: number, state: number): void {
    const { mem, layout } = this.heap;
    const w = slotWordOf(layout, slot);
    const head = mem.u32[w + layout.slot.heads + c]!;
    if (state === SlotState.FREE) {
      if (head !== 0) fail(`free thread slot ${slot} still caches class ${c} objects`);
      return;
    }
    // The list's length is its head's depth word, and each object's depth is one less than
    // the one before it (threadcache.ts): a depth word overwritten after free fails here.
    const where = `thread slot ${slot} class ${c}`;
    const length = head === 0 ? 0 : mem.u32[(head >>> 2) + 1]!;
    let depth = length;
    const n = this.walkChain(head, c, Math.min(length, 1 << 28) + 1, where, (p) => {
      const d = mem.u32[(p >>> 2) + 1]!;
      if (d !== depth) fail(`${where}: block ${p} has depth ${d}, ${depth} expected (its depth word was overwritten)`, p);
      depth--;
    });
    if (n !== length) fail(`${where}: list has ${n} objects, its head's depth says ${length}`);
  }

  /**
   * Every FREE object is on exactly one list (walkChain refuses a second visit). Since every
   * object start is FREE or ALLOCATED, the ALLOCATED ones are then exactly the objects held
   * by the application: no block is lost or handed out twice. (The malloc/free counters are
   * statistics, not evidence: a killed thread may die between a pop and its count.)
   */
  private reconcile(): void {
    const nc = this.heap.sizeClasses.count;
    for (let c = 1; c < nc; c++) {
      if (this.freeInSpans[c] !== this.freeOnLists[c]) {
        fail(`class ${c}: ${this.freeInSpans[c]} objects marked free but ${this.freeOnLists[c]} on free lists (lost block)`);
      }
    }
  }
}
