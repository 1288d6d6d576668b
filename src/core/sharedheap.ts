/**
 * SharedHeap: the public face of the allocator, one handle per (thread, heap).
 *
 * Owns: this thread's handle on a heap: its views (HeapMemory), its ThreadCache and its Lock
 * objects. Creating a heap lays out the buffer (layout.ts) and attaches the creating thread;
 * attach() from any other thread claims a free thread slot.
 *
 * Data flows downward only: ThreadCache -> CentralCache -> PageHeap -> memory.
 * malloc/free validate their argument completely before changing anything, so every
 * error leaves the heap intact.
 *
 * Modes (recorded in the header so every thread behaves alike):
 * - default: thread caches in front of the central caches;
 * - threadCache: false: every malloc/free goes to the CentralCache (one object at a time);
 * - globalLock: true: the baseline of single-lock allocators (dlmalloc under pthreads): the
 *   same page heap and size classes, every operation under one mutex, no thread caches;
 * - hardening: false (flag UNHARDENED, mimalloc's non-secure build): plain free-list links
 *   and a malloc/free fast path that trusts its input. attach() picks the handle's class
 *   from the flag (SharedHeap or UnhardenedHeap), so each class's malloc/free stays
 *   monomorphic and tests no mode flag per call.
 */

import type { Worker } from 'node:worker_threads';
import { createLock, initLockBlock, LOCK_KIND_CODE, lockKindFromCode, type Lock, type LockKind } from '../locks/index.js';
import { CentralCache } from './centralcache.js';
import { checkHeap, type CheckOptions } from './check.js';
import {
  DetachedHeapError,
  DoubleFreeError,
  HeapCorruptionError,
  InvalidHeapError,
  InvalidPointerError,
  LiveThreadError,
  OutOfMemoryError,
  SabmallocError,
} from './errors.js';
import {
  bufferBytesFor,
  claimingState,
  computeRegions,
  Flag,
  H,
  HEADER_BYTES,
  LAYOUT_VERSION,
  MAGIC,
  PENDING_SPANS,
  MAX_BUFFER_BYTES,
  readLayout,
  S,
  Shadow,
  SlotState,
  SP,
  SpanState,
  type HeapLayout,
} from './layout.js';
import { HeapMemory } from './memory.js';
import { PageHeap } from './pageheap.js';
import { NoLock } from './nolock.js';
import { SMALL_MAX, sizeClassTable, type SizeClassTable } from './sizeclasses.js';
import { NO_SPAN, SpanTable } from './span.js';
import { collectStats, type HeapStats } from './stats.js';
import { ThreadCache } from './threadcache.js';
import { Txn } from './txn.js';
import { recoverThread, type RecoveryReport } from './recovery.js';
import { callocAs, freeView, mallocAs, reallocAs, viewAs, type ElementType, type TypedArrayOf } from './typed.js';
import { requireBlockingThread, threadId } from './thread.js';
import { startProbe, stopProbe, type Probe } from './liveness.js';

export interface HeapOptions {
  /** Initial bytes of the heap's pages (1 MiB .. 4 GiB). */
  size: number;
  /** Largest size the heap may grow to (reserved in the buffer up front; > size: the heap grows). */
  maxSize?: number;
  /** Page size, a power of two from 4 KiB to 64 KiB; default 8 KiB. */
  pageSize?: number;
  /** Thread slots (threads attached at once); default 128. */
  maxThreads?: number;
  /** Lock kind per tier; defaults: central 'ttas', pageHeap 'futex'. */
  locks?: { central?: LockKind; pageHeap?: LockKind };
  /** Thread caches in front of the central caches; default true. */
  threadCache?: boolean;
  /** Baseline mode: one mutex around every operation, no thread caches. */
  globalLock?: boolean;
  /** Total bytes all thread caches may hold (default min(32 MiB, heap/8)). */
  threadCacheBudget?: number;
  /** Bytes one thread cache may hold (default 4 MiB). */
  threadCacheThreadBudget?: number;
  /**
   * Debugging aids (slower): freed blocks are poisoned and checked when reused, guard bytes
   * after each block are checked on free, allocation stacks are kept for leakReport().
   */
  debug?: boolean;
  /** Freed memory is zeroed, so no worker ever sees another's old data. */
  zeroOnFree?: boolean;
  /**
   * Hardened fast path (default true): safe-linked free lists, every popped link and every
   * freed pointer validated against the shadow bytes, so a double free, an interior
   * pointer or a write after free is a typed error. false is for benchmarking (mimalloc's
   * non-secure mode): plain links and no validation on the thread-cache fast path, so
   * such bugs corrupt the heap silently. Recorded in the header: every thread attached
   * to the heap uses the same mode. Slow paths (large blocks, debug, check()) validate in
   * both modes.
   */
  hardening?: boolean;
}

/** Debug mode: bytes a block carries beyond the request (guard, serial, requested size). */
const DEBUG_EXTRA = 12;
const POISON = 0xdd;
const GUARD = 0xab;

export interface LeakReportEntry {
  pointer: number;
  size: number;
  stack: string;
}

export const DEFAULT_LOCKS: { central: LockKind; pageHeap: LockKind } = { central: 'ttas', pageHeap: 'futex' };
const MIN_HEAP = 1 << 20;
const DEFAULT_PAGE_SIZE = 8192;
const DEFAULT_MAX_THREADS = 128;

/**
 * This thread's handles, by heap id: attach() of the same heap returns the same handle.
 * A list, because byte copies of a heap share its id (see sameMemory()). Weak: a handle
 * the application drops (without detach()) is collected, and with it its buffer; the
 * finalizer stops its liveness probe (whose pending waiters would hold the buffer) and
 * forgets the entry. Its slot stays attached until another thread recover()s it (the
 * probe then reports the slot's owner gone).
 */
const handles = new Map<string, WeakRef<SharedHeap>[]>();

interface Dropped {
  heapId: string;
  probe: Probe;
}

const dropped = new FinalizationRegistry<Dropped>(({ heapId, probe }) => {
  stopProbe(probe);
  pruneHandles(heapId, undefined);
});

