/**
 * The shared memory layout: the one place that says where everything lives in the
 * SharedArrayBuffer. Every other module reads offsets from here (via HeapLayout) and never
 * computes one on its own.
 *
 * It also holds the one header writer (writeHeader, used by create()) beside the one header
 * reader (readLayout), and the accessors of per-slot and per-class words (slotWordOf,
 * slotF64Of, centralWordOf): nothing else spells out a slot base or a class stride.
 *
 * The buffer is "physical memory". Pointers handed to the application are byte offsets
 * into it (plain numbers, 16-byte aligned, < 2^32; arithmetic uses `>>>` and `-`, never
 * signed `>>` or `|`, so offsets above 2 GiB stay correct).
 *
 *  byte offset            region            contents
 *  ---------------------  ----------------  --------------------------------------------------
 *  0                      HEADER (4 KiB)    Int32 words, see `H` below
 *  regionOff.pageHeap     PAGEHEAP          lock block (64 B), then PH_* words, then free-list
 *                                           heads: word PH_LISTS + n for spans of n pages
 *                                           (1..MAX_PAGES_LIST), PH_LISTS + 0 = spans longer
 *                                           than that (best fit)
 *  regionOff.globalLock   GLOBAL LOCK       lock block used only by the globalLock baseline
 *  regionOff.central      CENTRAL           per size class c (CENTRAL_WORDS words each):
 *                                           lock block, then CC_* words
 *  regionOff.transfer     TRANSFER          the TransferCaches: TRANSFER_SLOTS rows, row k =
 *                                           slot k (head, count) of every class in turn
 *                                           (slot-major: rows nobody used are never written)
 *  regionOff.slots        THREAD SLOTS      per thread slot (slotBytes each), see `S` below
 *  regionOff.spans        SPAN RECORDS      SPAN_WORDS Int32 words per page index; the record
 *                                           of a span lives at its first page's index
 *  regionOff.pageMap      PAGEMAP           Int32 per page index -> first page index of the
 *                                           span containing it (all pages of in-use spans,
 *                                           first and last page of free spans)
 *  regionOff.pageClass    PAGECLASS         Uint8 per page index -> size class of the in-use
 *                                           small span holding it, 0 otherwise
 *  regionOff.shadowMap    SHADOW MAP        1 bit per SHADOW chunk (4 KiB of SHADOW = 64 KiB of
 *                                           pages): set before any byte of the chunk is first
 *                                           written, never cleared (see SHADOW_CHUNK_SHIFT)
 *  regionOff.shadow       SHADOW (4 KiB     Uint8 per 16-byte granule of the pages region:
 *                         aligned)          block state at each block start (`Shadow`)
 *  pagesOff (page aligned) PAGES            the heap proper: capacityPages pages reserved
 *                                           (the buffer ends here); the first committedPages
 *                                           (the commit watermark) are in the heap, the rest
 *                                           are untouched, so not resident, until growth
 *                                           raises the watermark
 *
 * "Page index" i means the page at byte pagesOff + i * pageSize.
 * Lock blocks are LOCK_WORDS words (64 bytes), so no two locks share a cache line.
 *
 * Ownership (who may write what):
 * - HEADER: written once by create(); afterwards H.COMMITTED_PAGES, H.TOUCHED_PAGES,
 *   H.GROW_COUNT by the PageHeap lock holder; H.ATTACHED, H.TC_TOTAL_BYTES with Atomics.
 * - PAGEHEAP words, span records of free spans, PAGEMAP, PAGECLASS, SHADOW of free spans:
 *   PageHeap lock holder.
 * - CENTRAL words of class c, TransferCache slots of c (TRANSFER region), span records of c's spans
 *   (free-list head, free count, list links): class c's central lock holder.
 * - THREAD SLOT s: the thread attached to slot s (plain stores, no atomics); others read it
 *   only for statistics, check() and recovery of a dead thread. S.STATE with Atomics.
 *   The depth words of its cached objects (the second word of each FREE object on its
 *   lists, threadcache.ts) are its too. Its undo log records the old value of every word the thread changes while it holds a
 *   lock (txn.ts), so a thread that dies inside a critical section can be rolled back.
 * - SHADOW of a small block: whoever owns the block (the application thread that holds it
 *   allocated, or the cache tier that holds it free).
 * - SHADOW MAP: set-only bits (Atomics.or) by whoever is about to write a SHADOW chunk for
 *   the first time (PageHeap carve of a large span, CentralCache populate); a chunk whose bit
 *   is clear has never been written, so it is all NONE and not resident.
 */

