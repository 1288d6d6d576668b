/**
 * malloc/free latency from sampled calls: in each worker the adapter is wrapped so that
 * one call in `every` is timed with performance.now() (the others pay a counter and a
 * branch) into a log-linear histogram (8 buckets per power of two of nanoseconds); the
 * suite merges the workers' histograms and reads p50 / p99 / p99.9 off them.
 *
 * Timer resolution: Node's performance.now() is a double of milliseconds from a monotonic
 * nanosecond clock; two back-to-back reads cost a few tens of ns, and that cost is inside
 * every sample. Each worker measures that floor (the median of 256 empty timings) and
 * reports it next to the percentiles, so a p50 close to the floor reads "below resolution".
 *
 * Owns: one histogram pair per wrapped adapter (thread-local, plain arrays).
 */
import type { AllocatorAdapter, AllocatorSnapshot, MemorySample } from './adapters/types.js';

export const SUB_BUCKETS = 8;
export const LATENCY_BUCKETS = 48 * SUB_BUCKETS;

/** bucket of a duration in ns: 8 linear sub-buckets per power of two */
export function bucketOf(ns: number): number {
  if (ns < 1) return 0;
  const e = Math.floor(Math.log2(ns));
  const sub = Math.floor((ns / 2 ** e - 1) * SUB_BUCKETS);
  return Math.min(LATENCY_BUCKETS - 1, e * SUB_BUCKETS + sub);
}

/** lower bound in ns of bucket b */
export function bucketFloor(b: number): number {
  const e = Math.floor(b / SUB_BUCKETS);
  return 2 ** e * (1 + (b % SUB_BUCKETS) / SUB_BUCKETS);
}

/** The p-th quantile (0..1) of a histogram, as its bucket's lower bound in ns (null if empty). */
export function quantile(h: readonly number[], p: number): number | null {
  let total = 0;
  for (const c of h) total += c;
  if (total === 0) return null;
  const want = Math.ceil(total * p);
  let seen = 0;
  for (let b = 0; b < h.length; b++) {
    seen += h[b];
    if (seen >= want) return bucketFloor(b);
  }
  return bucketFloor(h.length - 1);
}

export interface LatencyHistograms {
  malloc: number[];
  free: number[];
  /** median cost of an empty timing (two performance.now() reads), ns */
  timerNs: number;
  every: number;
}

export function mergeHistograms(into: LatencyHistograms | undefined, more: LatencyHistograms): LatencyHistograms {
  if (!into) return { malloc: [...more.malloc], free: [...more.free], timerNs: more.timerNs, every: more.every };
  for (let b = 0; b < LATENCY_BUCKETS; b++) {
    into.malloc[b] += more.malloc[b];
    into.free[b] += more.free[b];
  }
  into.timerNs = Math.max(into.timerNs, more.timerNs);
  return into;
}

export interface LatencySummary {
  mallocP50Ns: number | null;
  mallocP99Ns: number | null;
  mallocP999Ns: number | null;
  freeP50Ns: number | null;
  freeP99Ns: number | null;
  freeP999Ns: number | null;
  samples: number;
  timerNs: number;
  every: number;
}

export function summarize(h: LatencyHistograms): LatencySummary {
  let samples = 0;
  for (let b = 0; b < LATENCY_BUCKETS; b++) samples += h.malloc[b] + h.free[b];
  return {
    mallocP50Ns: quantile(h.malloc, 0.5),
    mallocP99Ns: quantile(h.malloc, 0.99),
    mallocP999Ns: quantile(h.malloc, 0.999),
    freeP50Ns: quantile(h.free, 0.5),
    freeP99Ns: quantile(h.free, 0.99),
    freeP999Ns: quantile(h.free, 0.999),
    samples,
    timerNs: h.timerNs,
    every: h.every,
  };
}

function timerFloorNs(): number {
  const t: number[] = [];
  for (let i = 0; i < 256; i++) {
    const a = performance.now();
    t.push((performance.now() - a) * 1e6);
  }
  t.sort((x, y) => x - y);
  return t[128];
}

/**
 * The adapter a workload drives when latency sampling is on: forwards every call, times
 * one in `every`. Samples are taken over the whole task (set-up and cleanup included,
 * which is where a workload's large fills and drains happen); they are a distribution of
 * single calls, not of the timed window's throughput.
 */
export class SampledAdapter implements AllocatorAdapter {
  readonly buffer: SharedArrayBuffer;
  private readonly hm = new Array<number>(LATENCY_BUCKETS).fill(0);
  private readonly hf = new Array<number>(LATENCY_BUCKETS).fill(0);
  /** calls of each kind left before the next timed one (separate: workloads alternate free and malloc) */
  private leftM: number;
  private leftF: number;
  readonly usableSize?: (p: number) => number;

  constructor(
    private readonly a: AllocatorAdapter,
    private readonly every: number,
  ) {
    this.buffer = a.buffer;
    this.leftM = every;
    this.leftF = every;
    if (a.usableSize) this.usableSize = (p) => a.usableSize!(p);
  }

  malloc(n: number): number {
    if (--this.leftM !== 0) return this.a.malloc(n);
    this.leftM = this.every;
    const t = performance.now();
    const p = this.a.malloc(n);
    this.hm[bucketOf((performance.now() - t) * 1e6)]++;
    return p;
  }

  free(p: number): void {
    if (--this.leftF !== 0) {
      this.a.free(p);
      return;
    }
    this.leftF = this.every;
    const t = performance.now();
    this.a.free(p);
    this.hf[bucketOf((performance.now() - t) * 1e6)]++;
  }

  detach(): void {
    this.a.detach();
  }

  memory(): MemorySample {
    return this.a.memory();
  }

  snapshot(): AllocatorSnapshot {
    return this.a.snapshot();
  }

  histograms(): LatencyHistograms {
    return { malloc: this.hm, free: this.hf, timerNs: timerFloorNs(), every: this.every };
  }
}
