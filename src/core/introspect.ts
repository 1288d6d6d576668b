/**
 * Introspection: a read-only picture of a heap's tiers, taken straight from its
 * SharedArrayBuffer without attaching (so a browser's main thread, which may not block,
 * can take it too). For teaching and for the web lab: which spans exist and in what state,
 * what each size class holds in each tier, what each thread cache holds, the tiers' event
 * counters, and who holds or waits for each tier lock.
 *
 * Owns nothing and writes nothing. Costs nothing on malloc/free: it reads words the tiers
 * keep anyway, plus the CC.EV_* and PH.EV_* event counters (layout.ts), which the lock
 * holders bump on slow paths only.
 *
 * Taken while other threads run, the picture is racy (no lock is taken, by design: a
 * picture must never stall the allocator): a span being split or merged can show a length
 * that does not tile, and is then reported as `unknown` pages rather than guessed; lists
 * walked under another thread's feet are followed only through objects that look like
 * free objects of their class, and for at most the length they can have. Taken by the only
 * attached thread, or with every thread detached, it is exact.
 */

import { holderOf, type LockKind } from '../locks/index.js';
import { lockKindFromCode, LockNode, LockStat } from '../locks/lock.js';
import { CC, centralWordOf, Flag, H, HEADER_BYTES, PH, readLayout, S, Shadow, slotF64Of, SlotState, slotWordOf, SP, SPAN_WORDS, SpanState, transferWordOf, type HeapLayout } from './layout.js';
import { decodeLink } from './safelink.js';
import { sizeClassTable } from './sizeclasses.js';
import { cachedListLength } from './cachelists.js';

/** State of one span as the tiers see it. */
export type SpanKind =
  /** small span whose objects are all out of it (in thread caches, transfer batches or held by the application) */
  | 'in-use'
  /** small span on its class's central list: it has free objects on its own free list */
  | 'central'
  /** small span some of whose free objects sit in a TransferCache batch */
  | 'transfer'
  /** free pages in the PageHeap */
  | 'free'
  /** one large object (more than 256 KiB), served by the PageHeap directly */
  | 'large';

export interface SpanView {
  /** first page index (pages counted from the heap's first page) */
  start: number;
  pages: number;
  kind: SpanKind;
  /** size class of a small span, 0 otherwise */
  sizeClass: number;
  objectSize: number;
  objectsPerSpan: number;
  /** objects on the span's own free list (central tier) */
  freeInSpan: number;
  /** objects handed out of the span: to thread caches, transfer batches or the application */
  outOfSpan: number;
  /** of those, objects found in TransferCache batches */
  inTransfer: number;
  /** of those, objects found on thread-cache lists */
  inThreadCaches: number;
  /** of those, held by the application (outOfSpan - inTransfer - inThreadCaches) */
  heldByApp: number;
}

export interface ClassView {
  sizeClass: number;
  size: number;
  pagesPerSpan: number;
  objectsPerSpan: number;
  batch: number;
  spans: number;
  /** spans on the central nonempty list */
  spansWithFree: number;
  freeInSpans: number;
  transferBatches: number;
  transferObjects: number;
  /** objects on every attached thread's list of this class */
  threadCacheObjects: number;
  /** objects held by the application: spans * objectsPerSpan minus every free object */
  inUse: number;
  events: { refills: number; transferHits: number; releases: number; transferInserts: number; populates: number; spansEmptied: number };
}

export interface ThreadView {
  slot: number;
  threadId: number;
  /** per size class (index = class): objects on this thread's list */
  listLengths: number[];
  /** per size class: the list's current max length (slow start) */
  maxLengths: number[];
  cachedBytes: number;
  /** counters (frees are published on the thread's slow paths, so they lag) */
  misses: number;
  taken: number;
  frees: number;
  largeMallocs: number;
  largeFrees: number;
  /** small mallocs served by the thread cache without a central refill (derived) */
  threadCacheHits: number;
  /** lock acquisitions by this thread, per tier */
  lockAcquisitions: { central: number; pageHeap: number; global: number };
}

