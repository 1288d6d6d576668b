/**
 * Reads a heap's thread-cache occupancy straight from its SharedArrayBuffer, without
 * attaching (the page's main thread may not attach: it cannot block). The page's span map
 * is spanmap.ts.
 *
 * Owns: nothing; pure reads through the layout the heap header describes (layout.ts).
 * Reads taken while workers run are racy (a list length may be mid-update); taken with
 * every worker detached they are exact.
 */
import { HEADER_BYTES, readLayout, S, SlotState, slotWordOf } from '../../../src/core/layout.js';
import { sizeClassTable } from '../../../src/core/sizeclasses.js';
import { cachedListLength } from '../../../src/core/cachelists.js';

function views(buffer: SharedArrayBuffer): { i32: Int32Array; layout: ReturnType<typeof readLayout> } {
  const header = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
  const layout = readLayout(header);
  // The metadata (span records included) lies before layout.pages: that much is enough.
  return { i32: new Int32Array(buffer, 0, layout.pages >>> 2), layout };
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
