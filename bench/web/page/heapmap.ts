/**
 * Reads a heap's page map and thread-cache occupancy straight from its SharedArrayBuffer,
 * without attaching (the page's main thread may not attach: it cannot block).
 *
 * Owns: nothing; pure reads through the layout the heap header describes (layout.ts).
 * Reads taken while workers run are racy: a span being split or merged can show a length
 * that does not tile; such pages are marked UNKNOWN (and `exact` is false) rather than
 * guessed. Taken with every worker detached, the walk is exact: every committed page
 * belongs to exactly one span record.
 */
import { H, HEADER_BYTES, readLayout, S, SlotState, slotWordOf, SP, SPAN_WORDS, SpanState } from '../../../src/core/layout.js';
import { sizeClassTable } from '../../../src/core/sizeclasses.js';
import { cachedListLength } from '../../../src/core/threadcache.js';

export const PageState = { METADATA: 0, FREE: 1, SMALL: 2, LARGE: 3, UNKNOWN: 4 } as const;
export type PageStateCode = (typeof PageState)[keyof typeof PageState];

export interface HeapMap {
  pageSize: number;
  /** pages of header and metadata in front of the heap's pages */
  metadataPages: number;
  committedPages: number;
  capacityPages: number;
  /** per page (metadata pages first, then heap page 0..committed-1): a PageState code */
  state: Uint8Array;
  /** per page: the size class of a small span's page, 0 otherwise */
  sizeClass: Uint8Array;
  /** the span walk tiled the committed pages exactly (no racy record met) */
  exact: boolean;
  counts: { metadata: number; free: number; small: number; large: number; unknown: number };
  spans: { free: number; small: number; large: number };
}

function views(buffer: SharedArrayBuffer): { i32: Int32Array; layout: ReturnType<typeof readLayout> } {
  const header = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
  const layout = readLayout(header);
  // The metadata (span records included) lies before layout.pages: that much is enough.
  return { i32: new Int32Array(buffer, 0, layout.pages >>> 2), layout };
}

export function readHeapMap(buffer: SharedArrayBuffer): HeapMap {
  const { i32, layout } = views(buffer);
  const committed = Atomics.load(i32, H.COMMITTED_PAGES);
  const metadataPages = Math.ceil(layout.pages / layout.pageSize);
  const total = metadataPages + committed;
  const state = new Uint8Array(total).fill(PageState.METADATA, 0, metadataPages);
  const sizeClass = new Uint8Array(total);
  const counts = { metadata: metadataPages, free: 0, small: 0, large: 0, unknown: 0 };
  const spans = { free: 0, small: 0, large: 0 };
  const spansWord = layout.spans >>> 2;
  let exact = true;
  let s = 0;
  while (s < committed) {
    const rec = spansWord + s * SPAN_WORDS;
    const pages = i32[rec + SP.PAGES]!;
    const st = i32[rec + SP.STATE]!;
    const code = st === SpanState.FREE ? PageState.FREE : st === SpanState.SMALL ? PageState.SMALL : st === SpanState.LARGE ? PageState.LARGE : -1;
    if (code < 0 || pages <= 0 || s + pages > committed) {
      state[metadataPages + s] = PageState.UNKNOWN;
      counts.unknown++;
      exact = false;
      s++;
      continue;
    }
    const cls = code === PageState.SMALL ? i32[rec + SP.CLASS]! : 0;
    state.fill(code, metadataPages + s, metadataPages + s + pages);
    sizeClass.fill(cls, metadataPages + s, metadataPages + s + pages);
    if (code === PageState.FREE) {
      counts.free += pages;
      spans.free++;
    } else if (code === PageState.SMALL) {
      counts.small += pages;
      spans.small++;
    } else {
      counts.large += pages;
      spans.large++;
    }
    s += pages;
  }
  return { pageSize: layout.pageSize, metadataPages, committedPages: committed, capacityPages: layout.capacityPages, state, sizeClass, exact, counts, spans };
}

export interface CacheRow {
  slot: number;
  threadId: number;
  /** per size class (index = class, 0 unused): bytes cached in this thread's free list */
  bytes: number[];
  objects: number[];
  totalBytes: number;
}

export interface CacheOccupancy {
  /** object size per class (index = class) */
  classSizes: number[];
  rows: CacheRow[];
}

/** Thread-cache contents of every attached slot, per size class. */
export function readThreadCaches(buffer: SharedArrayBuffer): CacheOccupancy {
  const { i32, layout } = views(buffer);
  const u32 = new Uint32Array(buffer); // the depth words are in the pages
  const table = sizeClassTable(layout.pageSize);
  const classSizes = Array.from(table.sizeOf);
  const rows: CacheRow[] = [];
  for (let slot = 0; slot < layout.maxThreads; slot++) {
    const sw = slotWordOf(layout, slot);
    if (Atomics.load(i32, sw + S.STATE) !== SlotState.ATTACHED) continue;
    const bytes = new Array<number>(layout.numClasses).fill(0);
    const objects = new Array<number>(layout.numClasses).fill(0);
    let totalBytes = 0;
    for (let c = 1; c < layout.numClasses; c++) {
      const n = cachedListLength(u32, sw + layout.slot.heads + c, sw + layout.slot.maxLengths + c);
      objects[c] = n;
      bytes[c] = n * classSizes[c]!;
      totalBytes += bytes[c]!;
    }
    rows.push({ slot, threadId: i32[sw + S.THREAD_ID]!, bytes, objects, totalBytes });
  }
  return { classSizes, rows };
}
