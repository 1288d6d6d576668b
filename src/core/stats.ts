/**
 * stats(): TCMalloc GetStats / Go MemStats for a sabmalloc heap.
 *
 * Owns nothing: it reads. Counters are owner-local on the fast path (each thread slot's
 * float64 counters, written only by its thread) and summed here, so the figures of
 * running threads are a racy but consistent-enough snapshot; central and PageHeap figures
 * are read without their locks for the same reason (stats must never stall the allocator).
 */

import { summarizeLockStats, type LockKind, type LockStatsSummary } from '../locks/index.js';
import { cachedListLength } from './cachelists.js';
import { centralWordOf, H, LOG_ENTRIES, LOG_ENTRY_WORDS, PH, S, shadowMapWords, slotF64Of, SlotState, slotWordOf, SP, SPAN_WORDS, SpanState, type HeapLayout, CC } from './layout.js';
import type { HeapMemory } from './memory.js';
import type { SizeClassTable } from './sizeclasses.js';
import type { SpanTable } from './span.js';

/** What stats() reads of a heap (tiers.ts HeapTiers provides it): no SharedHeap import. */
export interface StatsHeap {
  readonly buffer: SharedArrayBuffer;
  readonly mem: HeapMemory;
  readonly layout: HeapLayout;
  readonly sizeClasses: SizeClassTable;
  readonly spans: SpanTable;
  readonly modes: { threadCache: boolean; globalLock: boolean };
  readonly lockKinds: { central: LockKind; pageHeap: LockKind };
}

export interface SizeClassStats {
  sizeClass: number;
  size: number;
  pagesPerSpan: number;
  objectsInUse: number;
  /** Free objects of the class in thread caches, transfer caches and span free lists. */
  freeObjects: number;
  spans: number;
}

export interface TierLockStats extends LockStatsSummary {
  kind: LockKind | 'none';
}

export interface HeapStats {
  pageSize: number;
  /** Bytes of pages in the heap now. */
  heapBytes: number;
  /** Bytes of pages the heap may grow to. */
  maxHeapBytes: number;
  /**
   * What the heap has made resident: the pages up to the high-water mark of pages ever
   * handed out (touchedBytes) plus the metadata it has touched (metadataBytes). Not the
   * buffer's length (the buffer reserves maxSize) nor the commit watermark (heapBytes):
   * the OS makes a page resident when it is first written, and the heap writes no page
   * before handing it out. Freed pages stay resident (nothing is returned to the OS), so
   * this never shrinks.
   */
  committedBytes: number;
  /** Bytes of pages below the high-water mark of pages handed out (<= heapBytes). */
  touchedBytes: number;
  /**
   * Metadata bytes written (resident), in 4 KiB OS pages (see metadataTouched): the header,
   * page-heap and central blocks, the TransferCache rows reached, what has been written in
   * each thread slot, the span records, PageMap and PAGECLASS of the touched pages, and the
   * SHADOW pages marked in the SHADOW MAP. The metadata reserved for maxSize is
   * metadataReservedBytes.
   */
  metadataBytes: number;
  metadataReservedBytes: number;
  /** buffer.byteLength: the reservation (metadata + maxSize), not memory in use. */
  reservedBytes: number;
  /** Usable bytes of blocks held by the application. */
  inUseBytes: number;
  inUseObjects: number;
  pageHeapFreeBytes: number;
  centralCacheFreeBytes: number;
  transferCacheFreeBytes: number;
  threadCacheFreeBytes: number;
  /** Bytes in in-use small spans (objects of any state plus tail waste). */
  smallSpanBytes: number;
  largeObjects: number;
  largeBytes: number;
  /**
   * Every malloc and every free. Frees are counted (small ones published on each thread's
   * slow paths, stats() publishes the caller's); small mallocs are derived as frees plus
   * objects taken from the central caches minus objects cached (threadcache.ts), so
   * another attached thread's two counts both lag by the frees since its last slow path.
   */
  mallocCount: number;
  freeCount: number;
  attachedThreads: number;
  threadCacheHits: number;
  threadCacheMisses: number;
  growCount: number;
  sizeClasses: SizeClassStats[];
  pageHeapFreeSpans: { pages: number; count: number }[];
  pageHeapFreeSpanCount: number;
  locks: { central: TierLockStats; pageHeap: TierLockStats; global: TierLockStats };
}

