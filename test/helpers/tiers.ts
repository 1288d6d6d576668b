/**
 * Tiers on a small heap, without SharedHeap: format.ts lays out a 1 MiB heap of 4 KiB pages
 * (256 pages, 2 thread slots) and the tiers are constructed directly on it, each with a
 * NoLock and thread slot 0's undo log, so a unit test drives one tier alone (test/unit/).
 */
import { CentralCache, type SpanSource } from '../../src/core/centralcache.js';
import { formatHeap } from '../../src/core/format.js';
import { PH, readHeapBuffer, S, slotWordOf, SP, SpanState, type HeapLayout } from '../../src/core/layout.js';
import { HeapMemory } from '../../src/core/memory.js';
import { NoLock } from '../../src/core/nolock.js';
import type { HeapOptions } from '../../src/core/options.js';
import { PageHeap } from '../../src/core/pageheap.js';
import { decodeLink } from '../../src/core/safelink.js';
import { sizeClassTable, type SizeClassTable } from '../../src/core/sizeclasses.js';
import { NO_SPAN, SpanTable } from '../../src/core/span.js';
import { Txn } from '../../src/core/txn.js';

export interface SmallHeap {
  buffer: SharedArrayBuffer;
  layout: HeapLayout;
  mem: HeapMemory;
  txn: Txn;
  spans: SpanTable;
  pageHeap: PageHeap;
  table: SizeClassTable;
  /** Slot 0's first word: its S.TRANSIT_SPAN etc. serve as the holder words of a test. */
  slotWord: number;
}

export function smallHeap(options: Partial<HeapOptions> = {}): SmallHeap {
  const buffer = formatHeap({ size: 1 << 20, pageSize: 4096, maxThreads: 2, ...options });
  const layout = readHeapBuffer(buffer);
  const mem = new HeapMemory(buffer, layout);
  const slotWord = slotWordOf(layout, 0);
  const txn = new Txn(mem, slotWord, layout.slot.log);
  const spans = new SpanTable(mem, txn);
  const pageHeap = new PageHeap(mem, spans, new NoLock(), txn);
  return { buffer, layout, mem, txn, spans, pageHeap, table: sizeClassTable(layout.pageSize), slotWord };
}

/** A CentralCache on the small heap over `below` (the real PageHeap, or a fake/recording one). */
export function centralOn(h: SmallHeap, below: SpanSource): CentralCache {
  const locks = Array.from({ length: h.table.count }, () => new NoLock());
  return new CentralCache(h.mem, h.spans, below, h.table, locks, h.txn, h.slotWord);
}

/** The PageHeap's own invariants, walked page by page; returns the free spans as [start, pages]. */
export function pageHeapInvariants(h: SmallHeap): [number, number][] {
  const { mem, spans } = h;
  const i32 = mem.i32;
  const ph = h.layout.pageHeap >>> 2;
  const committed = mem.committedPages();
  const free: [number, number][] = [];
  let prevFree = false;
  for (let s = 0; s < committed; ) {
    const n = spans.get(s, SP.PAGES);
    if (n <= 0) throw new Error(`page ${s} starts no span: the spans do not tile the heap`);
    const state = spans.get(s, SP.STATE);
    if (state === SpanState.FREE) {
      if (prevFree) throw new Error(`free span ${s} is adjacent to a free span (not coalesced)`);
      if (spans.spanOfPage(s) !== s || spans.spanOfPage(s + n - 1) !== s) throw new Error(`free span ${s}: PageMap ends do not point at it`);
      free.push([s, n]);
    } else {
      for (let k = 0; k < n; k++) if (spans.spanOfPage(s + k) !== s) throw new Error(`in-use span ${s}: PageMap entry ${s + k} is wrong`);
    }
    prevFree = state === SpanState.FREE;
    s += n;
  }
  // Every free span is on exactly the list for its length, and the lists hold nothing else.
  const listed: [number, number][] = [];
  for (let k = 0; k <= 128; k++) {
    for (let s = i32[ph + PH.LISTS + k]!; s !== NO_SPAN; s = spans.get(s, SP.NEXT)) {
      const n = spans.get(s, SP.PAGES);
      if (k > 0 ? n !== k : n <= 128) throw new Error(`span ${s} of ${n} pages is on list ${k}`);
      listed.push([s, n]);
    }
  }
  const byStart = (a: [number, number], b: [number, number]): number => a[0] - b[0];
  if (JSON.stringify(listed.sort(byStart)) !== JSON.stringify([...free].sort(byStart))) {
    throw new Error(`free lists ${JSON.stringify(listed)} != free spans ${JSON.stringify(free)}`);
  }
  const freePages = free.reduce((a, [, n]) => a + n, 0);
  if (i32[ph + PH.FREE_PAGES] !== freePages) throw new Error(`PH.FREE_PAGES ${i32[ph + PH.FREE_PAGES]} != ${freePages}`);
  if (i32[ph + PH.FREE_SPANS] !== free.length) throw new Error(`PH.FREE_SPANS ${i32[ph + PH.FREE_SPANS]} != ${free.length}`);
  if (i32[h.slotWord + S.LOG_LEN] !== 0) throw new Error('a transaction was left open');
  return free;
}

/** The objects of a thread-cache-style list (its head word), following the safe links to 0. */
export function listObjects(h: SmallHeap, headWord: number): number[] {
  const out: number[] = [];
  for (let p = h.mem.i32[headWord]! >>> 0; p !== 0; p = decodeLink(h.mem.u32[p >>> 2]!, p, h.layout.key)) {
    if (out.length > 1 << 16) throw new Error('list does not end in 0');
    out.push(p);
  }
  return out;
}
