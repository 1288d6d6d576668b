/**
 * The allocation patterns of the RSS benchmark (bench/memory/rss.ts), run by each worker
 * thread of workers/memory.ts against one heap. Each pattern writes the first byte of every
 * 4 KiB of each block it allocates (and the last byte), as an application filling its
 * blocks would, so the operating system sees the pages the allocator hands out.
 *
 * - churn: log-uniform sizes 16 B..64 KiB, each worker keeping about `liveBytes` live;
 *   random frees, reallocations (to a new log-uniform size) and mallocs.
 * - larson: blocks of 8..1000 B, each iteration frees a random block and allocates a new
 *   one; every `HANDOFF` iterations a worker swaps its whole array for one parked on a
 *   shared board (remote frees, as in Larson & Krishnan).
 * - mstress: mimalloc-bench's size mix (8..128 B, retained ones up to 512 B, 0.9% x100 and
 *   0.1% x1000), a ring of local blocks, blocks kept until the round ends and a shared
 *   transfer array (remote frees); the thread detaches and attaches again between rounds.
 * - phase: grow to `liveBytes` of 16..256 B blocks, free the oldest 90% of them (a phase's
 *   data dropped), then grow to `liveBytes` again with 1..32 KiB blocks.
 *
 * The live figure is exact: every malloc, free and realloc adds its requested bytes to one
 * shared Int32 word with Atomics.add, and each worker keeps the largest value its own adds
 * produced, so the largest of the workers' peaks is the peak of the whole process's live set.
 *
 * Owns: nothing shared but what it is given (PatternContext). Bookkeeping arrays are
 * allocated before the measured run (makeBooks), so the patterns allocate no JS memory
 * while the process's resident set is being measured.
 */
import type { SharedHeap } from '../../src/index.js';

export const PATTERNS = ['churn', 'larson', 'mstress', 'phase'] as const;
export type PatternName = (typeof PATTERNS)[number];

const OS_PAGE = 4096;
const HANDOFF = 4096;
const MSTRESS_ROUNDS = 4;

/** Per-worker bookkeeping, sized once for a live target (so the run allocates nothing). */
export interface Books {
  ptr: Float64Array;
  size: Float64Array;
}

/** Shared words: [0] live bytes; the larson board and the mstress transfer array follow. */
export interface PatternContext {
  heap: SharedHeap;
  /** Reattaches the thread (mstress rounds); returns the new handle. */
  reattach: () => SharedHeap;
  u8: Uint8Array;
  shared: Int32Array;
  worker: number;
  workers: number;
  liveBytes: number;
  /** Iterations of the steady phase, per worker. */
  ops: number;
  seed: number;
  books: Books;
  /** Larson arrays (ptr, size) of every worker and board cell, in shared memory. */
  larson: Float64Array;
}

export const LIVE_WORD = 0;
export const BOARD_WORD = 16; // larson board cells: the array index parked there
export const BOARD_CELLS = 4;
export const TRANSFER_WORD = 32; // mstress transfer array: block pointers (0: empty)
export const TRANSFER_CELLS = 4096;
export const SHARED_WORDS = TRANSFER_WORD + 2 * TRANSFER_CELLS;

/** Mean sizes used to size bookkeeping (a few times too many slots costs nothing measured). */
export function slotsFor(pattern: PatternName, liveBytes: number): number {
  const mean = pattern === 'churn' ? 7800 : pattern === 'larson' ? 504 : pattern === 'mstress' ? 140 : 136;
  return Math.ceil((liveBytes / mean) * (pattern === 'churn' ? 3 : 1.3)) + 64;
}

export function makeBooks(pattern: PatternName, liveBytes: number): Books {
  const n = slotsFor(pattern, liveBytes);
  return { ptr: new Float64Array(n), size: new Float64Array(n) };
}

/** xorshift32, 31-bit outputs. */
export function rng(seed: number): () => number {
  let x = (Math.imul(seed | 0, -1640531535) ^ 0x5bd1e995) | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 1) & 0x7fffffff;
  };
}