const OS_PAGE = 4096;

/**
 * Metadata the heap has touched with `touched` pages handed out and `committed` pages in
 * the heap, in 4 KiB OS pages (a page counts once any byte of it was written): the header,
 * page-heap, global-lock and central blocks (create() writes every class's); the TRANSFER
 * rows up to the most TransferCache slots any class has had in use (slot-major, so the
 * rows above were never written); what has been written in each thread slot (slotTouched); the
 * share of each per-page region that covers the touched pages, with the record and first
 * PageMap word of the free span starting there and the PageMap word of the last committed
 * page (free spans map both ends); the SHADOW MAP words of the touched pages; and each
 * SHADOW chunk (one OS page) whose SHADOW MAP bit is set: a chunk is marked before its
 * first write (pageheap.ts), so an unmarked one was never written. Small spans write a
 * granule per object (all chunks of spans of objects < 64 KiB), a large block one.
 * Page indexes above the watermark are never written (growth finds them zero).
 */
export function metadataTouched(L: HeapLayout, i32: Int32Array, touched: number, committed: number): number {
  const r = metadataByRegion(L, i32, touched, committed);
  let sum = 0;
  for (const k of METADATA_REGIONS) sum += r[k];
  return sum;
}

/** The regions metadataByRegion() splits the metadata into, in address order. */
export const METADATA_REGIONS = ['header', 'transfer', 'slots', 'spanRecords', 'pageMap', 'pageClass', 'shadowMap', 'shadow'] as const;
export type MetadataRegion = (typeof METADATA_REGIONS)[number];

/**
 * metadataTouched() by region: each OS page is counted once, for the region of the first
 * byte counted in it (regions are added in address order), so the regions sum to the
 * total. 'header' is everything before the TRANSFER region: the header, PageHeap,
 * global-lock and central blocks.
 */
export function metadataByRegion(L: HeapLayout, i32: Int32Array, touched: number, committed: number): Record<MetadataRegion, number> {
  let rows = 0;
  for (let c = 1; c < L.numClasses; c++) rows = Math.max(rows, i32[centralWordOf(L, c) + CC.TRANSFER_HWM]!);
  // The free span starting at `touched` has its record and first PageMap word written.
  const withTail = Math.min(committed, touched + 1);
  const mapWords = Math.min(shadowMapWords(L.capacityPages, L.pageSize), shadowMapWords(touched, L.pageSize));
  const pages = new OsPageCounter();
  const out = {} as Record<MetadataRegion, number>;
  const close = (region: MetadataRegion): void => {
    out[region] = pages.take();
  };
  pages.add(0, L.transfer);
  close('header');
  pages.add(L.transfer, rows * L.numClasses * 8);
  close('transfer');
  for (let s = 0; s < L.maxThreads; s++) slotTouched(L, i32, s, pages);
  close('slots');
  pages.add(L.spans, withTail * SPAN_WORDS * 4);
  close('spanRecords');
  pages.add(L.pageMap, withTail * 4);
  if (committed > withTail) pages.add(L.pageMap + (committed - 1) * 4, 4);
  close('pageMap');
  pages.add(L.pageClass, touched);
  close('pageClass');
  pages.add(L.shadowMap, mapWords * 4);
  close('shadowMap');
  let chunks = 0;
  for (let w = L.shadowMap >>> 2, end = w + mapWords; w < end; w++) chunks += popcount(i32[w]!);
  out.shadow = chunks * OS_PAGE; // SHADOW is 4 KiB aligned: a chunk is its own page
  return out;
}

/**
 * The parts of thread slot s that have been written: what create() and each attach write
 * (the S words and the per-class list words, up to the lock node), the undo log up to the
 * last entry ever written (an entry's first word is a word index or a negative tag, never
 * 0, and entries are never cleared, so the last nonzero one is the log's high-water mark),
 * and the lock node, counters and lock statistics after the log once a thread has attached
 * (GENERATION > 0: only the attached thread writes them).
 */