export interface LockView {
  tier: 'pageHeap' | 'central' | 'global';
  /** size class of a central lock */
  sizeClass?: number;
  kind: LockKind;
  /** thread id of the holder, 0 if free */
  holderThread: number;
  /** thread ids recorded as waiting (futex, adaptive, ticket, mcs: their queue-node WAIT word; tas/ttas keep no record) */
  waitingThreads: number[];
  /** of the waiters, those known to be parked in Atomics.wait (mcs, adaptive); -1: the kind does not say */
  parked: number;
  /** whether waiters are visible at all for this kind */
  waitersVisible: boolean;
}

export interface HeapPicture {
  pageSize: number;
  /** pages of header and metadata before the heap's first page */
  metadataPages: number;
  committedPages: number;
  capacityPages: number;
  touchedPages: number;
  growCount: number;
  /** the span walk tiled the committed pages (no racy record met) */
  exact: boolean;
  /** pages the walk could not place (racy records) */
  unknownPages: number;
  spans: SpanView[];
  /** index = size class (0 unused) */
  classes: ClassView[];
  pageHeap: { freePages: number; freeSpans: number; smallSpans: number; largeSpans: number; largePages: number; carves: number; returns: number; coalesces: number };
  threads: ThreadView[];
  /** counters summed over every thread slot ever used (they outlive detach), for rates over time */
  totals: { threadCacheHits: number; threadCacheMisses: number; frees: number; largeMallocs: number };
  locks: LockView[];
  threadCache: boolean;
}

export interface PictureOptions {
  /** walk transfer batches and thread-cache lists to place each free object in its span (default true) */
  walkObjects?: boolean;
  /** stop walking after this many objects in all (default 1 << 20) */
  maxObjects?: number;
}

/**
 * Size class of a malloc(n) request in a heap with pages of pageSize (0: a large object).
 */
export function sizeClassOfRequest(pageSize: number, n: number): number {
  const t = sizeClassTable(pageSize);
  return n <= 256 * 1024 ? t.classOf[(Math.max(1, n) + 15) >>> 4]! : 0;
}

/** Reads the picture of the heap living in `buffer` (see the module comment for races). */
export function heapPicture(buffer: SharedArrayBuffer, options: PictureOptions = {}): HeapPicture {
  const header = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
  const L = readLayout(header);
  const i32 = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
  const f64 = new Float64Array(buffer, 0, L.pages >>> 3);
  const u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  const u8 = new Uint8Array(buffer, 0, buffer.byteLength);
  const committed = Atomics.load(i32, H.COMMITTED_PAGES);
  const walk = walkSpans(L, i32, committed);
  const byStart = new Map<number, SpanView>();
  for (const s of walk.spans) byStart.set(s.start, s);
  const threads = readThreads(L, i32, u32, f64);
  const classes = readClasses(L, i32, threads);
  if (options.walkObjects !== false) {
    placeObjects(L, { i32, u32, u8 }, committed, byStart, threads, options.maxObjects ?? 1 << 20);
  }
  for (const s of walk.spans) {
    if (s.sizeClass === 0) continue;
    s.heldByApp = Math.max(0, s.outOfSpan - s.inTransfer - s.inThreadCaches);
    s.kind = s.inTransfer > 0 ? 'transfer' : s.freeInSpan > 0 ? 'central' : 'in-use';
  }
  const ph = L.pageHeap >>> 2;
  return {
    pageSize: L.pageSize,
    metadataPages: Math.ceil(L.pages / L.pageSize),
    committedPages: committed,
    capacityPages: L.capacityPages,
    touchedPages: Math.min(committed, i32[H.TOUCHED_PAGES]!),
    growCount: i32[H.GROW_COUNT]!,
    exact: walk.unknown === 0,
    unknownPages: walk.unknown,
    spans: walk.spans,
    classes,
    pageHeap: {
      freePages: i32[ph + PH.FREE_PAGES]!,
      freeSpans: i32[ph + PH.FREE_SPANS]!,
      smallSpans: i32[ph + PH.SMALL_SPANS]!,
      largeSpans: i32[ph + PH.LARGE_SPANS]!,
      largePages: i32[ph + PH.LARGE_PAGES]!,
      carves: i32[ph + PH.EV_CARVES]!,
      returns: i32[ph + PH.EV_RETURNS]!,
      coalesces: i32[ph + PH.EV_COALESCES]!,
    },
    threads,
    totals: readTotals(L, i32, f64, threads),
    locks: readLocks(L, i32),
    threadCache: (L.flags & Flag.THREAD_CACHE) !== 0,
  };
}