/** The exact live count and this worker's view of its peak. */
class Live {
  peak = 0;
  constructor(private readonly shared: Int32Array) {}
  add(n: number): void {
    const v = Atomics.add(this.shared, LIVE_WORD, n) + n;
    if (v > this.peak) this.peak = v;
  }
}

function touch(u8: Uint8Array, p: number, n: number): void {
  for (let o = 0; o < n; o += OS_PAGE) u8[p + o] = 1;
  if (n > 0) u8[p + n - 1] = 1;
}

function mallocTouched(c: PatternContext, live: Live, n: number): number {
  const p = c.heap.malloc(n);
  touch(c.u8, p, n);
  live.add(n);
  return p;
}

/** Log-uniform size from 16 B to 64 KiB. */
function logUniform(r: number): number {
  return Math.max(16, Math.floor(16 * 2 ** ((r / 0x7fffffff) * 12)));
}

function churn(c: PatternContext, live: Live): void {
  const rnd = rng(c.seed * 131 + c.worker);
  const { ptr, size } = c.books;
  const slots = ptr.length;
  let mine = 0;
  for (let i = 0; i < c.ops; i++) {
    const k = rnd() % slots;
    const r = rnd();
    if (ptr[k] === 0) {
      if (mine >= c.liveBytes) continue;
      const n = logUniform(r);
      ptr[k] = mallocTouched(c, live, n);
      size[k] = n;
      mine += n;
    } else if (mine > c.liveBytes || (r & 3) === 0) {
      c.heap.free(ptr[k]!);
      live.add(-size[k]!);
      mine -= size[k]!;
      ptr[k] = 0;
    } else if ((r & 3) === 1) {
      const n = logUniform(rnd());
      const q = c.heap.realloc(ptr[k]!, n);
      touch(c.u8, q, n);
      live.add(n - size[k]!);
      mine += n - size[k]!;
      ptr[k] = q;
      size[k] = n;
    }
  }
}

function larson(c: PatternContext, live: Live): void {
  const rnd = rng(c.seed * 977 + c.worker);
  const slots = Math.ceil(c.liveBytes / 504);
  const a = c.larson;
  let arr = c.worker;
  for (let s = 0; s < slots; s++) {
    const n = 8 + (rnd() % 993);
    a[(arr * slots + s) * 2] = mallocTouched(c, live, n);
    a[(arr * slots + s) * 2 + 1] = n;
  }
  const cells = Math.min(BOARD_CELLS, c.workers);
  for (let i = 1; i <= c.ops; i++) {
    const o = (arr * slots + (rnd() % slots)) * 2;
    c.heap.free(a[o]!);
    live.add(-a[o + 1]!);
    const n = 8 + (rnd() % 993);
    a[o] = mallocTouched(c, live, n);
    a[o + 1] = n;
    // Board cells start holding arrays workers .. workers + cells - 1 (filled by worker 0).
    if (c.workers > 1 && i % HANDOFF === 0) arr = Atomics.exchange(c.shared, BOARD_WORD + (rnd() % cells), arr);
  }
}

/** mimalloc-bench mstress sizes: 8-byte items, 2^(r % maxShift), rarely x100 or x1000. */
function mstressSize(r: number, maxShift: number): number {
  let items = 1 << (r % maxShift);
  const x = (r >>> 8) % 1000;
  if (x < 1) items *= 1000;
  else if (x < 10) items *= 100;
  return items * 8;
}