function slotTouched(L: HeapLayout, i32: Int32Array, s: number, pages: OsPageCounter): void {
  const base = L.slots + s * L.slotBytes;
  const w = base >>> 2;
  const logFrom = base + L.slot.log * 4;
  const logEnd = logFrom + LOG_ENTRIES * LOG_ENTRY_WORDS * 4;
  pages.add(base, L.slot.lockNode * 4);
  const attached = i32[w + S.GENERATION]! > 0;
  if (attached) pages.add(base + L.slot.lockNode * 4, L.slot.log * 4 - L.slot.lockNode * 4);
  let entries = LOG_ENTRIES;
  while (entries > 0 && i32[w + L.slot.log + (entries - 1) * LOG_ENTRY_WORDS] === 0) entries--;
  pages.add(logFrom, entries * LOG_ENTRY_WORDS * 4);
  if (attached) pages.add(logEnd, base + L.slotBytes - logEnd);
}

/** Counts the OS pages of byte ranges added in address order, each page once. */
class OsPageCounter {
  private last = -1;
  private count = 0;
  add(from: number, bytes: number): void {
    if (bytes <= 0) return;
    const first = Math.max(Math.floor(from / OS_PAGE), this.last + 1);
    const end = Math.floor((from + bytes - 1) / OS_PAGE);
    if (end >= first) this.count += end - first + 1;
    this.last = Math.max(this.last, end);
  }
  /** Bytes of the pages counted since the last take(). */
  take(): number {
    const bytes = this.count * OS_PAGE;
    this.count = 0;
    return bytes;
  }
}

function popcount(v: number): number {
  let x = v >>> 0;
  let n = 0;
  while (x !== 0) {
    x &= x - 1;
    n++;
  }
  return n;
}

