/**
 * The lab's one pseudo-random generator: xorshift32, deterministic, so a seed replays the
 * same work in every tool (the contention workloads' random tables, the stress tester's
 * operation mix, the micro benchmarks' churn, the memory replays). Not for anything that
 * needs statistical quality beyond picking sizes and slots.
 */

/** xorshift32 stream of uint32 values; seed 0 (a fixed point of xorshift) is replaced. */
export function rng32(seed: number): () => number {
  let s = seed >>> 0 || 0x6d2b79f5;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Uniform integer in [lo, hi]. */
export function between(next: () => number, lo: number, hi: number): number {
  return lo + (next() % (hi - lo + 1));
}

/** Uniform float in [0, 1). */
export function unit(next: () => number): number {
  return next() / 4294967296;
}

/** A seed for one (run seed, round, index) triple, mixed so neighbours do not correlate. */
export function deriveSeed(seed: number, round: number, index: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}