import { LOCK_NODE_WORDS, LOCK_STAT_SLOTS, LOCK_WORDS, tierLockFromCode, tierLockRefusal } from '../locks/lock.js';
import { InvalidHeapError } from './errors.js';
import { sizeClassTable } from './sizeclasses.js';

export const MAGIC = 0x4d424153; // 'SABM'
/** 5: with 4 KiB pages, the size classes of objects below 4 KiB have spans of whole 8 KiB
 * units (the table is regenerated from the page size, so an older build would read the
 * same heap with other span shapes).
 * 4: no LENGTHS words in a thread slot (a cached list's length is its head's depth word,
 * threadcache.ts), the slot's MALLOCS counter replaced by TAKEN.
 * 3: a SHADOW MAP region (bits of SHADOW chunks ever written) and a 4 KiB aligned SHADOW;
 * the TransferCache slots in their own slot-major TRANSFER region (CC.TRANSFER_HWM).
 * 2: the buffer is a plain SharedArrayBuffer reserving every page up to CAPACITY_PAGES;
 * COMMITTED_PAGES is the commit watermark inside it, TOUCHED_PAGES the high-water mark of
 * pages handed out (1: a growable buffer of exactly the committed pages). */
export const LAYOUT_VERSION = 5;
/**
 * SHADOW chunk = 2^12 granules = 4 KiB of SHADOW (one OS page, the region being 4 KiB
 * aligned) = 64 KiB of pages. The SHADOW MAP keeps one bit per chunk so that stats() can
 * count the SHADOW that has really been written (a large block writes one granule of its
 * chunks, not 1/16 of its pages) and clearShadow() can skip chunks never written.
 */
export const SHADOW_CHUNK_SHIFT = 12;
export const HEADER_BYTES = 4096;

/** Header words (Int32 indexes). */
export const H = {
  MAGIC: 0,
  VERSION: 1,
  PAGE_SIZE: 2,
  PAGE_SHIFT: 3,
  CAPACITY_PAGES: 4, // pages the metadata and the buffer are sized for (max heap)
  COMMITTED_PAGES: 5, // commit watermark: pages in the heap now (<= CAPACITY_PAGES)
  MAX_THREADS: 6,
  NUM_CLASSES: 7,
  FLAGS: 8,
  CENTRAL_LOCK_KIND: 9,
  PAGEHEAP_LOCK_KIND: 10,
  KEY: 11, // safe-linking key
  HEAP_ID_LO: 12,
  HEAP_ID_HI: 13,
  PAGES_OFF: 14,
  PAGEHEAP_OFF: 15,
  GLOBAL_LOCK_OFF: 16,
  CENTRAL_OFF: 17,
  SLOTS_OFF: 18,
  SLOT_BYTES: 19,
  SPANS_OFF: 20,
  PAGEMAP_OFF: 21,
  PAGECLASS_OFF: 22,
  SHADOW_OFF: 23,
  ATTACHED: 24, // attached thread count (Atomics)
  TC_TOTAL_BYTES: 25, // bytes cached in all thread caches, published on slow paths (Atomics)
  TC_TOTAL_BUDGET: 26,
  TC_THREAD_BUDGET: 27,
  GROW_COUNT: 28,
  CENTRAL_WORDS: 29,
  SLOT_SEQ: 30, // round-robin hint for slot search (Atomics)
  PROBE: 31, // bumped by attach() to tell a heap from a byte copy of it (Atomics)
  TOUCHED_PAGES: 32, // high-water mark: 1 + the last page index ever handed out (<= COMMITTED_PAGES)
  SHADOW_MAP_OFF: 33,
  TRANSFER_OFF: 34,
} as const;

export const Flag = {
  THREAD_CACHE: 1,
  GLOBAL_LOCK: 2,
  DEBUG: 4,
  ZERO_ON_FREE: 8,
  GROWABLE: 16,
  UNHARDENED: 32, // hardening: false: plain free-list links (KEY = 0), fast paths without validation
} as const;

