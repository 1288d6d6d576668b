/**
 * memoryReport(): where a heap's committed bytes are, in parts that add up.
 *
 * Owns nothing: it reads, as stats() does (collectStats, metadataByRegion), and takes no
 * lock. Thread caches have no lock at all (only their owner writes them), so no set of
 * locks could make a report exact while threads run; taking the central and PageHeap locks
 * together would also break the lock order (one lock at a time). So:
 *
 * - at quiescence (no thread of the heap inside malloc/free/realloc/attach/detach/trim),
 *   every part is exact and the parts sum to committedBytes (unaccountedBytes = 0;
 *   test/concurrency/memreport.test.ts proves it on random multi-worker workloads);
 * - while threads run, each part is a racy snapshot (counts read at slightly different
 *   moments) and unaccountedBytes shows by how much the snapshot disagrees with itself.
 *
 * committedBytes = touched pages (every page below the high-water mark of pages ever handed
 * out) + metadata written. Touched pages split into blocks held by the application
 * (allocated = live + size-class rounding), free objects in thread caches, TransferCaches
 * and span free lists, span tails (the bytes of a small span after its last object), and
 * free PageHeap pages below the mark. The metadata splits by region (layout.ts).
 */

import { collectStats, metadataByRegion, METADATA_REGIONS, type MetadataRegion, type StatsHeap } from './stats.js';
import { H } from './layout.js';

export interface MemoryReport {
  /** Touched pages + metadata written: what the heap has made resident (see stats()). */
  committedBytes: number;
  /** Bytes of pages below the high-water mark of pages handed out. */
  touchedBytes: number;
  /**
   * Usable bytes of blocks the application holds (size-class size of small blocks, whole
   * pages of large ones): liveBytes + sizeClassRoundingBytes.
   */
  allocatedBytes: number;
  /**
   * Bytes the application asked for, if the caller told memoryReport() (its own count of
   * requested bytes held); otherwise allocatedBytes (the heap does not record requests).
   */
  liveBytes: number;
  /** allocatedBytes - liveBytes: rounding up to a size class or to whole pages (0 if the caller gave no count). */
  sizeClassRoundingBytes: number;
  /** Bytes of small spans after their last object. */
  spanTailBytes: number;
  /** Free objects on thread-cache lists (every attached thread). */
  threadCacheBytes: number;
  /** Free objects in batches parked in the TransferCaches. */
  transferCacheBytes: number;
  /** Free objects on the free lists of partly used spans (CentralCache). */
  centralCacheBytes: number;
  /** Free PageHeap pages below the high-water mark (resident, reusable by any class). */
  pageHeapFreeBytes: number;
  /** Metadata written, by region; sums to metadataBytes. */
  metadata: Record<MetadataRegion, number>;
  metadataBytes: number;
  /**
   * committedBytes minus the sum of every part above (each counted once: allocated,
   * span tails, the three caches, PageHeap free, metadata). 0 at quiescence.
   */
  unaccountedBytes: number;
  /**
   * Whole free 4 KiB OS pages below the high-water mark: what an allocator that can
   * madvise(MADV_DONTNEED) would give back to the OS now (the free PageHeap spans, which
   * are whole pages). A SharedArrayBuffer cannot give pages back, so they stay resident
   * and are reused by later spans instead.
   */
  releasableBytes: number;
}

export interface MemoryReportOptions {
  /** The application's own count of the bytes it requested and still holds. */
  requestedBytes?: number;
}

export function collectMemoryReport(heap: StatsHeap, options: MemoryReportOptions = {}): MemoryReport {
  const s = collectStats(heap);
  const L = heap.layout;
  const i32 = heap.mem.i32;
  const committedPages = heap.mem.committedPages();
  const touchedPages = Math.min(committedPages, i32[H.TOUCHED_PAGES]!);
  const metadata = metadataByRegion(L, i32, touchedPages, committedPages);
  let metadataBytes = 0;
  for (const k of METADATA_REGIONS) metadataBytes += metadata[k];
  let objectBytes = 0;
  for (const c of s.sizeClasses) objectBytes += c.spans * heap.sizeClasses.classes[c.sizeClass]!.objectsPerSpan * c.size;
  const touchedBytes = touchedPages * L.pageSize;
  // Pages above the high-water mark were never handed out, so they are all free pages.
  const pageHeapFreeBytes = s.pageHeapFreeBytes - (committedPages - touchedPages) * L.pageSize;
  const spanTailBytes = s.smallSpanBytes - objectBytes;
  const allocatedBytes = s.inUseBytes;
  const liveBytes = options.requestedBytes ?? allocatedBytes;
  const committedBytes = touchedBytes + metadataBytes;
  const parts =
    allocatedBytes + spanTailBytes + s.threadCacheFreeBytes + s.transferCacheFreeBytes + s.centralCacheFreeBytes + pageHeapFreeBytes + metadataBytes;
  return {
    committedBytes,
    touchedBytes,
    allocatedBytes,
    liveBytes,
    sizeClassRoundingBytes: allocatedBytes - liveBytes,
    spanTailBytes,
    threadCacheBytes: s.threadCacheFreeBytes,
    transferCacheBytes: s.transferCacheFreeBytes,
    centralCacheBytes: s.centralCacheFreeBytes,
    pageHeapFreeBytes,
    metadata,
    metadataBytes,
    unaccountedBytes: committedBytes - parts,
    releasableBytes: pageHeapFreeBytes,
  };
}