/** Drops collected handles (and `gone`) from the heap id's list. */
function pruneHandles(heapId: string, gone: SharedHeap | undefined): void {
  const rest = (handles.get(heapId) ?? []).filter((r) => {
    const h = r.deref();
    return h !== undefined && h !== gone;
  });
  if (rest.length > 0) handles.set(heapId, rest);
  else handles.delete(heapId);
}

export class TooManyThreadsError extends SabmallocError {
  constructor(maxThreads: number) {
    super('ERR_SABMALLOC_NO_THREAD_SLOT', `all ${maxThreads} thread slots of this heap are attached`);
  }
}

export class SharedHeap {
  readonly buffer: SharedArrayBuffer;
  /** This thread's slot in the heap (0 .. maxThreads-1). */
  readonly threadSlot: number;
  readonly layout: HeapLayout;
  readonly sizeClasses: SizeClassTable;
  /** @internal */ readonly mem: HeapMemory;
  /** @internal */ readonly spans: SpanTable;
  /** @internal */ readonly pageHeap: PageHeap;
  /** @internal */ readonly central: CentralCache;
  // `declare` (see ThreadCache): the fast paths' fields get their real type, not any.
  /** @internal */ declare readonly threadCache: ThreadCache;
  /** @internal */ readonly txn: Txn;
  /** @internal Int32 index of this thread's slot. */ readonly slotWord: number;
  private readonly globalLock: Lock;
  private readonly globalMode: boolean;
  /**
   * The lock around a whole operation: the global lock in globalLock mode, else a NoLock.
   * Entered like every tier's lock (Txn.enter / try / finally Txn.exit), so a throw from
   * inside an operation never leaves the global lock held.
   */
  private readonly outer: Lock;
  protected declare readonly classOf: Uint8Array;
  private readonly heapId: string;
  /** Thread caches in use (not threadCache: false, not globalLock). */
  private readonly cached: boolean;
  /**
   * 1 while the inlined fast paths apply: cached, no debug/zeroOnFree, not detached. A
   * number, not a boolean: `=== 1` on a Smi field is one compare, a boolean field costs
   * V8 a full truthiness test (false, "", undetectable, 0, 0n) on every call.
   */
  protected declare fast: number;
  private readonly debug: boolean;
  private readonly zeroOnFree: boolean;
  /** Debug mode: this thread's live allocations (pointer -> serial, size, stack). */
  private readonly allocations = new Map<number, { serial: number; size: number; stack: string }>();
  private serial = 0;
  private detached = false;
  /** This thread's liveness probe on its slot (see liveness.ts). */
  private probe: Probe | undefined;

  protected constructor(buffer: SharedArrayBuffer, layout: HeapLayout, slot: number, heapId: string) {
    this.buffer = buffer;
    this.layout = layout;
    this.threadSlot = slot;
    this.heapId = heapId;
    this.sizeClasses = sizeClassTable(layout.pageSize);
    this.classOf = this.sizeClasses.classOf;
    this.mem = new HeapMemory(buffer, layout);
    this.slotWord = (layout.slots + slot * layout.slotBytes) >>> 2;
    this.txn = new Txn(this.mem, this.slotWord, layout.slot.log);
    this.spans = new SpanTable(this.mem, this.txn);
    this.globalMode = (layout.flags & Flag.GLOBAL_LOCK) !== 0;
    this.cached = (layout.flags & Flag.THREAD_CACHE) !== 0;
    this.debug = (layout.flags & Flag.DEBUG) !== 0;
    this.zeroOnFree = (layout.flags & Flag.ZERO_ON_FREE) !== 0;
    this.fast = this.cached && !this.debug && !this.zeroOnFree ? 1 : 0;

    const i32 = this.mem.i32;
    const ownerId = slot + 1;
    const slotF64 = (layout.slots + slot * layout.slotBytes) >>> 3;
    const slotsWord = layout.slots >>> 2;
    const slotWords = layout.slotBytes >>> 2;
    const nodeWord = (id: number): number => slotsWord + (id - 1) * slotWords + layout.slot.lockNode;
    const make = (kindCode: number, word: number, statsAt: number): Lock => {
      const kind = lockKindFromCode(kindCode);
      if (kind === undefined) throw new InvalidHeapError(`unknown lock kind code ${kindCode}`);
      return createLock(kind, { i32, word, ownerId, nodeWord, stats: this.mem.f64, statsBase: slotF64 + statsAt });
    };
    this.globalLock = make(LOCK_KIND_CODE.futex, layout.globalLock >>> 2, layout.slot.globalLockStats);
    this.outer = this.globalMode ? this.globalLock : new NoLock();
    const phLock = this.globalMode
      ? new NoLock()
      : make(i32[H.PAGEHEAP_LOCK_KIND]!, layout.pageHeap >>> 2, layout.slot.pageHeapLockStats);
    this.pageHeap = new PageHeap(this.mem, this.spans, phLock, this.txn);
    const centralLocks: Lock[] = [new NoLock()];
    for (let c = 1; c < this.sizeClasses.count; c++) {
      const word = (layout.central >>> 2) + c * (i32[H.CENTRAL_WORDS]! | 0);
      centralLocks.push(
        this.globalMode ? new NoLock() : make(i32[H.CENTRAL_LOCK_KIND]!, word, layout.slot.centralLockStats),
      );
    }
    this.central = new CentralCache(this.mem, this.spans, this.pageHeap, this.sizeClasses, centralLocks, this.txn, this.slotWord);
    this.threadCache = new ThreadCache(this.mem, this.central, this.sizeClasses, slot);
  }