/** The span records in page order; a record that does not tile counts its page as unknown. */
function walkSpans(L: HeapLayout, i32: Int32Array, committed: number): { spans: SpanView[]; unknown: number } {
  const table = sizeClassTable(L.pageSize);
  const spansWord = L.spans >>> 2;
  const spans: SpanView[] = [];
  let unknown = 0;
  for (let s = 0; s < committed; ) {
    const rec = spansWord + s * SPAN_WORDS;
    const pages = i32[rec + SP.PAGES]!;
    const st = i32[rec + SP.STATE]!;
    const cls = st === SpanState.SMALL ? i32[rec + SP.CLASS]! : 0;
    const bad = pages <= 0 || s + pages > committed || (st !== SpanState.FREE && st !== SpanState.SMALL && st !== SpanState.LARGE) || cls >= table.count;
    if (bad) {
      unknown++;
      s++;
      continue;
    }
    const info = table.classes[cls]!;
    const free = cls > 0 ? i32[rec + SP.FREE_COUNT]! : 0;
    spans.push({
      start: s,
      pages,
      kind: st === SpanState.FREE ? 'free' : st === SpanState.LARGE ? 'large' : 'in-use',
      sizeClass: cls,
      objectSize: cls > 0 ? info.size : st === SpanState.LARGE ? pages * L.pageSize : 0,
      objectsPerSpan: cls > 0 ? info.objectsPerSpan : st === SpanState.LARGE ? 1 : 0,
      freeInSpan: free,
      outOfSpan: cls > 0 ? i32[rec + SP.IN_USE]! : st === SpanState.LARGE ? 1 : 0,
      inTransfer: 0,
      inThreadCaches: 0,
      heldByApp: st === SpanState.LARGE ? 1 : 0,
    });
    s += pages;
  }
  return { spans, unknown };
}

function readThreads(L: HeapLayout, i32: Int32Array, u32: Uint32Array, f64: Float64Array): ThreadView[] {
  const out: ThreadView[] = [];
  for (let slot = 0; slot < L.maxThreads; slot++) {
    const w = slotWordOf(L, slot);
    if (Atomics.load(i32, w + S.STATE) !== SlotState.ATTACHED) continue;
    const f = slotF64Of(L, slot);
    const listLengths = new Array<number>(L.numClasses).fill(0);
    const maxLengths = new Array<number>(L.numClasses).fill(0);
    let cached = 0;
    for (let c = 1; c < L.numClasses; c++) {
      listLengths[c] = cachedListLength(u32, w + L.slot.heads + c, w + L.slot.maxLengths + c);
      maxLengths[c] = i32[w + L.slot.maxLengths + c]!;
      cached += listLengths[c]!;
    }
    const frees = f64[f + L.slot.frees]!;
    const largeFrees = f64[f + L.slot.largeFrees]!;
    const taken = f64[f + L.slot.taken]!;
    const misses = f64[f + L.slot.misses]!;
    const smallMallocs = frees - largeFrees + taken - cached;
    out.push({
      slot,
      threadId: i32[w + S.THREAD_ID]!,
      listLengths,
      maxLengths,
      cachedBytes: i32[w + S.CACHED_BYTES]!,
      misses,
      taken,
      frees,
      largeMallocs: f64[f + L.slot.largeMallocs]!,
      largeFrees,
      threadCacheHits: (L.flags & Flag.THREAD_CACHE) !== 0 ? Math.max(0, smallMallocs - misses) : 0,
      lockAcquisitions: {
        central: f64[f + L.slot.centralLockStats + LockStat.acquisitions]!,
        pageHeap: f64[f + L.slot.pageHeapLockStats + LockStat.acquisitions]!,
        global: f64[f + L.slot.globalLockStats + LockStat.acquisitions]!,
      },
    });
  }
  return out;
}

