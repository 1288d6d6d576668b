/**
 * What `sabmalloc stress` (bench/stress.ts), its worker (workers/stress-worker.ts) and the
 * fuzz test share: the control block layout, block tokens, the block pattern, the PRNG and
 * the size distributions.
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
 * BLOCK PATTERN over the first stampBytes(requested) bytes of a block at p:
 *   word 0  p / 16      word 1  generation      word 2  owner      word 3  requested size
 *   word i >= 4: (h ^ imul(i, 0x9e3779b1)) >>> 0, h = hash(p, generation, owner, salt)
 *   (every word up to 4 KiB and in the last 64 bytes; one word in 16 between)
 * Position-dependent, so a shifted or partial copy (realloc) and a block overlapping another
 * are caught; the per-run salt keeps data left over from an earlier round from validating.
 */

export const SMALL_MAX = 256 * 1024;

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

// ------------------------------------------------------------------- pattern

export const GOLD = 0x9e3779b1;

export function patternSeed(p: number, gen: number, owner: number, salt: number): number {
  let h = Math.imul((p >>> 4) ^ 0x85ebca6b, 0xcc9e2d51) ^ Math.imul(gen + 0x27d4eb2f, 0x1b873593);
  h ^= Math.imul(owner + 1, 0x2c1b3c6d) ^ salt;
  h ^= h >>> 15;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 13;
  return h >>> 0;
}

/** Bytes of a block the pattern covers: the requested size, at least 16, in whole words. */
export function stampBytes(requested: number): number {
  return Math.max(16, (requested + 3) & ~3);
}

export interface Stamp {
  p: number;
  gen: number;
  owner: number;
  requested: number;
}

/** Words of the pattern written in full; beyond, one word in SPARSE plus the last TAIL words. */
const DENSE_WORDS = 1024;
const SPARSE = 16;
const TAIL = 16;

/** Writes the pattern of `s` at address `at` (normally s.p). */
export function stampBlock(u32: Uint32Array, at: number, s: Stamp, salt: number): void {
  const w = at >>> 2;
  u32[w] = s.p / 16;
  u32[w + 1] = s.gen >>> 0;
  u32[w + 2] = s.owner >>> 0;
  u32[w + 3] = s.requested >>> 0;
  const h = patternSeed(s.p, s.gen, s.owner, salt);
  const words = stampBytes(s.requested) >>> 2;
  const dense = Math.min(words, DENSE_WORDS);
  for (let i = 4; i < dense; i++) u32[w + i] = (h ^ Math.imul(i, GOLD)) >>> 0;
  if (words <= DENSE_WORDS) return;
  const tail = Math.max(DENSE_WORDS, words - TAIL);
  for (let i = DENSE_WORDS; i < tail; i += SPARSE) u32[w + i] = (h ^ Math.imul(i, GOLD)) >>> 0;
  for (let i = tail; i < words; i++) u32[w + i] = (h ^ Math.imul(i, GOLD)) >>> 0;
}

/**
 * Checks the pattern of `s` at address `at` over its first `limit` bytes (default: all it
 * covers). Returns null when intact, else where and how it differs.
 * (Blocks above 4 KiB carry the pattern in full in their first 4 KiB and last 64 bytes,
 * and in one word of every 64 bytes between: stamping every byte of multi-MiB blocks on a
 * shared 2-core machine would measure memset, not the allocator.)
 */
export function verifyStamp(u32: Uint32Array, at: number, s: Stamp, salt: number, limit?: number): string | null {
  const w = at >>> 2;
  const full = stampBytes(s.requested) >>> 2;
  const words = limit === undefined ? full : Math.min(full, limit >>> 2);
  for (let i = 0; i < 4 && i < words; i++) {
    const want = i === 0 ? s.p / 16 : i === 1 ? s.gen >>> 0 : i === 2 ? s.owner >>> 0 : s.requested >>> 0;
    if (u32[w + i] !== want) {
      return `word ${i} is 0x${u32[w + i]!.toString(16)}, expected 0x${want.toString(16)} (found header: ${describeHeader(u32, at)})`;
    }
  }
  const h = patternSeed(s.p, s.gen, s.owner, salt);
  const dense = Math.min(words, DENSE_WORDS);
  for (let i = 4; i < dense; i++) {
    if (u32[w + i] !== (h ^ Math.imul(i, GOLD)) >>> 0) return patternMismatch(u32, w, i, h);
  }
  if (words <= DENSE_WORDS) return null;
  const tail = Math.max(DENSE_WORDS, full - TAIL);
  for (let i = DENSE_WORDS; i < tail && i < words; i += SPARSE) {
    if (u32[w + i] !== (h ^ Math.imul(i, GOLD)) >>> 0) return patternMismatch(u32, w, i, h);
  }
  for (let i = tail; i < words; i++) {
    if (u32[w + i] !== (h ^ Math.imul(i, GOLD)) >>> 0) return patternMismatch(u32, w, i, h);
  }
  return null;
}

function patternMismatch(u32: Uint32Array, w: number, i: number, h: number): string {
  const want = (h ^ Math.imul(i, GOLD)) >>> 0;
  return `byte +${i * 4} holds 0x${u32[w + i]!.toString(16)}, expected 0x${want.toString(16)}`;
}

/** The header words found at `at`, as a stamp would read them (who wrote over a block?). */
export function describeHeader(u32: Uint32Array, at: number): string {
  const w = at >>> 2;
  return `p/16=0x${u32[w]!.toString(16)} gen=${u32[w + 1]} owner=${u32[w + 2]} requested=${u32[w + 3]}`;
}

// ------------------------------------------------------------------- randomness

/** Deterministic PRNG (sfc32-like mix of a splitmix32 seed), uint32 per call. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  let b = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  let c = Math.imul(seed ^ 0x7f4a7c15, 0xc2b2ae35) >>> 0;
  let d = 1;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Derives a worker's seed from the run seed, the round and the worker index. */
export function deriveSeed(seed: number, round: number, index: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** Uniform integer in [lo, hi]. */
export function between(next: () => number, lo: number, hi: number): number {
  return lo + (next() % (hi - lo + 1));
}

/** Uniform float in [0, 1). */
export function unit(next: () => number): number {
  return next() / 4294967296;
}

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