/** Block state in the SHADOW byte of a block's first granule. */
// A const enum: tsc inlines the values, so the fast paths compare against literals.
export const enum Shadow {
  NONE = 0, // not the start of a block (interior, free pages, metadata)
  ALLOCATED = 1, // held by the application
  FREE = 2, // small block held free by a ThreadCache, TransferCache or span free list
  FREED = 3, // start of a block already freed whose memory went back to the PageHeap (double-free reports)
}

/** PageHeap words, relative to the region's first word (after the lock block). */
export const PH = {
  FREE_PAGES: LOCK_WORDS + 0,
  FREE_SPANS: LOCK_WORDS + 1,
  LARGE_SPANS: LOCK_WORDS + 2, // in-use large spans
  LARGE_PAGES: LOCK_WORDS + 3,
  SMALL_SPANS: LOCK_WORDS + 4, // in-use small-object spans
  SMALL_PAGES: LOCK_WORDS + 5,
  // Event counters for introspection (introspect.ts): bumped with plain stores by the lock
  // holder on slow paths only, never logged (a rolled-back section leaves an over-count).
  EV_CARVES: LOCK_WORDS + 6, // spans handed out (small or large)
  EV_RETURNS: LOCK_WORDS + 7, // spans taken back
  EV_COALESCES: LOCK_WORDS + 8, // merges of a freed span with a free neighbour (growth included)
  LISTS: LOCK_WORDS + 16, // + n: head of the free list of spans of n pages (0: longer)
} as const;
/** Exact-length free lists cover 1..MAX_PAGES_LIST pages; longer spans are best fit. */
export const MAX_PAGES_LIST = 128;
export const PAGEHEAP_WORDS = PH.LISTS + MAX_PAGES_LIST + 1;

/** CentralCache words of one class, relative to the class block's first word. */
export const CC = {
  NONEMPTY: LOCK_WORDS + 0, // head of the list of c's spans with free objects (-1: none)
  SPANS: LOCK_WORDS + 1, // spans owned by c
  FREE_IN_SPANS: LOCK_WORDS + 2, // objects on span free lists
  TRANSFER_USED: LOCK_WORDS + 3, // TransferCache slots in use
  TRANSFER_OBJECTS: LOCK_WORDS + 4,
  // Most TransferCache slots ever in use at once: rows of the TRANSFER region up to the
  // largest of these were written (stats() counts them); set-only, outside the undo log.
  TRANSFER_HWM: LOCK_WORDS + 5,
  // Event counters for introspection (introspect.ts): bumped with plain stores by the class
  // lock holder on slow paths only, never logged (a rolled-back section over-counts).
  EV_REFILLS: LOCK_WORDS + 6, // sections that handed objects to a thread cache
  EV_TRANSFER_HITS: LOCK_WORDS + 7, // ... of which a whole batch came from the TransferCache
  EV_RELEASES: LOCK_WORDS + 8, // sections that took objects back from a thread cache
  EV_TRANSFER_INSERTS: LOCK_WORDS + 9, // ... of which a whole batch went into the TransferCache
  EV_POPULATES: LOCK_WORDS + 10, // fresh spans from the PageHeap carved into objects and linked
  EV_SPANS_EMPTIED: LOCK_WORDS + 11, // spans that left the class for the PageHeap
} as const;
export const TRANSFER_SLOTS = 64;
export const CENTRAL_WORDS = LOCK_WORDS + 16;

/** Int32 index of TransferCache slot k of class cls: (head, count) at this word and the next. */
export function transferWordOf(layout: RegionOffsets & { numClasses: number }, cls: number, k: number): number {
  return (layout.transfer >>> 2) + 2 * (k * layout.numClasses + cls);
}

/** Span record words (Int32), at SPAN_WORDS * pageIndex in the SPAN RECORDS region. */
export const SP = {
  PAGES: 0, // length in pages; 0: this page index starts no span
  STATE: 1, // SpanState
  CLASS: 2, // size class of a small span
  PREV: 3, // list links (page indexes, -1 = none): PageHeap free list or central nonempty list
  NEXT: 4,
  FREE_HEAD: 5, // small span: head of its object free list (pointer, safe-linked)
  FREE_COUNT: 6, // small span: objects on that list
  IN_USE: 7, // small span: objects handed out of the span (to caches or the application)
} as const;
export const SPAN_WORDS = 8;

