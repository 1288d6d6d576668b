/**
 * Block stamping and verification for the library's tests and their heap worker
 * (test/fixtures/heap-worker.ts), with the small PRNG they replay work from. The library's
 * tests import nothing from the lab, so this is theirs alone.
 *
 * A stamped block of `len` usable bytes at byte offset `p` (16-aligned, len >= 16) holds:
 *   word 0 (bytes 0..3)   p / 16          (so a block moved or overlapped is caught)
 *   word 1 (bytes 4..7)   tag             (owner id: who allocated it)
 *   word 2 (bytes 8..11)  requested size  (what malloc was asked for)
 *   bytes 12..len-1       fillByte(p, tag)
 * Everything is little-endian-independent because it is written and read with the same
 * Uint32Array view. Views are created over the whole buffer without a length so they track a
 * growable SharedArrayBuffer.
 */

export interface BlockViews {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
}

export function viewsOf(buffer: SharedArrayBuffer): BlockViews {
  return { u8: new Uint8Array(buffer), u32: new Uint32Array(buffer) };
}

/** A byte in 1..255 derived from (pointer, tag); never 0 so zeroed memory never passes. */
export function fillByte(p: number, tag: number): number {
  let h = Math.imul((p / 16) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(tag + 0x27d4eb2f, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 13;
  return (h & 0xff) % 255 + 1;
}

/** Writes the stamp over [p, p + len). */
export function stampBlock(v: BlockViews, p: number, len: number, tag: number, requested: number): void {
  const w = p / 4;
  v.u32[w] = p / 16;
  v.u32[w + 1] = tag >>> 0;
  v.u32[w + 2] = requested >>> 0;
  v.u8.fill(fillByte(p, tag), p + 12, p + len);
}

/** Reads the owner tag of a stamped block (word 1). */
export function tagOf(v: BlockViews, p: number): number {
  return v.u32[p / 4 + 1]!;
}

/** Reads the requested size of a stamped block (word 2). */
export function requestedOf(v: BlockViews, p: number): number {
  return v.u32[p / 4 + 2]!;
}

/**
 * Checks the stamp over [p, p + len) with the given tag (undefined: trust the stored tag):
 * word 0, the tag, the requested-size word within [1, len], and every fill byte.
 * Returns null when intact, else a description of the first mismatch.
 */
export function verifyBlock(v: BlockViews, p: number, len: number, tag?: number): string | null {
  const w = p / 4;
  if (v.u32[w] !== p / 16) return `block ${p}: word 0 is ${v.u32[w]}, expected ${p / 16}`;
  const t = tag ?? v.u32[w + 1]!;
  if (v.u32[w + 1] !== t >>> 0) return `block ${p}: owner tag is ${v.u32[w + 1]}, expected ${t}`;
  const req = v.u32[w + 2]!;
  if (req < 1 || req > len) return `block ${p}: requested size word ${req} is not in [1, ${len}]`;
  return verifyFill(v, p, 12, len, fillByte(p, t));
}

/** Checks that bytes [p + from, p + to) all equal `b`; null when they do. */
export function verifyFill(v: BlockViews, p: number, from: number, to: number, b: number): string | null {
  let i = p + from;
  const end = p + to;
  while (i < end && (i & 3) !== 0) {
    if (v.u8[i] !== b) return mismatch(v, p, i, b);
    i++;
  }
  const word = (b * 0x01010101) >>> 0;
  const wEnd = Math.floor(end / 4);
  for (let w = i / 4; w < wEnd; w++) {
    if (v.u32[w] !== word) {
      for (let j = w * 4; j < w * 4 + 4; j++) if (v.u8[j] !== b) return mismatch(v, p, j, b);
    }
  }
  for (i = Math.max(i, wEnd * 4); i < end; i++) if (v.u8[i] !== b) return mismatch(v, p, i, b);
  return null;
}

function mismatch(v: BlockViews, p: number, i: number, b: number): string {
  return `block ${p}: byte at +${i - p} is ${v.u8[i]}, expected ${b}`;
}

/**
 * The tests' own small deterministic PRNG, so workers and tests replay the same work:
 * mulberry32 (a counter through a 32-bit mix), not the lab's xorshift32 (bench/kit/prng.ts),
 * which the library's tests may not import. Any seed works, 0 included.
 */
export function rng32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let z = Math.imul(s ^ (s >>> 15), s | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  };
}

/** Uniform integer in [lo, hi]. */
export function between(next: () => number, lo: number, hi: number): number {
  return lo + (next() % (hi - lo + 1));
}

/**
 * Mostly small, some large sizes in [16 B, 1 MiB]: 85% 16..1 KiB, 10% 1..64 KiB,
 * 4% 64..256 KiB, 1% 256 KiB..1 MiB (served as spans of their own).
 */
export function mixedSize(next: () => number): number {
  const r = next() % 100;
  if (r < 85) return between(next, 16, 1024);
  if (r < 95) return between(next, 1025, 64 * 1024);
  if (r < 99) return between(next, 64 * 1024 + 1, 256 * 1024);
  return between(next, 256 * 1024 + 1, 1024 * 1024);
}
