/**
 * The lab's block stamp: a position-dependent pattern written over a block and checked
 * before the block is freed, so a block handed out twice, overlapping another, copied
 * shifted or partly (realloc), or left over from an earlier round is caught and described.
 * Two variants of one format family, both here so the lab has one place that decides what a
 * stamped block looks like:
 * - the full pattern (stampBlock / verifyStamp): used by the stress tester (bench/stress/)
 *   and the tests built on it, where catching every kind of misplaced write matters more
 *   than the cost of a hash per word;
 * - the tag variant (stampTag / tagIntact): used inside the contention suite's timed
 *   windows, where the stamp must cost about what a real program's first touch costs
 *   (Int32Array.fill at native speed), so it must not hide the allocators' differences.
 *
 * Over the first stampBytes(requested) bytes of a block at p:
 *   word 0  p / 16      word 1  generation      word 2  owner      word 3  requested size
 *   word i >= 4: (h ^ imul(i, 0x9e3779b1)) >>> 0, h = hash(p, generation, owner, salt)
 *   (every word up to 4 KiB and in the last 64 bytes; one word in 16 between)
 * Position-dependent, so a shifted or partial copy (realloc) and a block overlapping another
 * are caught; the per-run salt keeps data left over from an earlier round from validating.
 */

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

/**
 * The tag variant. One int32 tag per allocation, unique to it (tagBase + k * TAG_STEP, never
 * 0, which fresh memory holds), written over [p, p + n): every word ('full'), or sparsely
 * ('sparse', the contention suite's default): blocks up to 128 bytes still whole, larger ones
 * one word in SPARSE from the start plus the last word. tagIntact reads the first, the last
 * and a middle word that both densities write. A block handed to two owners at once, or
 * overlapping another live block on a stamped word, breaks a tag; requested sizes must be
 * >= 8 bytes (two whole words). The density is per thread (module state), set once per
 * task before any block is stamped.
 */
export type TagDensity = 'full' | 'sparse';
const tagDensity = { full: true };
export function setTagDensity(mode: TagDensity): void {
  tagDensity.full = mode === 'full';
}

/** Stamps `tag` on the block [p, p + n) of the heap's int32 view. */
export function stampTag(h: Int32Array, p: number, n: number, tag: number): void {
  const a = p >>> 2;
  const e = (p + n) >>> 2;
  if (tagDensity.full || e - a <= 32) {
    h.fill(tag, a, e);
    return;
  }
  for (let i = a; i < e; i += SPARSE) h[i] = tag;
  h[e - 1] = tag;
}

/** Word index of the middle word tagIntact reads: a multiple of SPARSE words from the start. */
function tagMiddle(a: number, e: number): number {
  return a + (((e - a) >>> 5) << 4);
}

/** True if the first, last and a middle stamped word of [p, p + n) still hold `tag`. */
export function tagIntact(h: Int32Array, p: number, n: number, tag: number): boolean {
  const a = p >>> 2;
  const e = ((p + n) >>> 2) - 1;
  return h[a] === tag && h[e] === tag && h[tagMiddle(a, e)] === tag;
}

/** What a tag-stamped block holds instead of `tag` (for the verification error). */
export function describeTag(h: Int32Array, p: number, n: number, tag: number): string {
  const a = p >>> 2;
  const e = ((p + n) >>> 2) - 1;
  return `block ${p} (${n} B) expected tag ${tag}, found first=${h[a]} middle=${h[tagMiddle(a, e)]} last=${h[e]}`;
}

/** First tag of a worker's stream in one round: distinct per worker and round, odd. */
export function tagBase(worker: number, round: number): number {
  return (((worker + 1) * 0x01000193) ^ (round * 0x7feb352d)) | 1;
}
/** Step between a worker's tags: even, so tags keep tagBase's low bit (1) and never reach 0. */
export const TAG_STEP = 0x9e3779b2;