export const SpanState = {
  NONE: 0,
  FREE: 1,
  SMALL: 2,
  LARGE: 3,
} as const;

/**
 * Thread slot: Int32 words at the slot's first word, then float64 counters.
 * The thread-cache lists are structure-of-arrays so the fast path touches one word each.
 */
export const S = {
  STATE: 0, // SlotState (Atomics)
  THREAD_ID: 1, // worker_threads threadId of the attached thread
  GENERATION: 2, // bumped at each attach
  CACHED_BYTES: 3, // capacity of this thread cache, published on slow paths
  MAX_BYTES: 4, // this thread's current budget
  LOG_LEN: 5, // entries in this thread's undo log (0 outside a critical section)
  TRANSIT_SPAN: 6, // span taken from the PageHeap, not yet linked into a class / handed out (-1: none)
  TRANSIT_FREE: 7, // large span being freed, not yet back in the PageHeap (-1: none)
  ALIVE: 12, // liveness probe (liveness.ts): the attached thread's waiters wait here; stays 0
  PROBES: 13, // probes made (each reserves one waiter)
  ACKED: 14, // waiters re-armed by the thread after a probe woke them
  CLAIMED: 15, // small block this thread's free/realloc claimed (SHADOW FREED), not yet on a list (0: none)
  PENDING: 16, // PENDING_SPANS words: spans emptied by a central operation, on their way to the PageHeap (-1: none)
  // HEADS, MAX_LENGTHS, OVERAGES, the lock node and the undo log follow at
  // slot-relative offsets from slotLayout().
} as const;
export const PENDING_SPANS = 64;
/** Undo-log capacity (entries of LOG_ENTRY_WORDS words) per thread slot. */
export const LOG_ENTRIES = 640;
export const LOG_ENTRY_WORDS = 3;

export const SlotState = {
  FREE: 0,
  ATTACHED: 1,
  DEAD: 2, // being recovered
  // detach() after its cache went back: its probe is stopped, so recover() may take the slot
  // over (a killed detach); whichever of the two moves it on by compare-exchange wins.
  DETACHING: 3,
} as const;

/** State word of a slot being claimed by thread `tid` (negative: never a SlotState). */
export function claimingState(tid: number): number {
  return -(tid + 1);
}

/** Int32 index of thread slot `slot`'s first word (its S words follow). */
export function slotWordOf(layout: RegionOffsets, slot: number): number {
  return (layout.slots + slot * layout.slotBytes) >>> 2;
}

/** Int32 index of lock owner `ownerId`'s queue node (owner ids are slot + 1). */
export function lockNodeWordOf(layout: HeapLayout, ownerId: number): number {
  return slotWordOf(layout, ownerId - 1) + layout.slot.lockNode;
}

/** Float64 index of thread slot `slot`'s first 8 bytes (add layout.slot.frees etc.). */
export function slotF64Of(layout: RegionOffsets, slot: number): number {
  return (layout.slots + slot * layout.slotBytes) >>> 3;
}

/** Int32 index of size class cls's central block: its lock block, CC words, TransferCache. */
export function centralWordOf(layout: RegionOffsets, cls: number): number {
  return (layout.central >>> 2) + cls * CENTRAL_WORDS;
}

