/**
 * sabmalloc (SharedHeap) behind the common adapter: the default heap, its lock-kind
 * variants, the no-thread-cache mode and the global-lock baseline all go through this one
 * class (the variant is recorded in the heap header, so every thread behaves alike).
 *
 * Sizing: the heap starts at 1 MiB of pages and grows on demand up to `maxSize`: 2.5x the
 * run's expected live set, at least 8 MiB (maxThreads is the run's worker count + 2).
 * With `preallocate` the heap is committed whole from the start (no growth while workers
 * run).
 *
 * Memory: committed = stats().committedBytes, what the heap has made resident: the pages
 * up to the high-water mark of pages it has handed out, plus the metadata it has touched
 * (the fixed regions, and the per-page metadata of those pages only). Neither the buffer
 * (a reservation of maxSize) nor the commit watermark counts, as neither is resident until
 * written. So the figure is the same with or without `preallocate`.
 */
import { SharedHeap } from '../../../src/index.js';
import type {
  AllocatorAdapter,
  AllocatorSnapshot,
  AllocatorSpec,
  HeapInstance,
  HeapSizing,
  MemoryBreakdown,
  MemorySample,
} from './types.js';

const MIB = 2 ** 20;

export class SabmallocAdapter implements AllocatorAdapter {
  readonly buffer: SharedArrayBuffer;
  readonly heap: SharedHeap;

  constructor(heap: SharedHeap) {
    this.heap = heap;
    this.buffer = heap.buffer;
  }

  malloc(n: number): number {
    return this.heap.malloc(n);
  }

  free(p: number): void {
    this.heap.free(p);
  }

  usableSize(p: number): number {
    return this.heap.usableSize(p);
  }

  detach(): void {
    this.heap.detach();
  }

  memory(): MemorySample {
    const s = this.heap.stats();
    return { committed: s.committedBytes, live: s.inUseBytes, metadata: s.metadataBytes };
  }

  snapshot(): AllocatorSnapshot {
    const s = this.heap.stats();
    const locks: AllocatorSnapshot['locks'] = {};
    for (const [tier, l] of Object.entries(s.locks)) if (l.kind !== 'none') locks[tier] = { ...l };
    return {
      locks,
      threadCacheHits: s.threadCacheHits,
      threadCacheMisses: s.threadCacheMisses,
      mallocCount: s.mallocCount,
      freeCount: s.freeCount,
      committed: s.committedBytes,
      live: s.inUseBytes,
      metadata: s.metadataBytes,
    };
  }
}

export function attachSabmalloc(buffer: SharedArrayBuffer): SabmallocAdapter {
  return new SabmallocAdapter(SharedHeap.attach(buffer));
}

export function createSabmallocHeap(spec: AllocatorSpec, sizing: HeapSizing): HeapInstance {
  const maxSize = Math.min(4096 * MIB - 64 * MIB, Math.max(8 * MIB, Math.ceil((sizing.liveBytes * 2.5) / MIB) * MIB));
  const heap = SharedHeap.create({
    size: sizing.preallocate ? maxSize : MIB,
    maxSize,
    // one slot per worker plus the main thread (and one spare): each slot is ~12 KiB of
    // metadata that would otherwise count against the blowup
    maxThreads: sizing.workers + 2,
    ...(spec.heap?.locks ? { locks: spec.heap.locks } : {}),
    ...(spec.heap?.threadCache === false ? { threadCache: false } : {}),
    ...(spec.heap?.globalLock ? { globalLock: true } : {}),
  });
  const adapter = new SabmallocAdapter(heap);
  return {
    spec,
    buffer: heap.buffer,
    adapter,
    check: () => heap.check(),
    liveObjects: () => heap.stats().inUseObjects,
    breakdown: () => breakdownOf(heap),
    cheapCleanup: false,
    dispose: () => heap.detach(),
  };
}

/** stats() split by tier (see MemoryBreakdown). */
export function breakdownOf(heap: SharedHeap): MemoryBreakdown {
  const s = heap.stats();
  let inObjects = 0;
  for (const c of s.sizeClasses) inObjects += c.spans * Math.floor((c.pagesPerSpan * s.pageSize) / c.size) * c.size;
  return {
    committed: s.committedBytes,
    metadata: s.metadataBytes,
    touched: s.touchedBytes,
    live: s.inUseBytes,
    threadCaches: s.threadCacheFreeBytes,
    transferCaches: s.transferCacheFreeBytes,
    spanFreeObjects: s.centralCacheFreeBytes,
    spanTails: s.smallSpanBytes - inObjects,
    // free pages below the high-water mark: the free tail above it is not resident
    holes: s.pageHeapFreeBytes - (s.heapBytes - s.touchedBytes),
    holeSpans: s.pageHeapFreeSpans.map((f) => `${f.count}x${f.pages}`).join(' '),
  };
}