  /** Lays out a new heap in a fresh SharedArrayBuffer and attaches the calling thread. */
  static create(options: HeapOptions): SharedHeap {
    if (options === null || typeof options !== 'object') throw new TypeError('SharedHeap.create needs an options object');
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 4096 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
      throw new RangeError(`pageSize must be a power of two from 4096 to 65536, got ${pageSize}`);
    }
    const size = options.size;
    if (!Number.isInteger(size) || size < MIN_HEAP || size > MAX_BUFFER_BYTES) {
      throw new RangeError(`size must be an integer from 1 MiB to 4 GiB, got ${size}`);
    }
    const maxSize = options.maxSize ?? size;
    if (!Number.isInteger(maxSize) || maxSize < size || maxSize > MAX_BUFFER_BYTES) {
      throw new RangeError(`maxSize must be an integer from size (${size}) to 4 GiB, got ${maxSize}`);
    }
    const maxThreads = options.maxThreads ?? DEFAULT_MAX_THREADS;
    if (!Number.isInteger(maxThreads) || maxThreads < 1 || maxThreads > 4096) {
      throw new RangeError(`maxThreads must be an integer from 1 to 4096, got ${maxThreads}`);
    }
    const centralKind = options.locks?.central ?? DEFAULT_LOCKS.central;
    const pageHeapKind = options.locks?.pageHeap ?? DEFAULT_LOCKS.pageHeap;
    for (const k of [centralKind, pageHeapKind]) {
      if (LOCK_KIND_CODE[k] === undefined) throw new RangeError(`unknown lock kind ${String(k)}`);
    }
    const table = sizeClassTable(pageSize);
    const pageShift = 31 - Math.clz32(pageSize);
    const growable = maxSize > size;
    // The metadata is sized for the largest heap; the pages region is what is left of 4 GiB.
    let capacityPages = Math.floor(maxSize / pageSize);
    let regions = computeRegions({ pageSize, pageShift, capacityPages, committedPages: 0, maxThreads, numClasses: table.count });
    while (bufferBytesFor(regions, pageSize, capacityPages) > MAX_BUFFER_BYTES) {
      capacityPages = Math.floor((MAX_BUFFER_BYTES - regions.pages) / pageSize);
      regions = computeRegions({ pageSize, pageShift, capacityPages, committedPages: 0, maxThreads, numClasses: table.count });
    }
    const committedPages = Math.min(capacityPages, Math.floor(size / pageSize));
    // One plain SharedArrayBuffer reserves the whole heap (metadata + maxSize); a growable
    // heap raises its commit watermark inside it (PageHeap.growLocked). Linux makes a page
    // resident only when it is first touched, so the reservation costs address space, not
    // memory. A plain buffer, never a growable one: typed arrays over a growable buffer
    // are length-tracking, several times slower in V8 11 (Node 20), and they slow each
    // other down across threads; with a plain buffer `new Uint8Array(heap.buffer)` is a
    // normal view and no view ever goes stale.
    const buffer = new SharedArrayBuffer(bufferBytesFor(regions, pageSize, capacityPages));
    const i32 = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
    const heapBudget = capacityPages * pageSize;
    const random = new Uint32Array(3);
    globalThis.crypto.getRandomValues(random);
    i32[H.VERSION] = LAYOUT_VERSION;
    i32[H.PAGE_SIZE] = pageSize;
    i32[H.PAGE_SHIFT] = pageShift;
    i32[H.CAPACITY_PAGES] = capacityPages;
    i32[H.COMMITTED_PAGES] = committedPages;
    i32[H.MAX_THREADS] = maxThreads;
    i32[H.NUM_CLASSES] = table.count;
    i32[H.FLAGS] =
      (options.globalLock ? Flag.GLOBAL_LOCK : options.threadCache === false ? 0 : Flag.THREAD_CACHE) |
      (growable ? Flag.GROWABLE : 0) |
      (options.debug ? Flag.DEBUG : 0) |
      (options.zeroOnFree ? Flag.ZERO_ON_FREE : 0) |
      (options.hardening === false ? Flag.UNHARDENED : 0);
    i32[H.CENTRAL_LOCK_KIND] = LOCK_KIND_CODE[centralKind];
    i32[H.PAGEHEAP_LOCK_KIND] = LOCK_KIND_CODE[pageHeapKind];
    i32[H.KEY] = options.hardening === false ? 0 : random[0]! | 1; // 0: plain links (safelink.ts)
    i32[H.HEAP_ID_LO] = random[1]!;
    i32[H.HEAP_ID_HI] = random[2]!;
    i32[H.PAGES_OFF] = regions.pages;
    i32[H.PAGEHEAP_OFF] = regions.pageHeap;
    i32[H.GLOBAL_LOCK_OFF] = regions.globalLock;
    i32[H.CENTRAL_OFF] = regions.central;
    i32[H.SLOTS_OFF] = regions.slots;
    i32[H.SLOT_BYTES] = regions.slotBytes;
    i32[H.SPANS_OFF] = regions.spans;
    i32[H.PAGEMAP_OFF] = regions.pageMap;
    i32[H.PAGECLASS_OFF] = regions.pageClass;
    i32[H.SHADOW_OFF] = regions.shadow;
    i32[H.CENTRAL_WORDS] = (regions.slots - regions.central) / 4 / table.count | 0;
    i32[H.TC_TOTAL_BUDGET] = Math.min(options.threadCacheBudget ?? 32 << 20, Math.max(heapBudget >>> 3, 64 << 10));
    i32[H.TC_THREAD_BUDGET] = Math.min(options.threadCacheThreadBudget ?? 4 << 20, i32[H.TC_TOTAL_BUDGET]!);
    const layout = readLayout(i32);
    {
      // Every slot starts in the "nothing in flight" state, claimed or not.
      const all = new Int32Array(buffer, 0, regions.pages >>> 2);
      for (let s = 0; s < maxThreads; s++) initSlot(all, layout, (layout.slots + s * layout.slotBytes) >>> 2);
    }
    // Lock blocks: zeroed by the fresh buffer; initLockBlock states the requirement.
    const full = new Int32Array(buffer, 0, regions.pages >>> 2);
    initLockBlock(full, layout.pageHeap >>> 2);
    initLockBlock(full, layout.globalLock >>> 2);
    for (let c = 1; c < table.count; c++) initLockBlock(full, (layout.central >>> 2) + c * i32[H.CENTRAL_WORDS]!);
    const mem = new HeapMemory(buffer, layout);
    const txn = new Txn(mem, layout.slots >>> 2, layout.slot.log); // slot 0's log, committed at once
    const spans = new SpanTable(mem, txn);
    const pageHeap = new PageHeap(mem, spans, new NoLock(), txn);
    pageHeap.initialize();
    new CentralCache(mem, spans, pageHeap, table, [], txn, layout.slots >>> 2).initialize();
    // The magic goes last: a half-built heap is never mistaken for a heap.
    Atomics.store(i32, H.MAGIC, MAGIC);
    return SharedHeap.attach(buffer);
  }

  /** Attaches the calling thread to a heap (same thread and heap: the same handle). */
  static attach(buffer: SharedArrayBuffer): SharedHeap {
    const layout = validateHeapBuffer(buffer);
    requireBlockingThread();
    const i32 = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
    const heapId = `${i32[H.HEAP_ID_LO]! >>> 0}:${i32[H.HEAP_ID_HI]! >>> 0}:${threadId()}`;
    // A byte copy of a heap carries the same id: it is the same heap only if a write
    // through this buffer shows through the existing handle's buffer.
    for (const ref of handles.get(heapId) ?? []) {
      const h = ref.deref();
      if (h !== undefined && sameMemory(h.buffer, buffer)) return h;
    }
    const { slot, probe } = claimSlot(buffer, layout);
    let heap: SharedHeap;
    try {
      heap = (layout.flags & Flag.UNHARDENED) !== 0
        ? new UnhardenedHeap(buffer, layout, slot, heapId)
        : new SharedHeap(buffer, layout, slot, heapId);
    } catch (e) {
      releaseSlot(buffer, layout, slot, probe);
      throw e;
    }
    heap.probe = probe;
    heap.threadCache.reset();
    pruneHandles(heapId, undefined);
    handles.set(heapId, [...(handles.get(heapId) ?? []), new WeakRef(heap)]);
    dropped.register(heap, { heapId, probe }, heap);
    return heap;
  }

  // ---------------------------------------------------------------- allocation

  /** Allocates n bytes; returns the block's byte offset (16-byte aligned, > 0). */
  malloc(n: number): number {
    // 262144 = SMALL_MAX, written out: a module constant costs a binding-cell check per call.
    if (typeof n === 'number' && (n >>> 0) === n && n <= 262144 && this.fast === 1) {
      const p = this.threadCache.allocate(this.classOf[(n + 15) >>> 4]!);
      if (p !== 0) return p;
    }
    return this.mallocSlow(n);
  }

  /** Frees a block from malloc/calloc/realloc (any thread's); free(0) does nothing. */
  free(p: number): void {
    if (this.fast === 1 && typeof p === 'number' && this.threadCache.free(p)) return;
    this.freeSlow(p);
  }

  /** count * size zeroed bytes. */
  calloc(count: number, size: number): number {
    checkSize(count, 'calloc count');
    checkSize(size, 'calloc size');
    const total = count * size;
    if (!Number.isSafeInteger(total) || total > MAX_BUFFER_BYTES) {
      throw new RangeError(`calloc(${count}, ${size}): ${count} * ${size} overflows the heap`);
    }
    const p = this.malloc(total);
    this.mem.u8.fill(0, p, p + total);
    return p;
  }

  /** Resizes a block, in place when it still fits; p = 0 behaves as malloc. */
  realloc(p: number, n: number): number {
    if (p === 0) return this.malloc(n);
    checkSize(n, 'realloc size');
    const cls = this.classify(p, 'realloc');
    const usable = this.debug ? this.mem.u32[(p + this.blockBytes(p, cls) - 4) >>> 2]! : this.blockBytes(p, cls);
    // In debug mode the guard bytes sit right after the size asked for: always move.
    if (!this.debug && n <= usable && (n > usable >>> 1 || usable <= 16)) return p;
    // Claim p before allocating (issue 8, realloc racing free): from here on a racing free
    // of p fails, so p cannot be freed (and its pages reused for q) behind our back, and if
    // the free won, this throws before anything was allocated.
    this.claim(p, cls, 'realloc');
    let q = 0;
    try {
      q = this.malloc(n);
    } finally {
      if (q === 0) this.unclaim(p, cls); // on OutOfMemoryError p is still allocated and valid
    }
    this.mem.u8.copyWithin(q, p, p + Math.min(usable, n));
    let moved = false;
    try {
      this.release(p, cls);
      moved = true;
    } finally {
      // A release that failed (an internal error) and gave p back (ALLOCATED again: large
      // blocks, uncached heaps): realloc fails whole, q goes.
      if (!moved && this.mem.shadow[(p - this.mem.base) >>> 4] === Shadow.ALLOCATED) this.free(q);
    }
    return q;
  }

  // Typed helpers (typed.ts): a block and a fixed-length view of it in one call; the view
  // stays valid across heap growth until the block is freed.

  /** malloc(count * element size) as a view: `heap.mallocAs('f64', 16)`. */
  mallocAs<T extends ElementType>(type: T, count: number): TypedArrayOf<T> {
    return mallocAs(this, type, count);
  }

  /** Like mallocAs, zeroed. */
  callocAs<T extends ElementType>(type: T, count: number): TypedArrayOf<T> {
    return callocAs(this, type, count);
  }

  /** Resizes a view's block to `count` elements (the old view must no longer be used). */
  reallocAs<V extends TypedArrayOf<ElementType>>(view: V, count: number): V {
    return reallocAs(this, view, count);
  }

  /** A view of block p (e.g. a pointer another worker sent): `heap.viewAs('i32', p, 4)`. */
  viewAs<T extends ElementType>(type: T, p: number, count: number): TypedArrayOf<T> {
    return viewAs(this, type, p, count);
  }

  /** Frees the block a view from mallocAs/callocAs/viewAs covers. */
  freeView(view: TypedArrayOf<ElementType>): void {
    freeView(this, view);
  }

  /** Bytes usable at p (>= the size asked for; in debug mode exactly the size asked for). */
  usableSize(p: number): number {
    const cls = this.classify(p, 'usableSize');
    if (this.debug) return this.mem.u32[(p + this.blockBytes(p, cls) - 4) >>> 2]!;
    return this.blockBytes(p, cls);
  }

  /** Bytes of the block at p of class cls (0: a large block). */
  private blockBytes(p: number, cls: number): number {
    if (cls > 0) return this.sizeClasses.sizeOf[cls]!;
    return this.spans.get(this.mem.pageOf(p), SP.PAGES) * this.mem.pageSize;
  }

  protected mallocSlow(n: number): number {
    checkSize(n, 'malloc size');
    this.checkAttached();
    if (n > this.maxHeapBytes()) {
      throw new RangeError(`malloc(${n}): larger than the heap can ever be (${this.maxHeapBytes()} bytes)`);
    }
    if (this.debug) return this.debugAllocate(n);
    const p = this.allocateBlock(n);
    if (this.zeroOnFree) {
      // A freed small block is zero but for its free-list link word; a large block's pages
      // may have held blocks of any class, links included.
      const cls = this.mem.pageClass[this.mem.pageOf(p)]!;
      if (cls > 0) this.mem.u32[p >>> 2] = 0;
      else this.mem.u8.fill(0, p, p + this.blockBytes(p, 0));
    }
    return p;
  }

  private allocateBlock(n: number): number {
    if (n <= SMALL_MAX) {
      const cls = this.classOf[(n + 15) >>> 4]!;
      let p = this.allocateSmall(cls);
      if (p === 0) {
        this.releaseCachedMemory();
        p = this.allocateSmall(cls);
      }
      if (p === 0) throw new OutOfMemoryError(n, `no span of ${this.sizeClasses.classes[cls]!.pages} page(s) left for class ${cls}`);
      return p;
    }
    let p = this.allocateLarge(n);
    if (p === 0) {
      this.releaseCachedMemory();
      p = this.allocateLarge(n);
    }
    if (p === 0) throw new OutOfMemoryError(n, `no run of ${Math.ceil(n / this.mem.pageSize)} free pages`);
    return p;
  }

  private allocateSmall(cls: number): number {
    if (this.cached) return this.threadCache.pop(cls);
    let p = 0;
    this.txn.enter(this.outer);
    try {
      p = this.threadCache.allocateUncached(cls);
    } finally {
      this.txn.exit(this.outer);
    }
    return p;
  }

  private allocateLarge(n: number): number {
    const pages = Math.ceil(n / this.mem.pageSize);
    const transit = this.slotWord + S.TRANSIT_SPAN;
    let s = NO_SPAN;
    this.txn.enter(this.outer);
    try {
      s = this.pageHeap.allocateSpan(pages, 0, transit);
    } finally {
      this.txn.exit(this.outer);
    }
    if (s === NO_SPAN) return 0;
    this.pageHeap.clearShadow(s, pages);
    const p = this.mem.pageAddress(s);
    // ALLOCATED before the transit record is dropped: recovery then knows the block was
    // handed out (it stays allocated) rather than lost on the way.
    this.mem.shadow[(p - this.mem.base) >>> 4] = Shadow.ALLOCATED;
    this.mem.i32[transit] = NO_SPAN;
    const f = this.slotF64();
    this.mem.f64[f + this.layout.slot.mallocs]++;
    this.mem.f64[f + this.layout.slot.largeMallocs]++;
    return p;
  }

  /**
   * Every free that is not the default heap's thread-cache fast path. Validation outside
   * any lock (classify) only names what p is; the free itself is won by claiming p (issue
   * 8, racing frees): under the PageHeap lock for a large block, by an atomic SHADOW change
   * ALLOCATED -> FREED for a small one. Of any number of racing free/realloc calls on one
   * block exactly one claims it; the others get DoubleFreeError / InvalidPointerError and
   * change nothing.
   */
  protected freeSlow(p: number): void {
    if (p === 0) return;
    const cls = this.classify(p, 'free');
    if (cls === 0 && !this.debug && !this.zeroOnFree) {
      // Claim and release in one PageHeap transaction: one lock round trip.
      let ok = false;
      this.txn.enter(this.outer);
      try {
        ok = this.pageHeap.freeLarge(this.mem.pageOf(p));
      } finally {
        this.txn.exit(this.outer);
      }
      if (!ok) throw new DoubleFreeError(p);
      this.countLargeFree();
      return;
    }
    this.claim(p, cls, 'free');
    this.release(p, cls);
  }

  /**
   * Makes this thread the only one that may free block p (of class cls, 0: large): throws
   * (DoubleFreeError for free, InvalidPointerError for realloc) if another thread's free or
   * realloc of p won. A debug heap then checks the guard bytes (undoing the claim if they
   * were overwritten). Atomics here are off the fast path: it runs for debug, zeroOnFree,
   * uncached and global-lock heaps, for large blocks, and for realloc.
   */
  private claim(p: number, cls: number, op: string): void {
    const mem = this.mem;
    let ok = false;
    if (cls === 0) {
      this.txn.enter(this.outer);
      try {
        ok = this.pageHeap.claimLarge(mem.pageOf(p), this.slotWord + S.TRANSIT_FREE);
      } finally {
        this.txn.exit(this.outer);
      }
    } else {
      // Recorded first: a thread killed from here until the block is on its list leaves a
      // claim that recovery settles (settleClaim in threadcache.ts).
      const claimed = this.slotWord + S.CLAIMED;
      mem.i32[claimed] = p;
      ok = Atomics.compareExchange(mem.shadow, (p - mem.base) >>> 4, Shadow.ALLOCATED, Shadow.FREED) === Shadow.ALLOCATED;
      if (!ok) mem.i32[claimed] = 0;
    }
    if (!ok) {
      if (op === 'free') throw new DoubleFreeError(p);
      throw new InvalidPointerError(p, `${op}: the block was freed meanwhile by another thread (use after free)`);
    }
    if (!this.debug) return;
    let checked = false;
    try {
      this.debugCheckGuards(p, cls);
      checked = true;
    } finally {
      if (!checked) this.unclaim(p, cls);
    }
  }

  /** Undoes claim(): p is allocated again (the realloc or debug free that claimed it failed). */
  private unclaim(p: number, cls: number): void {
    const mem = this.mem;
    if (cls > 0) {
      Atomics.store(mem.shadow, (p - mem.base) >>> 4, Shadow.ALLOCATED);
      mem.i32[this.slotWord + S.CLAIMED] = 0;
      return;
    }
    this.txn.enter(this.outer);
    try {
      this.pageHeap.unclaimLarge(mem.pageOf(p), this.slotWord + S.TRANSIT_FREE);
    } finally {
      this.txn.exit(this.outer);
    }
  }

  /** Frees block p, which this thread has claimed (its SHADOW says FREED). */
  private release(p: number, cls: number): void {
    if (this.debug) this.debugPoison(p, cls);
    else if (this.zeroOnFree) this.mem.u8.fill(0, p, p + this.blockBytes(p, cls));
    if (cls === 0) {
      let done = false;
      this.txn.enter(this.outer);
      try {
        this.pageHeap.deallocateSpan(this.mem.pageOf(p), this.slotWord + S.TRANSIT_FREE);
        done = true;
      } finally {
        this.txn.exit(this.outer);
        // An internal error rolled the release back: the block is allocated again, not left in flight.
        if (!done) this.unclaim(p, cls);
      }
      this.countLargeFree();
      return;
    }
    if (this.cached) {
      this.threadCache.deallocate(p, cls); // marks it FREE last
    } else {
      this.txn.enter(this.outer);
      try {
        this.threadCache.deallocateUncached(p, cls);
      } finally {
        this.txn.exit(this.outer);
        // deallocateUncached failing pops p back off (ALLOCATED, no longer claimed).
        this.mem.i32[this.slotWord + S.CLAIMED] = 0;
      }
    }
    this.mem.i32[this.slotWord + S.CLAIMED] = 0;
  }

  private countLargeFree(): void {
    const f = this.slotF64();
    this.mem.f64[f + this.layout.slot.frees]++;
    this.mem.f64[f + this.layout.slot.largeFrees]++;
  }

  /**
   * Debug allocation: the block carries, after the n bytes asked for, guard bytes, then a
   * serial number and n in its last 8 bytes. A reused small block must still be poisoned
   * from its free, else something wrote to it while it was free.
   */
  private debugAllocate(n: number): number {
    const p = this.allocateBlock(n + DEBUG_EXTRA);
    const mem = this.mem;
    const cls = mem.pageClass[mem.pageOf(p)]!;
    const bytes = this.blockBytes(p, cls);
    if (cls > 0) {
      for (let k = p + 4; k < p + bytes; k++) {
        if (mem.u8[k] !== POISON) {
          throw new HeapCorruptionError(
            `block ${p} (size class ${cls}) was written at offset ${k - p} while it was free (use after free)`,
            p,
          );
        }
      }
    }
    mem.u8.fill(GUARD, p + n, p + bytes - 8);
    const serial = (this.threadSlot * 0x1000000 + (++this.serial & 0xffffff)) >>> 0;
    mem.u32[(p + bytes - 8) >>> 2] = serial;
    mem.u32[(p + bytes - 4) >>> 2] = n;
    this.allocations.set(p, { serial, size: n, stack: new Error('allocated here').stack ?? '' });
    return p;
  }

  /** Debug free, first half (read only, after the claim): the guard bytes must be intact. */
  private debugCheckGuards(p: number, cls: number): void {
    const mem = this.mem;
    const bytes = this.blockBytes(p, cls);
    const n = mem.u32[(p + bytes - 4) >>> 2]!;
    if (n > bytes - DEBUG_EXTRA) {
      throw new HeapCorruptionError(`block ${p}: its size record was overwritten (write past its end)`, p);
    }
    for (let k = p + n; k < p + bytes - 8; k++) {
      if (mem.u8[k] !== GUARD) {
        throw new HeapCorruptionError(`block ${p} of ${n} bytes was written past its end, at offset ${k - p}`, p);
      }
    }
  }

  /** Debug free, second half (the block is claimed): forget it, poison it. */
  private debugPoison(p: number, cls: number): void {
    this.allocations.delete(p);
    this.mem.u8.fill(POISON, p, p + this.blockBytes(p, cls));
  }

  /**
   * Debug mode: blocks this thread allocated that are still allocated, with the stack of
   * their allocation (blocks freed by another thread are recognised by their serial).
   */
  leakReport(): LeakReportEntry[] {
    this.checkAttached();
    const out: LeakReportEntry[] = [];
    const mem = this.mem;
    for (const [p, a] of this.allocations) {
      if (mem.shadow[(p - mem.base) >>> 4] !== Shadow.ALLOCATED) continue;
      const bytes = this.blockBytes(p, mem.pageClass[mem.pageOf(p)]!);
      if (mem.u32[(p + bytes - 8) >>> 2] !== a.serial) continue;
      out.push({ pointer: p, size: a.size, stack: a.stack });
    }
    return out;
  }

  /**
   * Validates p as the start of a live block; returns its size class (0: large block).
   * Throws InvalidPointerError / DoubleFreeError naming what p really is.
   */
  private classify(p: number, op: string): number {
    this.checkAttached();
    const mem = this.mem;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) {
      throw new InvalidPointerError(p, `${op} needs a block offset (a non-negative integer)`);
    }
    if (p < mem.base) throw new InvalidPointerError(p, `${op}: points into the heap's header and metadata`);
    const end = mem.pageAddress(mem.committedPages());
    if (p >= end) throw new InvalidPointerError(p, `${op}: beyond the end of the heap (${end} bytes)`);
    if ((p & 15) !== 0) throw new InvalidPointerError(p, `${op}: not 16-byte aligned, so not a block start`);
    const state = mem.shadow[(p - mem.base) >>> 4];
    if (state === Shadow.ALLOCATED) {
      const cls = mem.pageClass[mem.pageOf(p)]!;
      if (cls === 0 && this.spans.spanOfPage(mem.pageOf(p)) !== mem.pageOf(p)) {
        throw new HeapCorruptionError(`shadow says ${p} is allocated but no span starts there`, p);
      }
      return cls;
    }
    if (state === Shadow.FREE || state === Shadow.FREED) {
      if (op === 'free') throw new DoubleFreeError(p);
      throw new InvalidPointerError(p, `${op}: the block was already freed (use after free)`);
    }
    const s = this.spans.spanOfPage(mem.pageOf(p));
    const spanState = s >= 0 ? this.spans.get(s, SP.STATE) : SpanState.NONE;
    const inSpan = s >= 0 && mem.pageOf(p) < s + this.spans.get(s, SP.PAGES);
    if (spanState === SpanState.SMALL && inSpan) {
      throw new InvalidPointerError(p, `${op}: inside a block of size class ${this.spans.get(s, SP.CLASS)}, not at its start`);
    }
    if (spanState === SpanState.LARGE && inSpan) {
      throw new InvalidPointerError(p, `${op}: inside a large block starting at ${mem.pageAddress(s)}`);
    }
    throw new InvalidPointerError(p, `${op}: inside free pages of the heap`);
  }

  // ---------------------------------------------------------------- housekeeping

  /** Returns cached memory so it can be reused by any thread: own cache, transfer caches. */
  releaseCachedMemory(): void {
    this.checkAttached();
    if (this.cached) this.threadCache.flushAll(false);
    this.txn.enter(this.outer);
    try {
      this.central.drainTransferCaches();
    } finally {
      this.txn.exit(this.outer);
    }
  }

  /**
   * TCMalloc's ReleaseFreeMemory: flushes this thread's cache and every TransferCache, so
   * every span with no object in use goes back to the PageHeap. (Other threads' caches
   * are theirs: they flush on detach.)
   */
  trim(): void {
    this.releaseCachedMemory();
  }

  /**
   * Gives this thread's cached objects back, drains the TransferCaches (so every span with
   * no object in use returns to the PageHeap: after every thread has detached, or flushed,
   * all pages are free again) and frees the slot. The handle is dead afterwards.
   */
  detach(): void {
    if (this.detached) return;
    this.releaseCachedMemory();
    this.threadCache.flushCounters();
    this.fast = 0;
    this.detached = true;
    pruneHandles(this.heapId, this);
    dropped.unregister(this);
    releaseSlot(this.buffer, this.layout, this.threadSlot, this.probe);
  }

  /**
   * Recovers the heap from a thread that died (worker.terminate(), an uncaught exception,
   * process.exit() in the worker): call it once the worker has exited, with its threadId.
   * Locks it held are rolled back and released, its cached objects go back to the central
   * caches, spans it had in flight go back to the PageHeap, and its slot is freed. Blocks
   * it allocated and did not free stay allocated (they may be shared with others).
   *
   * A thread that is still running is refused with LiveThreadError before anything
   * changes (each attached thread answers a liveness probe: see liveness.ts). The form
   * that cannot be misused is recoverWhenExited(worker).
   */
  recover(deadThreadId: number): RecoveryReport {
    return this.recoverThread(deadThreadId, false);
  }

  private recoverThread(deadThreadId: number, exited: boolean): RecoveryReport {
    this.checkAttached();
    if (deadThreadId === threadId()) throw new RangeError('a thread cannot recover itself; detach() instead');
    if (!Number.isInteger(deadThreadId) || deadThreadId < 0) {
      throw new RangeError(
        `recover(${String(deadThreadId)}): not a thread id (worker.threadId reads -1 once the worker has exited: read it before, e.g. when the worker starts, or use recoverWhenExited(worker))`,
      );
    }
    const report = recoverThread(this, deadThreadId, exited);
    if (report.slots.length > 0) resyncAttached(this.mem.i32, this.layout);
    return report;
  }

  /**
   * Recovers the heap from `worker` once it has exited, however it ends (a worker that
   * detached first leaves nothing to recover: the report lists no slot). Call it while the
   * worker runs (Node forgets a worker's threadId when it exits). Resolves with the
   * report; rejects with DetachedHeapError if this handle was detached by then.
   */
  recoverWhenExited(worker: Worker): Promise<RecoveryReport> {
    this.checkAttached();
    const tid = worker.threadId;
    if (!Number.isInteger(tid) || tid < 0) {
      return Promise.reject(
        new LiveThreadError(tid, 'this Worker has already exited and Node no longer tells its threadId: call recoverWhenExited() while it runs'),
      );
    }
    return new Promise((resolve, reject) => {
      worker.once('exit', () => {
        try {
          resolve(this.recoverThread(tid, true));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  get isDetached(): boolean {
    return this.detached;
  }

  stats(): HeapStats {
    this.checkAttached();
    this.threadCache.flushCounters();
    return collectStats(this);
  }

  /** Walks every invariant of the heap; throws HeapCorruptionError on the first broken one. */
  check(options?: CheckOptions): void {
    this.checkAttached();
    checkHeap(this, options);
  }

  /** @internal */ lockKinds(): { central: LockKind; pageHeap: LockKind } {
    const i32 = this.mem.i32;
    return {
      central: lockKindFromCode(i32[H.CENTRAL_LOCK_KIND]!)!,
      pageHeap: lockKindFromCode(i32[H.PAGEHEAP_LOCK_KIND]!)!,
    };
  }

  /** false for a heap created with `hardening: false` (the same for every attached thread). */
  get hardening(): boolean {
    return (this.layout.flags & Flag.UNHARDENED) === 0;
  }

  /** @internal */ get modes(): { threadCache: boolean; globalLock: boolean } {
    return { threadCache: (this.layout.flags & Flag.THREAD_CACHE) !== 0, globalLock: this.globalMode };
  }

  /** @internal */ globalLockHandle(): Lock {
    return this.globalLock;
  }

  private slotF64(): number {
    return (this.layout.slots + this.threadSlot * this.layout.slotBytes) >>> 3;
  }

  private maxHeapBytes(): number {
    return this.layout.capacityPages * this.layout.pageSize;
  }

  private checkAttached(): void {
    if (this.detached) throw new DetachedHeapError();
  }
}

/**
 * The handle class of `hardening: false` heaps: the same heap, with malloc/free fast paths
 * that use plain links and skip validation (ThreadCache.allocateRaw/freeRaw). A class of
 * its own rather than a flag tested per call: each class's malloc and free see one
 * ThreadCache method each, and a program that uses one kind of heap pays nothing for the
 * other. Every slow path is SharedHeap's and validates as in a hardened heap.
 */
class UnhardenedHeap extends SharedHeap {
  override malloc(n: number): number {
    if (typeof n === 'number' && (n >>> 0) === n && n <= 262144 && this.fast === 1) {
      const p = this.threadCache.allocateRaw(this.classOf[(n + 15) >>> 4]!);
      if (p !== 0) return p;
    }
    return this.mallocSlow(n);
  }

  override free(p: number): void {
    if (this.fast === 1 && typeof p === 'number' && this.threadCache.freeRaw(p)) return;
    this.freeSlow(p);
  }
}

function checkSize(n: number, what: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${typeof n === 'number' ? n : typeof n}`);
  }
  if (n > MAX_BUFFER_BYTES) throw new RangeError(`${what} ${n} is larger than any heap (4 GiB)`);
}

/** Reads and checks the header of a buffer handed to attach(). */
function validateHeapBuffer(buffer: SharedArrayBuffer): HeapLayout {
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new InvalidHeapError(`expected a SharedArrayBuffer, got ${Object.prototype.toString.call(buffer)}`);
  }
  if (buffer.byteLength < HEADER_BYTES) throw new InvalidHeapError(`buffer of ${buffer.byteLength} bytes is too small`);
  const i32 = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
  if (Atomics.load(i32, H.MAGIC) !== MAGIC) throw new InvalidHeapError('no sabmalloc magic number in the header');
  if (i32[H.VERSION] !== LAYOUT_VERSION) {
    throw new InvalidHeapError(`layout version ${i32[H.VERSION]} (this sabmalloc reads version ${LAYOUT_VERSION})`);
  }
  return readLayout(i32);
}

function sameMemory(a: SharedArrayBuffer, b: SharedArrayBuffer): boolean {
  if (a === b) return true;
  const ia = new Int32Array(a, 0, HEADER_BYTES >>> 2);
  const ib = new Int32Array(b, 0, HEADER_BYTES >>> 2);
  const bumped = Atomics.add(ib, H.PROBE, 1) + 1;
  return Atomics.load(ia, H.PROBE) === bumped;
}

function slotWord(layout: HeapLayout, slot: number): number {
  return (layout.slots + slot * layout.slotBytes) >>> 2;
}

function claimSlot(buffer: SharedArrayBuffer, layout: HeapLayout): { slot: number; probe: Probe } {
  const tid = threadId();
  const i32 = new Int32Array(buffer, 0, layout.pages >>> 2);
  const n = layout.maxThreads;
  const start = (Atomics.add(i32, H.SLOT_SEQ, 1) >>> 0) % n;
  for (let k = 0; k < n; k++) {
    const slot = (start + k) % n;
    const w = slotWord(layout, slot) + S.STATE;
    // Claimed in two steps: the state word first names the claiming thread (a negative
    // value), so a thread killed while it sets the slot up leaves a slot that recovery can
    // tell apart and free; only a fully set-up slot becomes ATTACHED.
    if (Atomics.compareExchange(i32, w, SlotState.FREE, claimingState(tid)) === SlotState.FREE) {
      const sw = slotWord(layout, slot);
      // The probe first: from here on recover() must see this thread as alive.
      Atomics.add(i32, sw + S.GENERATION, 1);
      const probe = startProbe(i32, sw);
      initSlot(i32, layout, sw);
      i32[sw + S.THREAD_ID] = tid;
      Atomics.store(i32, w, SlotState.ATTACHED);
      resyncAttached(i32, layout);
      return { slot, probe };
    }
  }
  throw new TooManyThreadsError(n);
}

/**
 * H.ATTACHED (read by the thread-cache budget) is not counted up and down: a thread killed
 * between a slot's state change and the count's would leave it off by one for good. It is
 * recounted from the slot states by whoever changes one (attach, detach, recover), until a
 * recount sees no change, so a racing recount cannot leave a stale value last.
 */
function resyncAttached(i32: Int32Array, layout: HeapLayout): void {
  for (let round = 0; round < 8; round++) {
    let n = 0;
    for (let slot = 0; slot < layout.maxThreads; slot++) {
      const st = Atomics.load(i32, slotWord(layout, slot) + S.STATE);
      if (st === SlotState.ATTACHED || st === SlotState.DEAD || st === SlotState.DETACHING) n++;
    }
    if (Atomics.exchange(i32, H.ATTACHED, n) === n) return;
  }
}

/** Empty lists, slow start from 1, nothing in flight, no open transaction. */
function initSlot(i32: Int32Array, layout: HeapLayout, sw: number): void {
  const nc = layout.numClasses;
  i32.fill(0, sw + layout.slot.heads, sw + layout.slot.heads + nc);
  i32.fill(0, sw + layout.slot.lengths, sw + layout.slot.lengths + nc);
  i32.fill(1, sw + layout.slot.maxLengths, sw + layout.slot.maxLengths + nc);
  i32.fill(0, sw + layout.slot.overages, sw + layout.slot.overages + nc);
  i32[sw + S.LOG_LEN] = 0;
  i32[sw + S.TRANSIT_SPAN] = NO_SPAN;
  i32[sw + S.TRANSIT_FREE] = NO_SPAN;
  i32[sw + S.CLAIMED] = 0;
  i32.fill(NO_SPAN, sw + S.PENDING, sw + S.PENDING + PENDING_SPANS);
  i32[sw + S.CACHED_BYTES] = 0;
}

/**
 * Frees this thread's slot (its cache already returned). The probe is stopped while the
 * slot is still ours (DETACHING), so its notify wakes only our waiters, never a next
 * owner's. From then on the probe calls us dead, and a recover() racing this detach (or
 * coming after a kill right here) may take the slot over: it finds nothing left to return,
 * and the compare-exchanges decide who frees it.
 */
function releaseSlot(buffer: SharedArrayBuffer, layout: HeapLayout, slot: number, probe: Probe | undefined): void {
  const i32 = new Int32Array(buffer, 0, layout.pages >>> 2);
  const w = slotWord(layout, slot);
  if (Atomics.compareExchange(i32, w + S.STATE, SlotState.ATTACHED, SlotState.DETACHING) !== SlotState.ATTACHED) return;
  if (probe !== undefined) stopProbe(probe);
  Atomics.add(i32, H.TC_TOTAL_BYTES, -Atomics.exchange(i32, w + S.CACHED_BYTES, 0));
  Atomics.compareExchange(i32, w + S.STATE, SlotState.DETACHING, SlotState.FREE);
  resyncAttached(i32, layout);
}
