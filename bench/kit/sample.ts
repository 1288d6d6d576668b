/**
 * Repetition statistics of one measured point: the median of its repetitions and an
 * interval around it, as every lab tool reports them.
 *
 * Owns: nothing; pure, deterministic functions (the bootstrap draws from a seeded
 * generator, so one set of figures always gives one interval). Host-agnostic: no Node
 * import, so it bundles for the web lab.
 *
 * Statistics, and why:
 * - The median, not the mean: benchmark repetitions on a shared machine have one-sided
 *   outliers (a repetition that lost its core), which drag a mean and barely move a median.
 * - The interval is a bootstrap percentile CI of the median (Efron): resample the
 *   repetitions with replacement, take each resample's median, and report the 2.5% and
 *   97.5% percentiles of those medians. It assumes nothing about the distribution's shape.
 * - Below BOOTSTRAP_MIN_N repetitions the bootstrap is not used: the resampled median can
 *   then only take a few of the observed values and the percentile interval undercovers.
 *   The interval is min..max instead, labelled 'minmax'. Its coverage of the true median
 *   is exact and distribution-free (order statistics of a continuous distribution):
 *   1 - 2 * 0.5^n, i.e. 75% at n = 3, 93.75% at n = 5 (minmaxCoverage). No interval
 *   built from order statistics reaches 95% below n = 6, which is why the bootstrap
 *   starts there.
 * - Relative spread ((max - min) / |median|) and relative CI width ((hi - lo) / |median|)
 *   are the two "how much do the repetitions disagree" figures the noise flags use.
 *
 * Non-finite inputs (NaN, Infinity) are dropped before anything is computed; n counts
 * the finite ones. A point with n = 0 has NaN median and bounds.
 */

/** How the interval of a Point was obtained (see the header). */
export type CiMethod = 'bootstrap95' | 'minmax';

/** The summary of one point's repetitions, as stored in results JSON. */
export interface Point {
  median: number;
  /** lower and upper bound of the interval around the median */
  lo: number;
  hi: number;
  ciMethod: CiMethod;
  /** finite repetitions the point summarises */
  n: number;
  /** noise flag codes (bench/kit/noise.ts); empty when nothing was flagged */
  flags: string[];
}

/** Fewest repetitions for which the bootstrap interval is used (below: min..max). */
export const BOOTSTRAP_MIN_N = 6;
/** Bootstrap resamples: enough that the 2.5% / 97.5% percentiles are stable to ~1%. */
export const BOOTSTRAP_RESAMPLES = 2000;
/** Default generator seed of the bootstrap: fixed, so figures -> interval is a function. */
export const BOOTSTRAP_SEED = 0x5eed_b007;

/**
 * A small seeded generator (mulberry32) returning floats in [0, 1). Statistical use only:
 * resampling indices, synthetic test figures.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The finite values of xs, sorted ascending (a new array). */
export function finiteSorted(xs: readonly number[]): number[] {
  return xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

/** Median of an ascending array (NaN when empty). */
export function medianSorted(s: ArrayLike<number>): number {
  const n = s.length;
  if (n === 0) return NaN;
  const m = n >> 1;
  return n % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median of the finite values of xs (NaN when there are none). */
export function median(xs: readonly number[]): number {
  return medianSorted(finiteSorted(xs));
}

/**
 * Quantile q in [0, 1] of an ascending array, linear between order statistics (the
 * common "type 7" definition). NaN when empty.
 */
export function quantileSorted(s: ArrayLike<number>, q: number): number {
  const n = s.length;
  if (n === 0) return NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const i = Math.floor(h);
  return i + 1 < n ? s[i]! + (h - i) * (s[i + 1]! - s[i]!) : s[n - 1]!;
}

/** Probability that min..max of n independent draws contains the true median. */
export function minmaxCoverage(n: number): number {
  return n < 2 ? 0 : 1 - 2 * 0.5 ** n;
}

export interface BootstrapOptions {
  /** resamples (default BOOTSTRAP_RESAMPLES) */
  resamples?: number;
  /** generator seed (default BOOTSTRAP_SEED) */
  seed?: number;
  /** two-sided confidence level (default 0.95) */
  level?: number;
}

/** The medians of `resamples` bootstrap resamples of s (ascending input, sorted output). */
export function bootstrapMedians(s: ArrayLike<number>, opts: BootstrapOptions = {}): Float64Array {
  const n = s.length;
  const b = opts.resamples ?? BOOTSTRAP_RESAMPLES;
  const rand = seededRandom(opts.seed ?? BOOTSTRAP_SEED);
  const out = new Float64Array(b);
  const draw = new Float64Array(n);
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < n; i++) draw[i] = s[Math.floor(rand() * n)]!;
    draw.sort();
    out[r] = medianSorted(draw);
  }
  return out.sort();
}

