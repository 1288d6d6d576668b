/**
 * check(): walks every invariant of the heap and throws HeapCorruptionError on the first
 * one broken. It is the allocator's own proof obligation, used by the tests after every
 * multi-worker run, every error case and every fuzz sequence.
 *
 * It takes every central lock (ascending class order) and then the PageHeap lock, so the
 * lower tiers are frozen while it reads them. That cannot deadlock: every other path holds
 * at most one lock at a time. Thread caches have no lock, so with `quiescent: true` (the
 * default) the caller promises no other thread is allocating, and check() also walks every
 * attached thread's lists and reconciles all counts: every object of every small span is
 * exactly once either held by the application or on exactly one free list.
 */

import { HeapCorruptionError } from './errors.js';
import { CC, MAX_PAGES_LIST, PH, S, Shadow, SlotState, SP, SpanState, TRANSFER_SLOTS } from './layout.js';
import { decodeLink } from './safelink.js';
import type { SharedHeap } from './sharedheap.js';
import { NO_SPAN } from './span.js';

export interface CheckOptions {
  /** No other thread allocates or frees meanwhile (default true): walk their caches too. */
  quiescent?: boolean;
}

function fail(why: string, pointer?: number): never {
  throw new HeapCorruptionError(why, pointer);
}

export function checkHeap(heap: SharedHeap, options: CheckOptions = {}): void {
  const quiescent = options.quiescent ?? true;
  const locks = heap.modes.globalLock ? [heap.globalLockHandle()] : [...heap.central.locks.slice(1), heap.pageHeap.lock];
  let held = 0;
  try {
    for (const l of locks) {
      l.lock();
      held++;
    }
    new HeapChecker(heap, quiescent).run();
  } finally {
    for (let k = held - 1; k >= 0; k--) locks[k]!.unlock();
  }
}

class HeapChecker {
  private readonly heap: SharedHeap;
  private readonly quiescent: boolean;
  private readonly visited: Uint8Array; // one bit per granule: object seen on a free list
  private readonly freeOnLists: Float64Array; // per class: objects found on free lists
  private readonly freeInSpans: Float64Array; // per class: FREE object starts in spans
  private readonly spansOfClass: Float64Array;
  private readonly nonEmptyOfClass: Float64Array;
  private readonly freeCountOfClass: Float64Array;

  constructor(heap: SharedHeap, quiescent: boolean) {
    this.heap = heap;
    this.quiescent = quiescent;
    const nc = heap.sizeClasses.count;
    this.visited = new Uint8Array(Math.ceil((heap.mem.committedPages() * heap.mem.pageSize) / 128));
    this.freeOnLists = new Float64Array(nc);
    this.freeInSpans = new Float64Array(nc);
    this.spansOfClass = new Float64Array(nc);
    this.nonEmptyOfClass = new Float64Array(nc);
    this.freeCountOfClass = new Float64Array(nc);
  }

  run(): void {
    const { freeSpans, freePages, largeSpans } = this.walkSpans();
    this.checkPageHeapLists(freeSpans, freePages, largeSpans);
    for (let c = 1; c < this.heap.sizeClasses.count; c++) this.checkCentral(c);
    if (this.quiescent) {
      this.checkThreadCaches();
      this.reconcile();
    }
  }

