/**
 * sabmalloc (SharedHeap) behind the common adapter: the default heap, its lock-kind
 * variants, the no-thread-cache mode and the global-lock baseline all go through this one
 * class (the variant is recorded in the heap header, so every thread behaves alike).
 *
 * Sizing: the heap starts at 1 MiB of pages and grows on demand up to `maxSize`, so
 * "committed" (buffer.byteLength) follows what the allocator really claimed. The
 * metadata prefix is sized for `maxSize` (page map, shadow bytes), so maxSize is kept
 * near the run's expected live set: 2.5x it, at least 8 MiB (metadata is about 7% of
 * maxSize plus ~12 KiB per thread slot, so maxThreads is the run's worker count + 2). With `preallocate` the heap
 * is committed whole from the start (no growth while workers run).
 */
import { SharedHeap, type HeapStats } from '../../../src/index.js';
import type {
  AllocatorAdapter,
  AllocatorSnapshot,
  AllocatorSpec,
  HeapInstance,
  HeapSizing,
  MemorySample,
} from './types.js';

const MIB = 2 ** 20;

/**
 * Committed bytes: buffer.byteLength, as the issue defines it. A heap created at its full
 * size (--prealloc: it never grew and cannot grow) has every page committed from the start,
 * so there the figure is what growth would have committed: the metadata plus the pages the
 * page heap has handed out (heapBytes - pageHeapFreeBytes).
 */
function committedOf(s: HeapStats): number {
  if (s.growCount === 0 && s.heapBytes === s.maxHeapBytes) return s.metadataBytes + s.heapBytes - s.pageHeapFreeBytes;
  return s.committedBytes;
}

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

  detach(): void {
    this.heap.detach();
  }

  memory(): MemorySample {
    const s = this.heap.stats();
    return { committed: committedOf(s), live: s.inUseBytes, metadata: s.metadataBytes };
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
      committed: committedOf(s),
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
    cheapCleanup: false,
    dispose: () => heap.detach(),
  };
}