function mstress(c: PatternContext, live: Live): void {
  const rnd = rng(c.seed * 7919 + c.worker);
  const { ptr, size } = c.books;
  const ring = Math.floor(ptr.length * 0.75);
  const transfer = c.shared;
  for (let round = 0; round < MSTRESS_ROUNDS; round++) {
    let retained = ring;
    for (let i = 0; i < c.ops / MSTRESS_ROUNDS; i++) {
      const r = rnd();
      if (r % 10 === 0 && retained < ptr.length) {
        const n = mstressSize(r >>> 4, 7);
        ptr[retained] = mallocTouched(c, live, n);
        size[retained++] = n;
      } else {
        const k = rnd() % ring;
        if (ptr[k] !== 0) {
          c.heap.free(ptr[k]!);
          live.add(-size[k]!);
        }
        const n = mstressSize(r >>> 4, 5);
        ptr[k] = mallocTouched(c, live, n);
        size[k] = n;
      }
      if (r % 4 === 1) swapTransfer(c, rnd, rnd() % ring);
    }
    for (let k = 0; k < retained; k++) freeSlot(c, live, k);
    if (round < MSTRESS_ROUNDS - 1) c.heap = c.reattach(); // a thread exit and a new thread
  }
}

/** Swaps ring slot k with a random transfer cell (pointer, size): the block moves threads. */
function swapTransfer(c: PatternContext, rnd: () => number, k: number): void {
  const cell = TRANSFER_WORD + 2 * (rnd() % TRANSFER_CELLS);
  const { ptr, size } = c.books;
  // A cell is (pointer, size); the pointer word is the claim: 0 = empty, -1 = being swapped.
  let p = Atomics.exchange(c.shared, cell, -1);
  while (p === -1) p = Atomics.exchange(c.shared, cell, -1);
  const n = c.shared[cell + 1]!;
  c.shared[cell + 1] = size[k]!;
  Atomics.store(c.shared, cell, ptr[k]!);
  ptr[k] = p >>> 0;
  size[k] = n;
}

function freeSlot(c: PatternContext, live: Live, k: number): void {
  const { ptr, size } = c.books;
  if (ptr[k] === 0) return;
  c.heap.free(ptr[k]!);
  live.add(-size[k]!);
  ptr[k] = 0;
  size[k] = 0;
}

function phase(c: PatternContext, live: Live): void {
  const rnd = rng(c.seed * 31 + c.worker);
  const { ptr, size } = c.books;
  let n = 0;
  for (let mine = 0; mine < c.liveBytes && n < ptr.length; n++) {
    size[n] = 16 + (rnd() % 241);
    ptr[n] = mallocTouched(c, live, size[n]!);
    mine += size[n]!;
  }
  const keep = Math.floor(n * 0.9);
  let mine = 0;
  for (let k = 0; k < n; k++) {
    if (k < keep) freeSlot(c, live, k);
    else mine += size[k]!;
  }
  for (let k = 0; mine < c.liveBytes && k < keep; k++) {
    size[k] = 1024 + (rnd() % (31 * 1024));
    ptr[k] = mallocTouched(c, live, size[k]!);
    mine += size[k]!;
  }
}

/** Runs pattern `name` on the context's heap; returns this worker's live peak. */
export function runPattern(name: PatternName, c: PatternContext): number {
  const live = new Live(c.shared);
  if (name === 'churn') churn(c, live);
  else if (name === 'larson') larson(c, live);
  else if (name === 'mstress') mstress(c, live);
  else phase(c, live);
  return live.peak;
}

/** Fills the larson board's arrays (worker 0, before the others start). */
export function fillBoard(c: PatternContext): void {
  const live = new Live(c.shared);
  const rnd = rng(c.seed * 4099);
  const slots = Math.ceil(c.liveBytes / 504);
  const cells = Math.min(BOARD_CELLS, c.workers);
  if (c.workers < 2) return;
  for (let b = 0; b < cells; b++) {
    const arr = c.workers + b;
    for (let s = 0; s < slots; s++) {
      const n = 8 + (rnd() % 993);
      c.larson[(arr * slots + s) * 2] = mallocTouched(c, live, n);
      c.larson[(arr * slots + s) * 2 + 1] = n;
    }
    Atomics.store(c.shared, BOARD_WORD + b, arr);
  }
}

/** Float64 words of the larson arrays for `workers` workers (their arrays plus the board's). */
export function larsonWords(liveBytes: number, workers: number): number {
  return (workers + (workers > 1 ? Math.min(BOARD_CELLS, workers) : 0)) * Math.ceil(liveBytes / 504) * 2;
}