function readTotals(L: HeapLayout, i32: Int32Array, f64: Float64Array, attached: readonly ThreadView[]): HeapPicture['totals'] {
  let frees = 0;
  let largeFrees = 0;
  let taken = 0;
  let misses = 0;
  let largeMallocs = 0;
  for (let slot = 0; slot < L.maxThreads; slot++) {
    if (i32[slotWordOf(L, slot) + S.GENERATION] === 0) continue; // never attached: all zero
    const f = slotF64Of(L, slot);
    frees += f64[f + L.slot.frees]!;
    largeFrees += f64[f + L.slot.largeFrees]!;
    taken += f64[f + L.slot.taken]!;
    misses += f64[f + L.slot.misses]!;
    largeMallocs += f64[f + L.slot.largeMallocs]!;
  }
  let cached = 0;
  for (const t of attached) for (const n of t.listLengths) cached += n;
  const hits = (L.flags & Flag.THREAD_CACHE) !== 0 ? Math.max(0, frees - largeFrees + taken - cached - misses) : 0;
  return { threadCacheHits: hits, threadCacheMisses: misses, frees, largeMallocs };
}

function readClasses(L: HeapLayout, i32: Int32Array, threads: readonly ThreadView[]): ClassView[] {
  const table = sizeClassTable(L.pageSize);
  const out: ClassView[] = [];
  for (let c = 0; c < L.numClasses; c++) {
    const info = table.classes[c]!;
    const b = centralWordOf(L, c);
    let cached = 0;
    for (const t of threads) cached += t.listLengths[c] ?? 0;
    let onList = 0;
    if (c > 0) {
      for (let s = i32[b + CC.NONEMPTY]!, guard = 0; s >= 0 && guard < 1 << 20; guard++) {
        onList++;
        s = i32[(L.spans >>> 2) + s * SPAN_WORDS + SP.NEXT]!;
      }
    }
    const spans = c > 0 ? i32[b + CC.SPANS]! : 0;
    const freeInSpans = c > 0 ? i32[b + CC.FREE_IN_SPANS]! : 0;
    const transferObjects = c > 0 ? i32[b + CC.TRANSFER_OBJECTS]! : 0;
    const ev = (k: number): number => (c > 0 ? i32[b + k]! : 0);
    out.push({
      sizeClass: c,
      size: info.size,
      pagesPerSpan: info.pages,
      objectsPerSpan: info.objectsPerSpan,
      batch: info.batch,
      spans,
      spansWithFree: onList,
      freeInSpans,
      transferBatches: c > 0 ? i32[b + CC.TRANSFER_USED]! : 0,
      transferObjects,
      threadCacheObjects: cached,
      inUse: c > 0 ? Math.max(0, spans * info.objectsPerSpan - freeInSpans - transferObjects - cached) : 0,
      events: {
        refills: ev(CC.EV_REFILLS),
        transferHits: ev(CC.EV_TRANSFER_HITS),
        releases: ev(CC.EV_RELEASES),
        transferInserts: ev(CC.EV_TRANSFER_INSERTS),
        populates: ev(CC.EV_POPULATES),
        spansEmptied: ev(CC.EV_SPANS_EMPTIED),
      },
    });
  }
  return out;
}

/**
 * Places each object of every TransferCache batch and every thread-cache list in its span
 * (through the PageMap). A chain is followed only while each object looks like a free
 * object of its class (16-aligned, in the committed pages, SHADOW FREE, PAGECLASS = class)
 * and for at most its recorded length: another thread may be changing it.
 */
function placeObjects(
  L: HeapLayout,
  v: { i32: Int32Array; u32: Uint32Array; u8: Uint8Array },
  committed: number,
  byStart: Map<number, SpanView>,
  threads: readonly ThreadView[],
  budget: number,
): void {
  const key = L.key;
  const limit = L.pages + committed * L.pageSize;
  const pageMapWord = L.pageMap >>> 2;
  let left = budget;
  const follow = (head: number, n: number, cls: number, field: 'inTransfer' | 'inThreadCaches'): void => {
    let p = head >>> 0;
    for (let k = 0; k < n && p !== 0 && left > 0; k++, left--) {
      if ((p & 15) !== 0 || p < L.pages || p >= limit) return;
      const rel = p - L.pages;
      if (v.u8[L.shadow + (rel >>> 4)] !== Shadow.FREE || v.u8[L.pageClass + Math.floor(rel / L.pageSize)] !== cls) return;
      const span = byStart.get(v.i32[pageMapWord + Math.floor(rel / L.pageSize)]!);
      if (span && span.sizeClass === cls) span[field]++;
      p = decodeLink(v.u32[p >>> 2]!, p, key);
    }
  };
  for (let c = 1; c < L.numClasses; c++) {
    const b = centralWordOf(L, c);
    const used = Math.min(v.i32[b + CC.TRANSFER_USED]!, 64);
    for (let k = 0; k < used; k++) {
      const w = transferWordOf(L, c, k);
      follow(v.i32[w]!, v.i32[w + 1]!, c, 'inTransfer');
    }
  }
  for (const t of threads) {
    const w = slotWordOf(L, t.slot);
    for (let c = 1; c < L.numClasses; c++) {
      if (t.listLengths[c]! > 0) follow(v.u32[w + L.slot.heads + c]!, t.listLengths[c]!, c, 'inThreadCaches');
    }
  }
}

