/**
 * CentralCache (TCMalloc's CentralFreeList): one per size class, the middle tier.
 *
 * Owns, under class c's central lock (a spinlock that yields, by default): c's list of
 * spans with free objects (NONEMPTY), each such span's object free list and counts, and
 * c's TransferCache. Moves objects to and from thread caches in batches.
 *
 * Invariants (checked by check()):
 * - every small span of class c has FREE_COUNT + IN_USE = objects per span, and is on
 *   NONEMPTY exactly when FREE_COUNT > 0;
 * - a span whose IN_USE drops to 0 leaves the class and goes back to the PageHeap;
 * - every object on a span free list or transfer chain has SHADOW = FREE.
 *
 * Lock order: at most one lock at a time. The central lock is dropped before calling the
 * PageHeap (to get a new span or give an empty one back), so a thread never holds two
 * central locks or a central lock and the PageHeap lock together.
 */

import type { Lock } from '../locks/lock.js';
import { HeapCorruptionError } from './errors.js';
import { CC, CENTRAL_WORDS, SP, Shadow } from './layout.js';
import type { HeapMemory } from './memory.js';
import type { PageHeap } from './pageheap.js';
import { decodeLink, encodeLink } from './safelink.js';
import type { SizeClassTable } from './sizeclasses.js';
import { NO_SPAN, type SpanTable } from './span.js';
import { TransferCache } from './transfercache.js';

export class CentralCache {
  private readonly mem: HeapMemory;
  private readonly spans: SpanTable;
  private readonly pageHeap: PageHeap;
  private readonly table: SizeClassTable;
  readonly transfer: TransferCache;
  /** locks[c]: this thread's handle on class c's central lock. */
  readonly locks: Lock[];
  private readonly centralWord: number;
  private readonly key: number;
  /** Spans emptied by one insertRange, returned to the PageHeap after the lock is dropped. */
  private readonly emptied: Int32Array;
  /** Head of the chain produced by the last removeRange(). */
  removedHead = 0;

  constructor(mem: HeapMemory, spans: SpanTable, pageHeap: PageHeap, table: SizeClassTable, locks: Lock[]) {
    this.mem = mem;
    this.spans = spans;
    this.pageHeap = pageHeap;
    this.table = table;
    this.locks = locks;
    this.transfer = new TransferCache(mem);
    this.centralWord = mem.layout.central >>> 2;
    this.key = mem.layout.key;
    this.emptied = new Int32Array(64);
  }

  /** Int32 index of class c's block (its lock block comes first). */
  classWord(cls: number): number {
    return this.centralWord + cls * CENTRAL_WORDS;
  }

  initialize(): void {
    const i32 = this.mem.i32;
    for (let c = 1; c < this.table.count; c++) {
      const b = this.classWord(c);
      i32[b + CC.NONEMPTY] = NO_SPAN;
    }
  }

  /**
   * Takes up to n objects of class cls; returns how many (0: out of memory) and leaves
   * the chain's head in `removedHead`. The chain is safe-linked and ends in 0.
   */
  removeRange(cls: number, n: number): number {
    if (this.mem.buffer.byteLength !== this.mem.u8.length) this.mem.refresh();
    const lock = this.locks[cls]!;
    lock.lock();
    if (n === this.table.batchOf[cls]) {
      const got = this.transfer.remove(cls);
      if (got > 0) {
        lock.unlock();
        this.removedHead = this.transfer.removedHead;
        return got;
      }
    }
    const b = this.classWord(cls);
    const i32 = this.mem.i32;
    const key = this.key;
    let head = 0;
    let got = 0;
    while (got < n) {
      const s = i32[b + CC.NONEMPTY]!;
      if (s === NO_SPAN) {
        lock.unlock();
        const fresh = this.populate(cls);
        lock.lock();
        if (fresh === NO_SPAN) break;
        continue;
      }
      const u32 = this.mem.u32;
      const sw = this.spans.w(s, 0);
      let obj = i32[sw + SP.FREE_HEAD]! >>> 0;
      let free = i32[sw + SP.FREE_COUNT]!;
      let take = Math.min(n - got, free);
      // Pop `take` objects off the span's list and push them onto the outgoing chain.
      while (take-- > 0) {
        const next = decodeLink(u32[obj >>> 2]!, obj, key);
        u32[obj >>> 2] = encodeLink(head, obj, key);
        head = obj;
        obj = next;
        free--;
        got++;
      }
      i32[sw + SP.FREE_HEAD] = obj;
      i32[sw + SP.IN_USE] += i32[sw + SP.FREE_COUNT]! - free;
      i32[b + CC.FREE_IN_SPANS] -= i32[sw + SP.FREE_COUNT]! - free;
      i32[sw + SP.FREE_COUNT] = free;
      if (free === 0) this.spans.listRemove(b + CC.NONEMPTY, s);
      else if (!this.isFreeObjectOf(obj, s)) {
        lock.unlock();
        throw new HeapCorruptionError(
          `free list of a class ${cls} span (page ${s}) holds a bad pointer ${obj}: a freed block was written to`,
          obj,
        );
      }
    }
    lock.unlock();
    this.removedHead = head;
    return got;
  }

