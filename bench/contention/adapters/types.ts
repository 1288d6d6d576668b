/**
 * The common adapter every allocator under test is driven through, and the serialisable
 * description (`AllocatorSpec`) that tells a worker which adapter to build.
 *
 * Owns: vocabulary only.
 *
 * Invariants:
 * - One adapter object per thread per heap. Workloads call `malloc`/`free` on it in their
 *   hot loops; each piscina pool only ever serves one allocator spec, so every call site
 *   sees a single adapter class (monomorphic).
 * - `malloc` returns a byte offset into `buffer` that is a multiple of 16 (>= 8 for
 *   thi.ng); it throws when the allocator has no memory (never returns 0).
 * - `memory()` and `snapshot()` are racy reads meant for sampling, never for the hot loop.
 */
import type { LockKind, LockStatsSummary } from '../../../src/locks/index.js';

/** 'module': a user's allocator module (adapters/module.ts), loaded by file URL on both sides */
export type AllocatorFamily = 'sabmalloc' | 'thing' | 'module' | 'zig' | 'smo';

export interface SabmallocHeapConfig {
  locks?: { central?: LockKind; pageHeap?: LockKind };
  threadCache?: boolean;
  globalLock?: boolean;
}

/** What is compared: structured-clonable so it can travel to workers with each task. */
export interface AllocatorSpec {
  /** stable id used on the CLI and in the JSON (`sabmalloc`, `global-lock`, ...) */
  id: string;
  /** human label for tables and charts */
  label: string;
  family: AllocatorFamily;
  /** sabmalloc only: the SharedHeap.create options that make this variant */
  heap?: SabmallocHeapConfig;
  /** family 'module' only: file URL of the allocator module (see adapters/module.ts) */
  module?: string;
  /** role of this allocator in the target table, if any */
  role?: 'default' | 'global-lock' | 'thing' | 'peer';
}

export interface MemorySample {
  /** bytes the allocator has claimed from its buffer (sabmalloc: buffer.byteLength) */
  committed: number;
  /** bytes the application holds */
  live: number;
  /** bytes of allocator metadata inside `committed` (0 when the allocator keeps none apart) */
  metadata: number;
}

/** Cumulative counters at one moment; the suite subtracts a start snapshot from an end one. */
export interface AllocatorSnapshot {
  /** per lock tier (sabmalloc: central, pageHeap; global lock / thi.ng: global) */
  locks: Record<string, LockStatsSummary & { kind: string }>;
  threadCacheHits: number;
  threadCacheMisses: number;
  mallocCount: number;
  freeCount: number;
  committed: number;
  live: number;
  metadata: number;
}

/** The per-thread handle a workload drives. */
export interface AllocatorAdapter {
  readonly buffer: SharedArrayBuffer;
  malloc(n: number): number;
  free(p: number): void;
  /** Gives the thread's resources back (sabmalloc: flush the thread cache, free the slot). */
  detach(): void;
  memory(): MemorySample;
  snapshot(): AllocatorSnapshot;
  /**
   * Usable bytes of live block p, as memory().live counts them (optional): lets a workload
   * keep an exact live-bytes counter (mstress) instead of relying on sampled memory().live.
   */
  usableSize?(p: number): number;
}

/** Sizing the suite asks of a heap for one run. */
export interface HeapSizing {
  /** expected peak live bytes of the run */
  liveBytes: number;
  /** the largest block the run asks for, when the workload states it */
  maxBlockBytes?: number;
  /** workers that will attach at once */
  workers: number;
  /** commit the whole heap up front (no growth during the run; blowup then meaningless) */
  preallocate: boolean;
}

/** The main thread's side of one heap: creates it, samples it, checks it, drops it. */
export interface HeapInstance {
  readonly spec: AllocatorSpec;
  readonly buffer: SharedArrayBuffer;
  /** the main thread's own adapter (used for sampling only) */
  readonly adapter: AllocatorAdapter;
  /** full consistency check; throws on corruption */
  check(): void;
  /** blocks the application still holds */
  liveObjects(): number;
  /** a peer compiled to WebAssembly (zig): the shared memory each worker instantiates it over */
  readonly wasmMemory?: import('../peers/wasm.js').WasmMemory;
  /** whether frees of the cleanup phases should be skipped for speed (see thi.ng) */
  readonly cheapCleanup: boolean;
  /** where the committed bytes are now, by tier (sabmalloc only; racy, for sampling) */
  breakdown?(): MemoryBreakdown;
  dispose(): void;
}

/**
 * Committed bytes by where they are (sabmalloc): metadata + the pages below the high-water
 * mark of pages handed out, which are live blocks, free blocks in thread caches, transfer
 * caches or span free lists, span tails no object fits in, and free spans (holes).
 * The parts of the pages are read one after another while workers run, so they add up to
 * `touched` only roughly.
 */
export interface MemoryBreakdown {
  committed: number;
  metadata: number;
  touched: number;
  live: number;
  threadCaches: number;
  transferCaches: number;
  spanFreeObjects: number;
  spanTails: number;
  holes: number;
  /** free spans below the high-water mark (pages each, e.g. "3x1 8x2": three 1-page spans...) */
  holeSpans: string;
}