/** Bootstrap percentile CI of the median of the finite values of xs. */
export function bootstrapMedianCI(xs: readonly number[], opts: BootstrapOptions = {}): { lo: number; hi: number } {
  const s = finiteSorted(xs);
  if (s.length === 0) return { lo: NaN, hi: NaN };
  const alpha = 1 - (opts.level ?? 0.95);
  const meds = bootstrapMedians(s, opts);
  return { lo: quantileSorted(meds, alpha / 2), hi: quantileSorted(meds, 1 - alpha / 2) };
}

/**
 * The Point of a set of repetitions: median, and the bootstrap 95% CI from
 * BOOTSTRAP_MIN_N repetitions on, min..max below (see the header).
 */
export function summarize(xs: readonly number[], opts: BootstrapOptions & { flags?: string[] } = {}): Point {
  const s = finiteSorted(xs);
  const n = s.length;
  const flags = opts.flags ? [...opts.flags] : [];
  if (n === 0) return { median: NaN, lo: NaN, hi: NaN, ciMethod: 'minmax', n, flags };
  const med = medianSorted(s);
  if (n < BOOTSTRAP_MIN_N) return { median: med, lo: s[0]!, hi: s[n - 1]!, ciMethod: 'minmax', n, flags };
  const { lo, hi } = bootstrapMedianCI(s, opts);
  return { median: med, lo, hi, ciMethod: 'bootstrap95', n, flags };
}

/** (max - min) / |median| of the finite values (0 for one value, NaN for none). */
export function relativeSpread(xs: readonly number[]): number {
  const s = finiteSorted(xs);
  if (s.length === 0) return NaN;
  const med = medianSorted(s);
  const w = s[s.length - 1]! - s[0]!;
  return w === 0 ? 0 : med === 0 ? Infinity : w / Math.abs(med);
}

/** (hi - lo) / |median| of a Point: how wide its interval is relative to its value. */
export function relativeWidth(p: Pick<Point, 'median' | 'lo' | 'hi'>): number {
  const w = p.hi - p.lo;
  if (!Number.isFinite(w)) return NaN;
  return w === 0 ? 0 : p.median === 0 ? Infinity : w / Math.abs(p.median);
}

/** The interval's label for tables: "95% CI" or "min..max (n=3, covers the median 75%)". */
export function ciLabel(p: Pick<Point, 'ciMethod' | 'n'>): string {
  if (p.ciMethod === 'bootstrap95') return '95% CI (bootstrap)';
  if (p.n < 2) return `single repetition (no interval)`;
  return `min..max of ${p.n} (covers the median with ${(100 * minmaxCoverage(p.n)).toFixed(p.n >= 5 ? 2 : 0)}%)`;
}

/**
 * A Point for a table cell: "5.45M [5.10M..5.80M]", its flags in parentheses after it
 * ("... (spread)"); the median alone for a single repetition; "-" for none.
 */
export function formatPoint(p: Point | null, fmt: (x: number) => string): string {
  if (!p || p.n === 0) return '-';
  const flags = p.flags.length ? ` (${p.flags.join(', ')})` : '';
  return (p.n >= 2 ? `${fmt(p.median)} [${fmt(p.lo)}..${fmt(p.hi)}]` : fmt(p.median)) + flags;
}

export interface StabilityRule {
  /** stop once (hi - lo) / median is at most this (e.g. 0.05) */
  maxRelativeWidth: number;
  /** never stop before this many repetitions (default 3) */
  minReps?: number;
  /** never go past this many (default 30) */
  maxReps?: number;
}

/**
 * For repeating "until stable": whether another repetition is wanted, and why not if
 * not. The caller also stops when its time budget ends; the interval is the one
 * summarize() reports, so the stopping rule and the printed interval agree. (Stopping
 * on the interval's width biases nothing about the median's position, but a point
 * stopped at maxReps is reported with its width, which then exceeds the bound.)
 */
export function needsMoreReps(xs: readonly number[], rule: StabilityRule): { more: boolean; why: string } {
  const minReps = rule.minReps ?? 3;
  const maxReps = rule.maxReps ?? 30;
  const p = summarize(xs);
  if (p.n < minReps) return { more: true, why: `${p.n} of at least ${minReps} repetitions` };
  const w = relativeWidth(p);
  if (w <= rule.maxRelativeWidth) return { more: false, why: `interval ${(100 * w).toFixed(1)}% of the median, within ${(100 * rule.maxRelativeWidth).toFixed(1)}%` };
  if (p.n >= maxReps) return { more: false, why: `${maxReps} repetitions reached with the interval still ${(100 * w).toFixed(1)}% of the median` };
  return { more: true, why: `interval ${(100 * w).toFixed(1)}% of the median, above ${(100 * rule.maxRelativeWidth).toFixed(1)}%` };
}