  /** The spans tile the committed pages; each span is consistent with the PageMap and SHADOW. */
  private walkSpans(): { freeSpans: number; freePages: number; largeSpans: number } {
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
        for (let g = g0; g < g1; g++) {
          const st = mem.shadow[g]!;
          if (st !== Shadow.NONE && st !== Shadow.FREED) fail(`free span ${s} has a live block at ${mem.base + g * 16}`, mem.base + g * 16);
        }
        freeSpans++;
        freePages += pages;
      } else if (state === SpanState.LARGE) {
        this.checkMapped(s, pages, 0);
        if (mem.shadow[g0] !== Shadow.ALLOCATED) fail(`large span ${s} is not marked allocated`, mem.pageAddress(s));
        for (let g = g0 + 1; g < g1; g++) if (mem.shadow[g] !== Shadow.NONE) fail(`large span ${s}: stray block mark inside`);
        largeSpans++;
      } else if (state === SpanState.SMALL) {
        const cls = spans.get(s, SP.CLASS);
        if (cls < 1 || cls >= table.count) fail(`small span ${s} has bad class ${cls}`);
        const info = table.classes[cls]!;
        if (pages !== info.pages) fail(`small span ${s} of class ${cls} has ${pages} pages, class wants ${info.pages}`);
        this.checkMapped(s, pages, cls);
        this.checkSmallSpan(s, cls);
      } else {
        fail(`page ${s} starts a span in unknown state ${state}`);
      }
      previousFree = state === SpanState.FREE;
      s += pages;
    }
    return { freeSpans, freePages, largeSpans };
  }

  private checkMapped(s: number, pages: number, cls: number): void {
    const { mem, spans } = this.heap;
    for (let p = s; p < s + pages; p++) {
      if (spans.spanOfPage(p) !== s) fail(`PageMap of page ${p} says span ${spans.spanOfPage(p)}, not ${s}`);
      if (mem.pageClass[p] !== cls) fail(`PAGECLASS of page ${p} is ${mem.pageClass[p]}, span ${s} has class ${cls}`);
    }
  }

  /** Object starts are FREE or ALLOCATED, interiors NONE; the span's list holds exactly its FREE objects. */
  private checkSmallSpan(s: number, cls: number): void {
    const { mem, spans } = this.heap;
    const info = this.heap.sizeClasses.classes[cls]!;
    const start = mem.pageAddress(s);
    const end = start + info.pages * mem.pageSize;
    let free = 0;
    for (let p = start; p < end; p += 16) {
      const st = mem.shadow[(p - mem.base) >>> 4]!;
      const isObject = (p - start) % info.size === 0 && p + info.size <= end;
      if (isObject) {
        if (st === Shadow.FREE) free++;
        else if (st !== Shadow.ALLOCATED)
          fail(`object ${p} of class ${cls} has shadow state ${st}`, p);
      } else if (st !== Shadow.NONE) {
        fail(`${p} inside an object of class ${cls} is marked as a block start (${st})`, p);
      }
    }
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
    let prev = NO_SPAN;
    let listed = 0;
    for (let s = mem.i32[b + CC.NONEMPTY]!; s !== NO_SPAN; s = spans.get(s, SP.NEXT)) {
      if (++listed > this.nonEmptyOfClass[c]!) fail(`class ${c} nonempty list longer than its spans with free objects`);
      if (spans.get(s, SP.STATE) !== SpanState.SMALL || spans.get(s, SP.CLASS) !== c) fail(`class ${c} nonempty list holds span ${s} of another kind`);
      if (spans.get(s, SP.PREV) !== prev) fail(`class ${c} nonempty list: broken back link at span ${s}`);
      prev = s;
    }
    if (listed !== this.nonEmptyOfClass[c]) fail(`class ${c}: ${this.nonEmptyOfClass[c]} spans have free objects, ${listed} listed`);
    if (mem.i32[b + CC.SPANS] !== this.spansOfClass[c]) fail(`class ${c} counts ${mem.i32[b + CC.SPANS]} spans, found ${this.spansOfClass[c]}`);
    if (mem.i32[b + CC.FREE_IN_SPANS] !== this.freeCountOfClass[c]) fail(`class ${c} counts ${mem.i32[b + CC.FREE_IN_SPANS]} free objects in spans, found ${this.freeCountOfClass[c]}`);
    const used = mem.i32[b + CC.TRANSFER_USED]!;
    if (used < 0 || used > TRANSFER_SLOTS) fail(`class ${c} TransferCache uses ${used} slots`);
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
      const w = (layout.slots + slot * layout.slotBytes) >>> 2;
      const state = Atomics.load(mem.i32, w + S.STATE);
      if (state === SlotState.DEAD) fail(`thread slot ${slot} belongs to a dead thread that was not recovered`);
      if (mem.i32[w + S.LOG_LEN] !== 0) fail(`thread slot ${slot} has an open transaction (${mem.i32[w + S.LOG_LEN]} entries)`);
      if (state === SlotState.ATTACHED && (mem.i32[w + S.TRANSIT_SPAN] !== -1 || mem.i32[w + S.TRANSIT_FREE] !== -1)) {
        fail(`thread slot ${slot} has a span in flight`);
      }
      for (let c = 1; c < this.heap.sizeClasses.count; c++) {
        const length = mem.i32[w + layout.slot.lengths + c]!;
        const head = mem.u32[w + layout.slot.heads + c]!;
        if (state === SlotState.FREE) {
          if (length !== 0 || head !== 0) fail(`free thread slot ${slot} still caches class ${c} objects`);
          continue;
        }
        const n = this.walkChain(head, c, length + 1, `thread slot ${slot} class ${c}`);
        if (n !== length) fail(`thread slot ${slot} class ${c}: list has ${n} objects, length says ${length}`);
      }
    }
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
