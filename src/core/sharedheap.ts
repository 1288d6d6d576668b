/**
 * SharedHeap: the public face of the allocator, one handle per (thread, heap).
 *
 * Owns: this thread's handle on a heap (its tiers: views, ThreadCache, Lock objects, built
 * by tiers.ts) and the operations' entry points: malloc/free (the fast paths live here and
 * in threadcache.ts), calloc/realloc/usableSize, the claim protocol of a free, and the
 * housekeeping calls. The other concerns are modules of their own, called from here:
 *  - options.ts: HeapOptions and their validation; format.ts: laying out a new heap
 *    (header via layout.ts writeHeader, the one writer beside the reader readLayout);
 *  - slots.ts: the thread-slot protocol (claim, release, initSlot, resyncAttached);
 *  - handles.ts: this thread's attachments (slot, tiers; strong until detached) and the
 *    handle standing for each (weak: a collected handle's slot is taken over or detached);
 *  - debug.ts: debug mode (poison, guards, allocation stacks); pointers.ts: what an
 *    offset handed to free/realloc really is;
 *  - largeblocks.ts: a large block's span, taken through the CentralCache;
 *  - check.ts, stats.ts, recovery.ts read the heap through HeapTiers, not through here.
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
import type { Lock, LockKind } from '../locks/index.js';
import type { CentralCache } from './centralcache.js';
import { checkHeap, type CheckOptions } from './check.js';
import { DEBUG_EXTRA, type DebugBlocks, type LeakReportEntry } from './debug.js';
import { DetachedHeapError, DoubleFreeError, InvalidPointerError, OutOfMemoryError } from './errors.js';
import { formatHeap } from './format.js';
import { allocateLarge, countLargeFree } from './largeblocks.js';
import { attachThread, detachAttachment, holdBy, releaseCached, type Attachment } from './handles.js';
import { Flag, MAX_BUFFER_BYTES, readHeapBuffer, S, Shadow, SP, type HeapLayout } from './layout.js';
import type { HeapMemory } from './memory.js';
import { checkSize, type HeapOptions } from './options.js';
import type { PageHeap } from './pageheap.js';
import { classifyPointer } from './pointers.js';
import { checkDeadThreadId, onceExited, recoverThread, type RecoveryReport } from './recovery.js';
import { SMALL_MAX, type SizeClassTable } from './sizeclasses.js';
import { resyncAttached } from './slots.js';
import type { SpanTable } from './span.js';
import { collectStats, type HeapStats } from './stats.js';
import { collectMemoryReport, type MemoryReport, type MemoryReportOptions } from './memreport.js';
import type { ThreadCache } from './threadcache.js';
import type { HeapTiers } from './tiers.js';
import type { Txn } from './txn.js';
import { callocAs, freeView, mallocAs, reallocAs, viewAs, type ElementType, type TypedArrayOf } from './typed.js';
import { requireBlockingThread, threadId } from './thread.js';

export { DEFAULT_LOCKS, type HeapOptions } from './options.js';
export { TooManyThreadsError } from './errors.js';
export type { LeakReportEntry } from './debug.js';

export class SharedHeap {
  readonly buffer: SharedArrayBuffer;
  /** This thread's slot in the heap (0 .. maxThreads-1). */
  readonly threadSlot: number;
  readonly layout: HeapLayout;
  readonly sizeClasses: SizeClassTable;
  /** @internal This thread's tiers: what check(), stats() and recover() read. */ readonly tiers: HeapTiers;
  /** @internal */ readonly mem: HeapMemory;
  /** @internal */ readonly spans: SpanTable;
  /** @internal */ readonly pageHeap: PageHeap;
  /** @internal */ readonly central: CentralCache;
  // `declare` (see ThreadCache): the fast paths' fields get their real type, not any.
  /** @internal */ declare readonly threadCache: ThreadCache;
  /** @internal */ readonly txn: Txn;
  /** @internal Int32 index of this thread's slot. */ readonly slotWord: number;
  private readonly globalLock: Lock;
  /**
   * The lock around a whole operation: the global lock in globalLock mode, else a NoLock.
   * Entered like every tier's lock (Txn.enter / try / finally Txn.exit), so a throw from
   * inside an operation never leaves the global lock held.
   */
  private readonly outer: Lock;
  protected declare readonly classOf: Uint8Array;
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
  /** Debug mode: guards, poison and this thread's live allocations (debug.ts). */
  private readonly debugBlocks: DebugBlocks;
  private detached = false;
  /** This thread's attachment (slot, probe, tiers): the thread's, outliving this handle if it is dropped. */
  private readonly attachment: Attachment;

  protected constructor(attachment: Attachment) {
    const tiers = attachment.tiers;
    this.attachment = attachment;
    this.tiers = tiers;
    this.buffer = attachment.buffer;
    this.layout = tiers.layout;
    this.threadSlot = attachment.slot;
    this.sizeClasses = tiers.sizeClasses;
    this.classOf = this.sizeClasses.classOf;
    this.mem = tiers.mem;
    this.slotWord = tiers.slotWord;
    this.txn = tiers.txn;
    this.spans = tiers.spans;
    this.cached = tiers.modes.threadCache;
    this.debug = (this.layout.flags & Flag.DEBUG) !== 0;
    this.zeroOnFree = (this.layout.flags & Flag.ZERO_ON_FREE) !== 0;
    this.fast = this.cached && !this.debug && !this.zeroOnFree ? 1 : 0;
    this.debugBlocks = attachment.debugBlocks;
    this.globalLock = tiers.globalLock;
    this.outer = attachment.outer;
    this.pageHeap = tiers.pageHeap;
    this.central = tiers.central;
    this.threadCache = tiers.threadCache;
  }

  /** Lays out a new heap in a fresh SharedArrayBuffer and attaches the calling thread. */
  static create(options: HeapOptions): SharedHeap {
    return SharedHeap.attach(formatHeap(options));
  }

  /**
   * Attaches the calling thread to a heap. The slot is the thread's: attaching again gives
   * the same handle, or, if the application dropped it and it was collected, a new handle
   * over the same slot and thread cache (handles.ts).
   */
  static attach(buffer: SharedArrayBuffer): SharedHeap {
    const layout = readHeapBuffer(buffer);
    requireBlockingThread();
    const { attachment, handle } = attachThread(buffer, layout);
    if (handle !== undefined) return handle as SharedHeap;
    const heap = (layout.flags & Flag.UNHARDENED) !== 0 ? new UnhardenedHeap(attachment) : new SharedHeap(attachment);
    holdBy(attachment, heap);
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
    return this.mallocSlow(n) >>> 0;
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
    this.mem.fillBytes(0, p, p + total);
    return p;
  }

  /** Resizes a block, in place when it still fits; p = 0 behaves as malloc. */
  realloc(p: number, n: number): number {
    if (p === 0) return this.malloc(n);
    checkSize(n, 'realloc size');
    const cls = this.classify(p, 'realloc');
    const usable = this.debug ? this.debugBlocks.requestedSize(p, this.blockBytes(p, cls)) : this.blockBytes(p, cls);
    // In debug mode the guard bytes sit right after the size asked for: always move.
    if (!this.debug && n <= usable && (n > usable >>> 1 || usable <= 16)) return p;
    // Claim p before allocating (a realloc racing a free of the same block): from here on a racing free
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
    if (this.debug) return this.debugBlocks.requestedSize(p, this.blockBytes(p, cls));
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
      // A freed small block is zero but for its free-list link word and its thread-cache
      // depth word (threadcache.ts); a large block's pages may have held blocks of any
      // class, links included.
      const cls = this.mem.pageClass[this.mem.pageOf(p)]!;
      if (cls > 0) {
        this.mem.u32[p >>> 2] = 0;
        this.mem.u32[(p >>> 2) + 1] = 0;
      }
      else this.mem.fillBytes(0, p, p + this.blockBytes(p, 0));
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
    let p = allocateLarge(this.tiers, this.outer, n);
    if (p === 0) {
      this.releaseCachedMemory();
      p = allocateLarge(this.tiers, this.outer, n);
    }
    if (p === 0) throw new OutOfMemoryError(n, `no run of ${Math.ceil(n / this.mem.pageSize)} free pages`);
    return p;
  }

  private allocateSmall(cls: number): number {
    if (this.cached) return this.debug ? this.threadCache.popJudged(cls) : this.threadCache.pop(cls);
    let p = 0;
    this.txn.enter(this.outer);
    try {
      p = this.threadCache.allocateUncached(cls);
    } finally {
      this.txn.exit(this.outer);
    }
    return p;
  }

  /**
   * Every free that is not the default heap's thread-cache fast path. Validation outside
   * any lock (classify) only names what p is; the free itself is won by claiming p (racing
   * frees): under the PageHeap lock for a large block, by an atomic SHADOW change
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
      countLargeFree(this.tiers);
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
      // claim that recovery settles (settleClaim in cachelists.ts).
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
      this.debugBlocks.checkGuards(p, this.blockBytes(p, cls)); // the guard bytes must be intact
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
    if (this.debug) this.debugBlocks.poison(p, this.blockBytes(p, cls)); // forget it, poison it
    else if (this.zeroOnFree) this.mem.fillBytes(0, p, p + this.blockBytes(p, cls));
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
      countLargeFree(this.tiers);
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

  // ---------------------------------------------------------------- debug mode (debug.ts)

  /** Debug allocation: a block of n + DEBUG_EXTRA bytes, armed by debug.ts. */
  private debugAllocate(n: number): number {
    const p = this.allocateBlock(n + DEBUG_EXTRA);
    const mem = this.mem;
    const cls = mem.pageClass[mem.pageOf(p)]!;
    // The depth its list gave it, judged at the pop (ThreadCache.popJudged).
    const depthWord = cls > 0 && this.cached && mem.u32[(p >>> 2) + 1] === this.threadCache.poppedDepth;
    this.debugBlocks.armBlock(p, n, this.blockBytes(p, cls), cls, depthWord);
    return p;
  }

  /**
   * Debug mode: blocks this thread allocated that are still allocated, with the stack of
   * their allocation (blocks freed by another thread are recognised by their serial).
   */
  leakReport(): LeakReportEntry[] {
    this.checkAttached();
    const mem = this.mem;
    return this.debugBlocks.leakReport((p) => this.blockBytes(p, mem.pageClass[mem.pageOf(p)]!));
  }

  /**
   * Validates p as the start of a live block; returns its size class (0: large block).
   * Throws InvalidPointerError / DoubleFreeError naming what p really is (pointers.ts).
   */
  private classify(p: number, op: string): number {
    this.checkAttached();
    return classifyPointer(this.mem, this.spans, p, op);
  }

  // ---------------------------------------------------------------- housekeeping

  /** Returns cached memory so it can be reused by any thread: own cache, transfer caches. */
  releaseCachedMemory(): void {
    this.checkAttached();
    releaseCached(this.tiers, this.outer);
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
    detachAttachment(this.attachment);
    this.fast = 0;
    this.detached = true;
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
    checkDeadThreadId(deadThreadId, threadId());
    const report = recoverThread(this.tiers, deadThreadId, exited);
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
    return onceExited(worker, (tid) => this.recoverThread(tid, true));
  }

  get isDetached(): boolean {
    return this.detached;
  }

  stats(): HeapStats {
    this.checkAttached();
    this.threadCache.flushCounters();
    return collectStats(this.tiers);
  }

  /**
   * Where the committed bytes are, in parts that sum to committedBytes exactly at
   * quiescence (memreport.ts): live blocks and their size-class rounding (pass your own
   * count of requested bytes as `requestedBytes` to split them), span tails, each cache
   * tier, free PageHeap pages below the high-water mark, metadata by region, and the bytes
   * an allocator that could return pages to the OS would release. Takes no lock.
   */
  memoryReport(options?: MemoryReportOptions): MemoryReport {
    this.checkAttached();
    this.threadCache.flushCounters();
    return collectMemoryReport(this.tiers, options);
  }

  /** Walks every invariant of the heap; throws HeapCorruptionError on the first broken one. */
  check(options?: CheckOptions): void {
    this.checkAttached();
    checkHeap(this.tiers, options);
  }

  /** @internal */ lockKinds(): { central: LockKind; pageHeap: LockKind } {
    return this.tiers.lockKinds;
  }

  /** false for a heap created with `hardening: false` (the same for every attached thread). */
  get hardening(): boolean {
    return (this.layout.flags & Flag.UNHARDENED) === 0;
  }

  /** @internal */ get modes(): { threadCache: boolean; globalLock: boolean } {
    return this.tiers.modes;
  }

  /** @internal */ globalLockHandle(): Lock {
    return this.globalLock;
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
    return this.mallocSlow(n) >>> 0;
  }

  override free(p: number): void {
    if (this.fast === 1 && typeof p === 'number' && this.threadCache.freeRaw(p)) return;
    this.freeSlow(p);
  }
}