  /**
   * Returns a chain of `count` objects of class cls (safe-linked, ending in 0). A whole
   * batch goes to the TransferCache when it has room (unless viaTransfer is false);
   * otherwise each object goes back to its span, and spans left with no object in use go
   * back to the PageHeap.
   */
  insertRange(cls: number, head: number, count: number, viaTransfer: boolean): void {
    if (this.mem.buffer.byteLength !== this.mem.u8.length) this.mem.refresh();
    const lock = this.locks[cls]!;
    lock.lock();
    if (viaTransfer && count === this.table.batchOf[cls] && this.transfer.insert(cls, head, count)) {
      lock.unlock();
      return;
    }
    const emptiedCount = this.releaseToSpansLocked(cls, head, count);
    lock.unlock();
    this.returnEmptiedSpans(emptiedCount);
  }

  /** Moves every TransferCache batch of every class back into spans (ReleaseFreeMemory). */
  drainTransferCaches(): void {
    for (let c = 1; c < this.table.count; c++) {
      const lock = this.locks[c]!;
      lock.lock();
      let emptiedCount = 0;
      for (let got = this.transfer.remove(c); got > 0; got = this.transfer.remove(c)) {
        emptiedCount = this.releaseToSpansLocked(c, this.transfer.removedHead, got, emptiedCount);
        if (emptiedCount >= this.emptied.length - 32) {
          lock.unlock();
          this.returnEmptiedSpans(emptiedCount);
          emptiedCount = 0;
          lock.lock();
        }
      }
      lock.unlock();
      this.returnEmptiedSpans(emptiedCount);
    }
  }

  /** Walks a chain back onto span free lists. Returns the updated count of emptied spans. */
  private releaseToSpansLocked(cls: number, head: number, count: number, emptiedCount = 0): number {
    const i32 = this.mem.i32;
    const u32 = this.mem.u32;
    const key = this.key;
    const b = this.classWord(cls);
    const spans = this.spans;
    const perSpan = this.table.classes[cls]!.objectsPerSpan;
    let obj = head;
    for (let k = 0; k < count; k++) {
      if (obj === 0 || !this.isFreeObjectOf(obj, -1)) {
        this.locks[cls]!.unlock();
        throw new HeapCorruptionError(`class ${cls} chain of ${count} objects broken after ${k}: bad pointer ${obj}`, obj);
      }
      const next = decodeLink(u32[obj >>> 2]!, obj, key);
      const s = spans.spanOfPage(this.mem.pageOf(obj));
      const sw = spans.w(s, 0);
      const free = i32[sw + SP.FREE_COUNT]!;
      u32[obj >>> 2] = encodeLink(i32[sw + SP.FREE_HEAD]! >>> 0, obj, key);
      i32[sw + SP.FREE_HEAD] = obj;
      i32[sw + SP.FREE_COUNT] = free + 1;
      i32[sw + SP.IN_USE]--;
      i32[b + CC.FREE_IN_SPANS]++;
      if (free === 0) spans.listPush(b + CC.NONEMPTY, s);
      if (free + 1 === perSpan) {
        // Nothing of this span is out any more: it leaves the class.
        spans.listRemove(b + CC.NONEMPTY, s);
        i32[b + CC.SPANS]--;
        i32[b + CC.FREE_IN_SPANS] -= perSpan;
        this.emptied[emptiedCount++] = s;
      }
      obj = next;
    }
    return emptiedCount;
  }

  private returnEmptiedSpans(count: number): void {
    for (let k = 0; k < count; k++) {
      const s = this.emptied[k]!;
      this.markObjectsFreed(s);
      this.pageHeap.deallocateSpan(s);
    }
  }

  /**
   * The span is ours alone now (no object of it is anywhere). Its object starts become
   * FREED rather than NONE, so a late second free of one of them is still reported as a
   * double free until the pages are reused.
   */
  private markObjectsFreed(s: number): void {
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
    const s = this.pageHeap.allocateSpan(info.pages, cls);
    if (s === NO_SPAN) return NO_SPAN;
    this.pageHeap.clearShadow(s, info.pages);
    // Link the objects lowest address first, so a fresh span hands out ascending addresses.
    const u32 = this.mem.u32;
    const shadow = this.mem.shadow;
    const key = this.key;
    const start = this.mem.pageAddress(s);
    const size = info.size;
    const base = this.mem.base;
    let head = 0;
    for (let k = info.objectsPerSpan - 1; k >= 0; k--) {
      const obj = start + k * size;
      u32[obj >>> 2] = encodeLink(head, obj, key);
      shadow[(obj - base) >>> 4] = Shadow.FREE;
      head = obj;
    }
    const lock = this.locks[cls]!;
    lock.lock();
    const b = this.classWord(cls);
    this.spans.set(s, SP.FREE_HEAD, head);
    this.spans.set(s, SP.FREE_COUNT, info.objectsPerSpan);
    this.spans.set(s, SP.IN_USE, 0);
    this.spans.listPush(b + CC.NONEMPTY, s);
    this.mem.i32[b + CC.SPANS]++;
    this.mem.i32[b + CC.FREE_IN_SPANS] += info.objectsPerSpan;
    lock.unlock();
    return s;
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