/** A thread that may wait for a lock: its owner id and the Int32 index of its queue node. */
export interface LockParty {
  ownerId: number;
  nodeWord: number;
  /** what to report it as (a thread id); defaults to the owner id */
  label?: number;
}

/**
 * Holder, waiters and parked waiters of the lock at `word`, from its lock block and the
 * parties' queue nodes (LockNode.WAIT = word + 1 while a thread waits for it). tas and ttas
 * keep no record of their waiters (waitersVisible false); futex waiters may be spinning or
 * parked and the word does not say which (parked -1); mcs and adaptive say (FLAG 2, REG 1).
 * A racy sample: meant to be taken often and summed.
 */
export function sampleLock(kind: LockKind, i32: Int32Array, word: number, parties: readonly LockParty[]): Omit<LockView, 'tier'> {
  const owner = holderOf(kind, i32, word);
  const waiting: number[] = [];
  let parked = 0;
  let holderThread = 0;
  for (const p of parties) {
    if (p.ownerId === owner) holderThread = p.label ?? p.ownerId;
    if (Atomics.load(i32, p.nodeWord + LockNode.WAIT) !== word + 1) continue;
    waiting.push(p.label ?? p.ownerId);
    if (Atomics.load(i32, p.nodeWord + LockNode.FLAG) === 2 || Atomics.load(i32, p.nodeWord + LockNode.REG) === 1) parked++;
  }
  return {
    kind,
    holderThread: owner === 0 ? 0 : holderThread || owner,
    waitingThreads: waiting,
    parked: kind === 'mcs' || kind === 'adaptive' ? parked : -1,
    waitersVisible: kind !== 'tas' && kind !== 'ttas',
  };
}

/** Holder and waiters of every tier lock of the heap in `buffer` (cheap: no span walk). */
export function tierLocks(buffer: SharedArrayBuffer): LockView[] {
  const L = readLayout(new Int32Array(buffer, 0, HEADER_BYTES >>> 2));
  return readLocks(L, new Int32Array(buffer, 0, L.pages >>> 2));
}

/** Holder and waiters of every tier lock, from the lock words and the attached threads' queue nodes. */
function readLocks(L: HeapLayout, i32: Int32Array): LockView[] {
  const parties: LockParty[] = [];
  for (let slot = 0; slot < L.maxThreads; slot++) {
    const w = slotWordOf(L, slot);
    if (Atomics.load(i32, w + S.STATE) !== SlotState.ATTACHED) continue;
    parties.push({ ownerId: slot + 1, nodeWord: w + L.slot.lockNode, label: i32[w + S.THREAD_ID]! });
  }
  const out: LockView[] = [];
  if ((L.flags & Flag.GLOBAL_LOCK) !== 0) {
    out.push({ tier: 'global', ...sampleLock('futex', i32, L.globalLock >>> 2, parties) });
    return out;
  }
  const central = lockKindFromCode(i32[H.CENTRAL_LOCK_KIND]!)!;
  const pageHeap = lockKindFromCode(i32[H.PAGEHEAP_LOCK_KIND]!)!;
  out.push({ tier: 'pageHeap', ...sampleLock(pageHeap, i32, L.pageHeap >>> 2, parties) });
  for (let c = 1; c < L.numClasses; c++) out.push({ tier: 'central', sizeClass: c, ...sampleLock(central, i32, centralWordOf(L, c), parties) });
  return out;
}
