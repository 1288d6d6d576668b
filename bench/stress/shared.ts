/**
 * What `sabmalloc stress` (bench/stress/run.ts), its worker (bench/stress/tasks.ts) and the
 * fuzz test share: the control block layout, block tokens and the size distributions (the
 * block pattern and the PRNG are the kit's: bench/kit/stamp.ts, bench/kit/prng.ts).
 *
 * CONTROL BLOCK: one large block malloc'd from the heap under test by the main thread (so
 * it lives in the buffer, and the allocator must never hand out memory overlapping it):
 *
 *   byte offset (from the block start)   contents
 *   0      Int32 x 16                    control words (`CW` below)
 *   64     Float64 x 16 per worker       per-worker live counters (`WS` below), 128 bytes
 *                                        apart so workers never share a cache line
 *   ...    BigInt64 x handoffSlots       the HAND-OFF array: block tokens, 0 = empty,
 *                                        swapped with Atomics.exchange
 *   ...    BigInt64 x localCap per worker the LOCAL tables: worker w's live blocks; only w
 *                                        writes its table while it runs; the main thread
 *                                        reads them between phases (and after a kill)
 *
 * TOKEN (BigInt64, never 0 for a block):
 *   bits  0..27  p / 16         (pointers are 16-aligned and < 2^32)
 *   bits 28..39  owner          (1 + index of the worker that stamped the block; 0 = main)
 *   bits 40..62  generation     (low 23 bits of the owner's stamp counter)
 * The token is the bookkeeping outside the block: when a block's own bytes are found
 * broken, the token still says who allocated (stamped) it.
 *
 * BLOCK PATTERN: bench/kit/stamp.ts.
 */

import { SMALL_MAX } from '../../src/index.js';
import { between } from '../kit/prng.js';

/** Control words (Int32 index from the control block start). */
export const CW = {
  STOP: 0, // set by the main thread: workers leave their op loop
  WORKERS: 1,
  HANDOFF: 2,
  LOCAL_CAP: 3,
  STARTED: 4, // workers that have attached (Atomics.add)
} as const;

/** Per-worker Float64 counters (index from the worker's first float64). */
export const WS = {
  OPS: 0,
  LIVE_BYTES: 1, // usable bytes this worker allocated minus usable bytes it freed (may go negative)
  INTENT_OP: 2, // what the worker is doing right now (Intent), for recovery after a kill
  INTENT_PTR: 3, // the block that op is about
  INTENT_SIZE: 4, // usable size of that block (free / realloc: the old block)
  DONE: 5, // 1 once the worker has detached
  INTENT_TOKEN_LO: 6, // token of the block (low 32 bits, then high 31 bits) for kill recovery
  INTENT_TOKEN_HI: 7,
  THREAD_ID: 8, // worker_threads threadId of the thread running the worker's task
} as const;

export const Intent = {
  NONE: 0,
  MALLOC: 1, // malloc called; INTENT_PTR set as soon as it returned, before the block is tabled
  FREE: 2, // INTENT_PTR about to be freed (already removed from the table)
  REALLOC: 3, // INTENT_PTR about to be reallocated (already removed from the table)
  HANDOFF: 4, // a token being swapped through the hand-off array
} as const;

const CONTROL_WORDS_BYTES = 64;
const WORKER_STATS_BYTES = 128;

export interface ControlLayout {
  workers: number;
  handoffSlots: number;
  localCap: number;
  /** Byte offsets from the control block start. */
  statsOff: number;
  handoffOff: number;
  localOff: number;
  bytes: number;
}

export function controlLayout(workers: number, handoffSlots: number, localCap: number): ControlLayout {
  const statsOff = CONTROL_WORDS_BYTES;
  const handoffOff = statsOff + workers * WORKER_STATS_BYTES;
  const localOff = handoffOff + handoffSlots * 8;
  const bytes = localOff + workers * localCap * 8;
  return { workers, handoffSlots, localCap, statsOff, handoffOff, localOff, bytes };
}

/** Typed views over a control block at byte offset `at` (16-aligned) of `buffer`. */
export interface ControlViews {
  i32: Int32Array;
  f64: Float64Array;
  handoff: BigInt64Array;
  local: BigInt64Array;
  layout: ControlLayout;
}