export interface SlotLayout {
  /** Int32 word offsets inside a slot. */
  readonly heads: number;
  readonly maxLengths: number;
  readonly overages: number;
  readonly lockNode: number;
  readonly log: number;
  /** Float64 counters inside a slot (float64 index from the slot start); statistics only. */
  // Objects moved from the central cache onto this slot's lists minus objects moved back
  // (written on slow paths and by recovery). The slot's small mallocs are not counted: they
  // are its small frees + TAKEN - the objects on its lists (every pop is a malloc, every
  // push a free), which stats() and recovery derive.
  readonly taken: number;
  readonly frees: number; // every free (small counts are published on slow paths)
  readonly largeMallocs: number;
  readonly largeFrees: number;
  readonly misses: number; // thread-cache misses (fetches from central)
  readonly centralLockStats: number;
  readonly pageHeapLockStats: number;
  readonly globalLockStats: number;
  readonly bytes: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export function slotLayout(numClasses: number): SlotLayout {
  const nc = align(numClasses, 16);
  let w: number = S.PENDING + PENDING_SPANS;
  const heads = w;
  w += nc;
  const maxLengths = w;
  w += nc;
  const overages = w;
  w += nc;
  const lockNode = align(w, 16);
  w = lockNode + LOCK_NODE_WORDS;
  const log = w;
  w += LOG_ENTRIES * LOG_ENTRY_WORDS;
  let f = align(w, 16) / 2; // float64 index
  const taken = f++;
  const frees = f++;
  const largeMallocs = f++;
  const largeFrees = f++;
  const misses = f++;
  f = align(f, 8);
  const centralLockStats = f;
  f += align(LOCK_STAT_SLOTS, 8);
  const pageHeapLockStats = f;
  f += align(LOCK_STAT_SLOTS, 8);
  const globalLockStats = f;
  f += align(LOCK_STAT_SLOTS, 8);
  return {
    heads,
    maxLengths,
    overages,
    lockNode,
    log,
    taken,
    frees,
    largeMallocs,
    largeFrees,
    misses,
    centralLockStats,
    pageHeapLockStats,
    globalLockStats,
    // An odd multiple of 64 bytes: consecutive slots then start at 64 different offsets in
    // a page, so the slot heads create() writes touch 1 + head / 4096 pages on average (a
    // multiple of 2 KiB put every other head across a page boundary).
    bytes: (align(f * 8, 128) + 64),
  };
}

export interface Geometry {
  pageSize: number;
  pageShift: number;
  capacityPages: number;
  committedPages: number;
  maxThreads: number;
  numClasses: number;
}

export interface RegionOffsets {
  pageHeap: number;
  globalLock: number;
  central: number;
  transfer: number;
  slots: number;
  slotBytes: number;
  spans: number;
  pageMap: number;
  pageClass: number;
  shadowMap: number;
  shadow: number;
  pages: number;
}

/** Computes the byte offset of every region for a geometry (create() writes them to the header). */
export function computeRegions(g: Geometry): RegionOffsets {
  let off = HEADER_BYTES;
  const take = (bytes: number): number => {
    const at = off;
    off = align(off + bytes, 64);
    return at;
  };
  const pageHeap = take(PAGEHEAP_WORDS * 4);
  const globalLock = take(LOCK_WORDS * 4);
  const central = take(g.numClasses * CENTRAL_WORDS * 4);
  const transfer = take(TRANSFER_SLOTS * g.numClasses * 2 * 4);
  const slotBytes = slotLayout(g.numClasses).bytes;
  const slots = take(g.maxThreads * slotBytes);
  const spans = take(g.capacityPages * SPAN_WORDS * 4);
  const pageMap = take(g.capacityPages * 4);
  const pageClass = take(g.capacityPages);
  const shadowMap = take(shadowMapWords(g.capacityPages, g.pageSize) * 4);
  off = align(off, 4096);
  const shadow = take((g.capacityPages * g.pageSize) / 16);
  const pages = align(off, g.pageSize);
  return { pageHeap, globalLock, central, transfer, slots, slotBytes, spans, pageMap, pageClass, shadowMap, shadow, pages };
}

/** Int32 words of the SHADOW MAP for a heap of capacityPages pages. */
export function shadowMapWords(capacityPages: number, pageSize: number): number {
  const chunks = Math.ceil((capacityPages * pageSize) / 16 / 2 ** SHADOW_CHUNK_SHIFT);
  return Math.ceil(chunks / 32);
}

/** Everything a thread needs to find its way in a heap, read back from the header. */
export interface HeapLayout extends Geometry, RegionOffsets {
  flags: number;
  key: number;
  slot: SlotLayout;
}

/**
 * Reads the header back into a HeapLayout, validating every word before anything is built
 * from it (a page size of 0 would make the size-class table loop forever, a wrong offset
 * would point views anywhere). Throws InvalidHeapError naming the first bad word.
 * The buffer (i32's) must reserve every page up to CAPACITY_PAGES (memory.ts): growth
 * only moves the COMMITTED_PAGES watermark inside it.
 */
export function readLayout(i32: Int32Array): HeapLayout {
  const bad = (why: string): never => {
    throw new InvalidHeapError(why);
  };
  const word = (name: keyof typeof H, min: number, max: number): number => {
    const v = name === 'COMMITTED_PAGES' ? Atomics.load(i32, H[name]) : i32[H[name]]!;
    if (!(v >= min && v <= max)) bad(`header word ${name} = ${v} is out of range (${min} .. ${max})`);
    return v;
  };
  const pageSize = word('PAGE_SIZE', 4096, 65536);
  if ((pageSize & (pageSize - 1)) !== 0) bad(`header word PAGE_SIZE = ${pageSize} is not a power of two`);
  const pageShift = word('PAGE_SHIFT', 12, 16);
  if (pageSize !== 1 << pageShift) bad(`page size / size-class geometry in the header does not match: PAGE_SIZE = ${pageSize}, PAGE_SHIFT = ${pageShift}`);
  const capacityPages = word('CAPACITY_PAGES', 1, Math.floor(MAX_BUFFER_BYTES / pageSize));
  const committedPages = word('COMMITTED_PAGES', 1, capacityPages);
  const maxThreads = word('MAX_THREADS', 1, MAX_THREADS);
  const numClasses = sizeClassTable(pageSize).count;
  word('NUM_CLASSES', numClasses, numClasses);
  const flags = word('FLAGS', 0, Flag.THREAD_CACHE | Flag.GLOBAL_LOCK | Flag.DEBUG | Flag.ZERO_ON_FREE | Flag.GROWABLE | Flag.UNHARDENED);
  if ((flags & Flag.THREAD_CACHE) !== 0 && (flags & Flag.GLOBAL_LOCK) !== 0) bad('header FLAGS ask for thread caches and a global lock at once');
  for (const name of ['CENTRAL_LOCK_KIND', 'PAGEHEAP_LOCK_KIND'] as const) {
    const spec = tierLockFromCode(i32[H[name]]!);
    if (spec === undefined || tierLockRefusal(spec.kind) !== undefined) bad(`header word ${name} = ${i32[H[name]]} names no tier lock kind`);
  }
  const key = i32[H.KEY]! | 0; // signed: a small integer for the JIT, the same bits for XOR
  if ((flags & Flag.UNHARDENED) !== 0) {
    if (key !== 0) bad('link key and hardening flag disagree (key 0 is for hardening: false only)');
  } else if ((key & 1) === 0) {
    bad(key === 0 ? 'link key and hardening flag disagree (key 0 is for hardening: false only)' : 'header word KEY is even (a safe-linking key is always odd)');
  }
  word('CENTRAL_WORDS', CENTRAL_WORDS, CENTRAL_WORDS);
  word('TC_TOTAL_BUDGET', 0, 0x7fffffff);
  word('TC_THREAD_BUDGET', 0, 0x7fffffff);
  const expected = computeRegions({ pageSize, pageShift, capacityPages, committedPages, maxThreads, numClasses });
  const offsets: [keyof RegionOffsets, keyof typeof H][] = [
    ['pages', 'PAGES_OFF'],
    ['pageHeap', 'PAGEHEAP_OFF'],
    ['globalLock', 'GLOBAL_LOCK_OFF'],
    ['central', 'CENTRAL_OFF'],
    ['transfer', 'TRANSFER_OFF'],
    ['slots', 'SLOTS_OFF'],
    ['slotBytes', 'SLOT_BYTES'],
    ['spans', 'SPANS_OFF'],
    ['pageMap', 'PAGEMAP_OFF'],
    ['pageClass', 'PAGECLASS_OFF'],
    ['shadowMap', 'SHADOW_MAP_OFF'],
    ['shadow', 'SHADOW_OFF'],
  ];
  for (const [region, name] of offsets) {
    if (i32[H[name]] !== expected[region]) bad(`region offset ${region} does not match the geometry: header word ${name} = ${i32[H[name]]}, expected ${expected[region]}`);
  }
  // Bounded by the capacity, not by committedPages: both watermarks only rise, and a grow
  // plus a carve by another thread between the two reads can show TOUCHED_PAGES above the
  // COMMITTED_PAGES read earlier (an attach during growth failed on that).
  word('TOUCHED_PAGES', 0, capacityPages);
  const needed = bufferBytesFor(expected, pageSize, capacityPages);
  const byteLength = i32.buffer.byteLength;
  if (byteLength < needed) bad(`buffer holds ${byteLength} bytes, the heap needs ${needed} (truncated?)`);
  return {
    pageSize,
    pageShift,
    capacityPages,
    committedPages,
    maxThreads,
    numClasses,
    flags,
    key,
    ...expected,
    slot: slotLayout(numClasses),
  };
}

/** What create() decides; writeHeader() turns it into header words. */
export interface HeaderFields extends Geometry {
  regions: RegionOffsets;
  flags: number;
  centralLockKind: number;
  pageHeapLockKind: number;
  /** Safe-linking key (odd). */
  key: number;
  heapIdLo: number;
  heapIdHi: number;
  tcTotalBudget: number;
  tcThreadBudget: number;
}

/**
 * The one header writer: every word readLayout() reads, except MAGIC, which the creator
 * stores (Atomics) only once the heap is fully built (sealHeader), so a half-built heap is
 * never mistaken for a heap. Runs on a fresh, unshared buffer.
 */
export function writeHeader(i32: Int32Array, f: HeaderFields): void {
  const r = f.regions;
  i32[H.VERSION] = LAYOUT_VERSION;
  i32[H.PAGE_SIZE] = f.pageSize;
  i32[H.PAGE_SHIFT] = f.pageShift;
  i32[H.CAPACITY_PAGES] = f.capacityPages;
  i32[H.COMMITTED_PAGES] = f.committedPages;
  i32[H.MAX_THREADS] = f.maxThreads;
  i32[H.NUM_CLASSES] = f.numClasses;
  i32[H.FLAGS] = f.flags;
  i32[H.CENTRAL_LOCK_KIND] = f.centralLockKind;
  i32[H.PAGEHEAP_LOCK_KIND] = f.pageHeapLockKind;
  i32[H.KEY] = f.key;
  i32[H.HEAP_ID_LO] = f.heapIdLo;
  i32[H.HEAP_ID_HI] = f.heapIdHi;
  i32[H.PAGES_OFF] = r.pages;
  i32[H.PAGEHEAP_OFF] = r.pageHeap;
  i32[H.GLOBAL_LOCK_OFF] = r.globalLock;
  i32[H.CENTRAL_OFF] = r.central;
  i32[H.TRANSFER_OFF] = r.transfer;
  i32[H.SLOTS_OFF] = r.slots;
  i32[H.SLOT_BYTES] = r.slotBytes;
  i32[H.SPANS_OFF] = r.spans;
  i32[H.PAGEMAP_OFF] = r.pageMap;
  i32[H.PAGECLASS_OFF] = r.pageClass;
  i32[H.SHADOW_MAP_OFF] = r.shadowMap;
  i32[H.SHADOW_OFF] = r.shadow;
  i32[H.CENTRAL_WORDS] = CENTRAL_WORDS;
  i32[H.TC_TOTAL_BUDGET] = f.tcTotalBudget;
  i32[H.TC_THREAD_BUDGET] = f.tcThreadBudget;
}

/** Publishes a fully built heap: attach() accepts a buffer only once MAGIC is there. */
export function sealHeader(i32: Int32Array): void {
  Atomics.store(i32, H.MAGIC, MAGIC);
}

/** Reads and checks the header of a buffer handed to attach(): magic, version, then readLayout. */
export function readHeapBuffer(buffer: SharedArrayBuffer): HeapLayout {
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

/** Most thread slots a heap may have (create() refuses more). */
export const MAX_THREADS = 4096;

/** Bytes of metadata plus `pages` pages (the buffer holds capacityPages). */
export function bufferBytesFor(regions: RegionOffsets, pageSize: number, pages: number): number {
  return regions.pages + pages * pageSize;
}

export const MAX_BUFFER_BYTES = 2 ** 32;