export function collectStats(heap: StatsHeap): HeapStats {
  const mem = heap.mem;
  const L = heap.layout;
  const i32 = mem.i32;
  const f64 = mem.f64;
  const table = heap.sizeClasses;
  const nc = table.count;
  const pageSize = L.pageSize;
  const committedPages = mem.committedPages();
  const touchedPages = Math.min(committedPages, i32[H.TOUCHED_PAGES]!);
  const metadata = metadataTouched(L, i32, touchedPages, committedPages);

  // Per-class sums over every slot ever used (counters outlive detach).
  let mallocCount = 0;
  let freeCount = 0;
  let largeMallocs = 0;
  const cached = new Float64Array(nc);
  let misses = 0;
  let attached = 0;
  const centralBases: number[] = [];
  const pageHeapBases: number[] = [];
  const globalBases: number[] = [];
  for (let s = 0; s < L.maxThreads; s++) {
    const w = slotWordOf(L, s);
    const f = slotF64Of(L, s);
    let slotCached = 0;
    if (Atomics.load(i32, w + S.STATE) === SlotState.ATTACHED) {
      attached++;
      for (let c = 1; c < nc; c++) {
        const n = cachedListLength(mem.u32, w + L.slot.heads + c, w + L.slot.maxLengths + c);
        cached[c]! += n;
        slotCached += n;
      }
    }
    // Small mallocs are not counted (threadcache.ts): every pop is a malloc and every push
    // a free, so they are the slot's small frees + TAKEN - its cached objects.
    const slotLargeMallocs = f64[f + L.slot.largeMallocs]!;
    const slotFrees = f64[f + L.slot.frees]!;
    mallocCount += slotFrees - f64[f + L.slot.largeFrees]! + f64[f + L.slot.taken]! - slotCached + slotLargeMallocs;
    freeCount += slotFrees;
    largeMallocs += slotLargeMallocs;
    misses += f64[f + L.slot.misses]!;
    centralBases.push(f + L.slot.centralLockStats);
    pageHeapBases.push(f + L.slot.pageHeapLockStats);
    globalBases.push(f + L.slot.globalLockStats);
  }

  const sizeClasses: SizeClassStats[] = [];
  const phWord = L.pageHeap >>> 2;
  let inUseBytes = i32[phWord + PH.LARGE_PAGES]! * pageSize;
  let inUseObjects = i32[phWord + PH.LARGE_SPANS]!;
  let centralFree = 0;
  let transferFree = 0;
  let threadFree = 0;
  let smallSpanBytes = 0;
  for (let c = 1; c < nc; c++) {
    const info = table.classes[c]!;
    const b = centralWordOf(L, c);
    const inSpans = i32[b + CC.FREE_IN_SPANS]!;
    const inTransfer = i32[b + CC.TRANSFER_OBJECTS]!;
    const spans = i32[b + CC.SPANS]!;
    // Objects out of spans, minus those on free lists: what the application holds. Derived
    // from structure, not counters, so it stays right across killed threads.
    const live = spans * info.objectsPerSpan - inSpans - inTransfer - cached[c]!;
    inUseObjects += live;
    inUseBytes += live * info.size;
    centralFree += inSpans * info.size;
    transferFree += inTransfer * info.size;
    threadFree += cached[c]! * info.size;
    smallSpanBytes += spans * info.pages * pageSize;
    sizeClasses.push({
      sizeClass: c,
      size: info.size,
      pagesPerSpan: info.pages,
      objectsInUse: live,
      freeObjects: inSpans + inTransfer + cached[c]!,
      spans,
    });
  }

  // Free spans by length, walking the PageHeap lists (racy snapshot, bounded walk).
  const byLength = new Map<number, number>();
  let freeSpanCount = 0;
  for (let k = 0; k <= 128; k++) {
    let s = i32[phWord + PH.LISTS + k]!;
    for (let guard = 0; s >= 0 && guard <= committedPages; guard++) {
      const pages = heap.spans.get(s, SP.PAGES);
      if (heap.spans.get(s, SP.STATE) !== SpanState.FREE) break;
      byLength.set(pages, (byLength.get(pages) ?? 0) + 1);
      freeSpanCount++;
      s = heap.spans.get(s, SP.NEXT);
    }
  }
  const pageHeapFreeSpans = [...byLength.entries()].sort((a, b) => a[0] - b[0]).map(([pages, count]) => ({ pages, count }));

  const kinds = heap.lockKinds;
  const global = heap.modes.globalLock;
  return {
    pageSize,
    heapBytes: committedPages * pageSize,
    maxHeapBytes: L.capacityPages * pageSize,
    committedBytes: touchedPages * pageSize + metadata,
    touchedBytes: touchedPages * pageSize,
    metadataBytes: metadata,
    metadataReservedBytes: L.pages,
    reservedBytes: heap.buffer.byteLength,
    inUseBytes,
    inUseObjects,
    pageHeapFreeBytes: i32[phWord + PH.FREE_PAGES]! * pageSize,
    centralCacheFreeBytes: centralFree,
    transferCacheFreeBytes: transferFree,
    threadCacheFreeBytes: threadFree,
    smallSpanBytes,
    largeObjects: i32[phWord + PH.LARGE_SPANS]!,
    largeBytes: i32[phWord + PH.LARGE_PAGES]! * pageSize,
    mallocCount,
    freeCount,
    attachedThreads: attached,
    threadCacheHits: heap.modes.threadCache ? mallocCount - largeMallocs - misses : 0,
    threadCacheMisses: heap.modes.threadCache ? misses : 0,
    growCount: i32[H.GROW_COUNT]!,
    sizeClasses,
    pageHeapFreeSpans,
    pageHeapFreeSpanCount: freeSpanCount,
    locks: {
      central: { kind: global ? 'none' : kinds.central, ...summarizeLockStats(f64, centralBases) },
      pageHeap: { kind: global ? 'none' : kinds.pageHeap, ...summarizeLockStats(f64, pageHeapBases) },
      global: { kind: global ? 'futex' : 'none', ...summarizeLockStats(f64, globalBases) },
    },
  };
}
