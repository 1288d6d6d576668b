/**
 * smo: the allocator of @daneren2005/shared-memory-objects, a pure-JS shared-memory
 * allocator from npm, through its public API (MemoryBuffer, the allocator its MemoryHeap
 * spreads over 1 MiB SharedArrayBuffers; here one MemoryBuffer over the run's buffer, so
 * workloads address every block in one buffer as they do with every other allocator).
 *
 * Thread-safety model (the library's): one lock word per MemoryBuffer, taken by every
 * malloc and free (compareExchange, parking with Atomics.wait in workers); the free and
 * used lists are first-fit singly linked lists in the buffer, and free walks the used list
 * to find the block (O(live blocks) under the lock). Configured as MemoryHeap configures
 * it: compact and split off, because (the library's own comment) splitting and merging
 * blocks is unsafe while another thread may still touch a freed block.
 *
 * Owns this buffer layout:
 *   [0, 16)      uint32 counters kept with Atomics by the adapter: live blocks, live bytes
 *   [64, end)    the MemoryBuffer (its 32-byte state, lock word included, then the blocks)
 * The library cannot grow a buffer: the suite sizes it for the run's live set.
 */
import { loadSmo, smoEntry, type SmoMemoryBuffer } from '../peers/smo/load.js';
import type { AllocatorAdapter, AllocatorSnapshot, AllocatorSpec, HeapInstance, HeapSizing, MemorySample } from './types.js';

const C_BLOCKS = 0;
const C_BYTES = 1;
const POOL_START = 64;
/** the library's block header (size and next words) */
const HEADER = 8;
const STATE_TOP_WORD = POOL_START / 4 + 2;
const MAX_BUFFER = 2 ** 31 - 64 * 1024;
const MIB = 1 << 20;

export function smoAvailable(): boolean {
  return smoEntry() !== null;
}

export class SmoAdapter implements AllocatorAdapter {
  readonly buffer: SharedArrayBuffer;
  private readonly pool: SmoMemoryBuffer;
  private readonly u32: Uint32Array;
  private readonly counters: Uint32Array;

  constructor(buffer: SharedArrayBuffer, init: boolean) {
    const { MemoryBuffer } = loadSmo();
    this.buffer = buffer;
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    this.counters = new Uint32Array(buffer, 0, 4);
    this.pool = init
      ? new MemoryBuffer({ buf: buffer, start: POOL_START, align: 16, compact: false, split: false })
      : new MemoryBuffer({ buf: buffer, start: POOL_START, skipInitialization: true });
  }

  malloc(n: number): number {
    const p = this.pool.malloc(n);
    if (p === 0) throw new Error(`shared-memory-objects MemoryBuffer out of memory allocating ${n} bytes (buffer ${this.buffer.byteLength} bytes)`);
    Atomics.add(this.counters, C_BLOCKS, 1);
    Atomics.add(this.counters, C_BYTES, this.usableSize(p));
    return p;
  }

  free(p: number): void {
    const size = this.usableSize(p);
    if (!this.pool.free(p)) throw new Error(`shared-memory-objects: free of ${p} which is not a live block`);
    Atomics.sub(this.counters, C_BLOCKS, 1);
    Atomics.sub(this.counters, C_BYTES, size);
  }

  /** block size from the library's header, minus the header (the caller owns the block) */
  usableSize(p: number): number {
    return Atomics.load(this.u32, (p - HEADER) >>> 2) - HEADER;
  }

  detach(): void {
    // No per-thread state: the lock and lists live in the buffer.
  }

  memory(): MemorySample {
    return { committed: Atomics.load(this.u32, STATE_TOP_WORD) - POOL_START, live: Atomics.load(this.counters, C_BYTES), metadata: 0 };
  }

  snapshot(): AllocatorSnapshot {
    return { locks: {}, threadCacheHits: 0, threadCacheMisses: 0, mallocCount: 0, freeCount: 0, ...this.memory() };
  }

  liveObjects(): number {
    return Atomics.load(this.counters, C_BLOCKS);
  }

  /** The library's own list walk (stats) must agree with the adapter's counters (call when idle). */
  check(): void {
    const s = this.pool.stats();
    const blocks = Atomics.load(this.counters, C_BLOCKS);
    if (s.used.count !== blocks) throw new Error(`shared-memory-objects check: used list holds ${s.used.count} blocks, counters say ${blocks}`);
    if (s.top > s.total) throw new Error(`shared-memory-objects check: top ${s.top} beyond the buffer (${s.total})`);
  }
}

export function attachSmo(buffer: SharedArrayBuffer): SmoAdapter {
  return new SmoAdapter(buffer, false);
}

/**
 * Blocks of the largest size a worker's share of the buffer must hold, beyond its live ones,
 * when blocks dwarf the live set's average (see createSmoHeap).
 */
const BIG_BLOCKS_PER_WORKER = 32;

/**
 * Main side: the library cannot grow a MemoryBuffer, so it gets the live set x3 plus slack.
 * It never splits nor merges a block (as MemoryHeap configures it), and first fit reuses a
 * free block only for a request that fits it whole: with blocks of 5-25 MiB replaced at
 * random, a request larger than every free block carves a new one, so the carved blocks
 * outgrow three times the live set (malloc-large at 1 worker ran out of a 212 MiB buffer).
 * Measured on the main thread, 4 live blocks of 5-25 MiB replaced 10,000 times, 200 seeds:
 * the buffer's top reached 163-429 MiB (median 267), growing with the log of the
 * replacements; 32 blocks of the largest size a worker (800 MiB) leave it twice that. The
 * pages nobody writes cost nothing resident.
 */
export function createSmoHeap(spec: AllocatorSpec, sizing: HeapSizing): HeapInstance {
  const big = (sizing.maxBlockBytes ?? 0) * BIG_BLOCKS_PER_WORKER * sizing.workers;
  const bytes = Math.min(MAX_BUFFER, Math.ceil((POOL_START + 32 * MIB + Math.max(sizing.liveBytes * 3, big)) / 65536) * 65536);
  const adapter = new SmoAdapter(new SharedArrayBuffer(bytes), true);
  return {
    spec,
    buffer: adapter.buffer,
    adapter,
    check: () => adapter.check(),
    liveObjects: () => adapter.liveObjects(),
    // free is O(live blocks) under one lock (as thi.ng's): cleanups verify without freeing
    // unless fullCleanup (the tests) asks for every free
    cheapCleanup: true,
    dispose: () => undefined,
  };
}
