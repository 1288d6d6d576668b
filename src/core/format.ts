/**
 * Formatting a new heap: the buffer, its header (layout.ts writeHeader), every thread slot
 * in its "nothing in flight" state, the lock blocks, the PageHeap's one free span and the
 * central lists; MAGIC last (sealHeader), so a half-built heap is never mistaken for one.
 *
 * Owns the buffer only until it returns it: nobody else can see it before. SharedHeap.create
 * = formatHeap + attach; unit tests (test/unit/) format small heaps and build tiers on them
 * without SharedHeap. The options are validated by options.ts before anything is allocated.
 */

import { initLockBlock } from '../locks/index.js';
import { CentralCache } from './centralcache.js';
import { bufferBytesFor, centralWordOf, Flag, HEADER_BYTES, readLayout, sealHeader, slotWordOf, writeHeader } from './layout.js';
import { HeapMemory } from './memory.js';
import { NoLock } from './nolock.js';
import { planHeap, type HeapOptions } from './options.js';
import { PageHeap } from './pageheap.js';
import { sizeClassTable } from './sizeclasses.js';
import { initSlot } from './slots.js';
import { SpanTable } from './span.js';
import { Txn } from './txn.js';

/** A new, empty heap in a fresh SharedArrayBuffer (no thread attached yet). */
export function formatHeap(options: HeapOptions): SharedArrayBuffer {
  const plan = planHeap(options);
  const { regions, pageSize, capacityPages, maxThreads } = plan;
  // One plain SharedArrayBuffer reserves the whole heap (metadata + maxSize); a growable
  // heap raises its commit watermark inside it (PageHeap.growLocked). Linux makes a page
  // resident only when it is first touched, so the reservation costs address space, not
  // memory. A plain buffer, never a growable one: typed arrays over a growable buffer
  // are length-tracking, several times slower in V8 11 (Node 20), and they slow each
  // other down across threads; with a plain buffer `new Uint8Array(heap.buffer)` is a
  // normal view and no view ever goes stale.
  const buffer = new SharedArrayBuffer(bufferBytesFor(regions, pageSize, capacityPages));
  const i32 = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
  const random = new Uint32Array(3);
  globalThis.crypto.getRandomValues(random);
  // Key 0 means plain links (safelink.ts): only a `hardening: false` heap has it.
  const key = (plan.flags & Flag.UNHARDENED) !== 0 ? 0 : random[0]! | 1;
  writeHeader(i32, { ...plan, key, heapIdLo: random[1]!, heapIdHi: random[2]! });
  const layout = readLayout(i32);
  const all = new Int32Array(buffer, 0, regions.pages >>> 2);
  // Every slot starts in the "nothing in flight" state, claimed or not.
  for (let s = 0; s < maxThreads; s++) initSlot(all, layout, slotWordOf(layout, s));
  // Lock blocks: zeroed by the fresh buffer; initLockBlock states the requirement.
  initLockBlock(all, layout.pageHeap >>> 2);
  initLockBlock(all, layout.globalLock >>> 2);
  const table = sizeClassTable(pageSize);
  for (let c = 1; c < table.count; c++) initLockBlock(all, centralWordOf(layout, c));
  const mem = new HeapMemory(buffer, layout);
  const txn = new Txn(mem, slotWordOf(layout, 0), layout.slot.log); // slot 0's log, committed at once
  const spans = new SpanTable(mem, txn);
  const pageHeap = new PageHeap(mem, spans, new NoLock(), txn);
  pageHeap.initialize();
  new CentralCache(mem, spans, pageHeap, table, [], txn, slotWordOf(layout, 0)).initialize();
  sealHeader(i32);
  return buffer;
}