export function controlViews(buffer: SharedArrayBuffer, at: number, L: ControlLayout): ControlViews {
  return {
    i32: new Int32Array(buffer, at, CONTROL_WORDS_BYTES / 4),
    f64: new Float64Array(buffer, at + L.statsOff, (L.workers * WORKER_STATS_BYTES) / 8),
    handoff: new BigInt64Array(buffer, at + L.handoffOff, L.handoffSlots),
    local: new BigInt64Array(buffer, at + L.localOff, L.workers * L.localCap),
    layout: L,
  };
}

/** First float64 of worker w's counters in ControlViews.f64. */
export function statsBase(w: number): number {
  return (w * WORKER_STATS_BYTES) / 8;
}

// ------------------------------------------------------------------- tokens

export const GEN_MASK = 0x7fffff;

export function makeToken(p: number, owner: number, gen: number): bigint {
  return BigInt(p / 16) | (BigInt(owner & 0xfff) << 28n) | (BigInt(gen & GEN_MASK) << 40n);
}

export function tokenPtr(t: bigint): number {
  return Number(t & 0xfffffffn) * 16;
}

export function tokenOwner(t: bigint): number {
  return Number((t >> 28n) & 0xfffn);
}

export function tokenGen(t: bigint): number {
  return Number((t >> 40n) & BigInt(GEN_MASK));
}

/** "worker 3" for owner 4, "the main thread" for owner 0. */
export function ownerName(owner: number): string {
  return owner === 0 ? 'the main thread' : `worker ${owner - 1}`;
}

// ------------------------------------------------------------------- sizes

export type SizeMix = 'small' | 'mixed' | 'large';
export const SIZE_MIXES: readonly SizeMix[] = ['small', 'mixed', 'large'];

const KiB = 1024;
const MiB = 1024 * 1024;

/**
 * small: 90% 1 B..1 KiB, 10% 1..32 KiB (thread-cache and central-cache traffic only);
 * mixed: 85% 1 B..1 KiB, 10% ..64 KiB, 4% ..256 KiB, 1% 256 KiB..1 MiB (page heap too);
 * large: 40% ..1 KiB, 30% ..256 KiB, 25% 256 KiB..1 MiB, 5% 1..6 MiB (spans of many pages).
 */
export function sizeOf(mix: SizeMix, next: () => number): number {
  const r = next() % 100;
  switch (mix) {
    case 'small':
      return r < 90 ? between(next, 1, KiB) : between(next, KiB + 1, 32 * KiB);
    case 'mixed':
      if (r < 85) return between(next, 1, KiB);
      if (r < 95) return between(next, KiB + 1, 64 * KiB);
      if (r < 99) return between(next, 64 * KiB + 1, SMALL_MAX);
      return between(next, SMALL_MAX + 1, MiB);
    case 'large':
      if (r < 40) return between(next, 1, KiB);
      if (r < 70) return between(next, KiB + 1, SMALL_MAX);
      if (r < 95) return between(next, SMALL_MAX + 1, MiB);
      return between(next, MiB + 1, 6 * MiB);
  }
}

/** Largest size a mix can ask for. */
export function maxSizeOf(mix: SizeMix): number {
  return mix === 'small' ? 32 * KiB : mix === 'mixed' ? MiB : 6 * MiB;
}

/** Operation counts of a task (and, summed, of a run). */
export interface OpCounts {
  ops: number;
  allocs: number;
  frees: number;
  /** frees of blocks another worker (or the main thread) stamped */
  remoteFrees: number;
  reallocs: number;
  handoffs: number;
  oom: number;
  bytesAllocated: number;
}

export const OP_COUNT_KEYS: readonly (keyof OpCounts)[] = ['ops', 'allocs', 'frees', 'remoteFrees', 'reallocs', 'handoffs', 'oom', 'bytesAllocated'];

/** Every op counter at zero (a worker's and the summary's starting point). */
export function zeroOpCounts(): OpCounts {
  return { ops: 0, allocs: 0, frees: 0, remoteFrees: 0, reallocs: 0, handoffs: 0, oom: 0, bytesAllocated: 0 };
}
