/**
 * Whether two sets of repetitions of one point (the first run and the second) differ: the size of the
 * change as a ratio of medians with an interval, and a verdict from a significance test.
 *
 * Owns: nothing; pure, deterministic functions (seeded bootstrap). Host-agnostic.
 *
 * Statistics, and why:
 * - The effect is median(B) / median(A), with an interval: from BOOTSTRAP_MIN_N repetitions
 *   on each side a bootstrap percentile CI of the ratio (both sides resampled
 *   independently, seeded); below that the bounds min(B)/max(A) .. max(B)/min(A), which
 *   contain every ratio the repetitions allow (labelled 'minmax').
 * - The test is the Mann-Whitney U test (Wilcoxon rank-sum), two-sided, over the
 *   repetitions: it assumes no distribution shape, only that repetitions of a run are
 *   exchangeable, and one outlying repetition moves one rank, not the result. Exact null
 *   distribution (all C(N, nA) splits, counted by dynamic programming over doubled
 *   mid-ranks, so ties are exact too) up to EXACT_MAX_N repetitions in all; above, the
 *   normal approximation with tie correction and continuity correction.
 * - "Changed" needs both p < alpha AND the ratio's interval excluding 1, so the verdict
 *   never contradicts the interval printed beside it. Under no change (an A/A comparison)
 *   the test alone calls a change at most alpha of the time; the second condition only
 *   lowers that. "No evidence of change" is therefore the common answer, by design.
 * - Small n: a rank test cannot reach p < alpha with too few repetitions (its smallest
 *   two-sided p is 2 / C(nA + nB, nA): 0.10 for 3 + 3, 0.029 for 4 + 4). When the two
 *   sets do not even overlap at such n the verdict is 'too few repetitions', saying what
 *   n would be needed, rather than a change the data cannot support.
 * - 'noisy' when the caller passes noise flags for either side (compare passes the
 *   machine flags of bench/kit/noise.ts): the test's assumption, repetitions of one
 *   stable condition, is what those flags say failed. The test's figures are still
 *   returned so a reader can see them.
 */
import { BOOTSTRAP_MIN_N, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, finiteSorted, medianSorted, quantileSorted, seededRandom, type CiMethod } from './sample.js';

/** Largest nA + nB for which the exact Mann-Whitney distribution is computed. */
export const EXACT_MAX_N = 60;
/** Default significance level of the verdict. */
export const DEFAULT_ALPHA = 0.05;

export interface MannWhitney {
  /** U statistic of A: pairs (a, b) with a > b, ties counting one half */
  u: number;
  /** two-sided p-value */
  p: number;
  method: 'exact' | 'normal';
  /** smallest two-sided p any outcome could give at these n (2 / C(nA + nB, nA)) */
  minP: number;
}

export interface RatioInterval {
  /** median(B) / median(A) (NaN when either median is not positive) */
  ratio: number;
  lo: number;
  hi: number;
  ciMethod: CiMethod;
}

export type Change = 'higher' | 'lower' | 'no evidence of change' | 'too few repetitions' | 'noisy';

export interface Verdict {
  ratio: RatioInterval;
  /** null when a side has no finite repetition */
  test: MannWhitney | null;
  change: Change;
  /** one sentence: why this verdict */
  reason: string;
}

export interface VerdictOptions {
  alpha?: number;
  /** noise flag codes of each side (any flag makes the verdict 'noisy') */
  flagsA?: readonly string[];
  flagsB?: readonly string[];
  seed?: number;
  resamples?: number;
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** The binomial coefficient C(n, k) (exact while it stays below 2^53). */
function choose(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

/** Doubled mid-ranks of the pooled values (integers even with ties) and the tie groups' sizes. */
function doubledRanks(pooled: readonly number[]): { r2: number[]; ties: number[] } {
  const idx = pooled.map((_, i) => i).sort((i, j) => pooled[i]! - pooled[j]!);
  const r2 = new Array<number>(pooled.length);
  const ties: number[] = [];
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && pooled[idx[j + 1]!] === pooled[idx[i]!]) j++;
    // ranks i+1 .. j+1 share their mean (i + j + 2) / 2; doubled: i + j + 2
    for (let k = i; k <= j; k++) r2[idx[k]!] = i + j + 2;
    if (j > i) ties.push(j - i + 1);
    i = j + 1;
  }
  return { r2, ties };
}

/** Two-sided p of the exact rank-sum distribution: P(|W2 - mean| >= |w2 - mean|) over all splits. */
function exactP(r2: readonly number[], nA: number, w2: number): number {
  const maxSum = r2.reduce((s, x) => s + x, 0);
  // ways[k * (maxSum + 1) + s]: subsets of k items (among those seen) with doubled rank sum s
  const stride = maxSum + 1;
  const ways = new Float64Array((nA + 1) * stride);
  ways[0] = 1;
  for (const r of r2) {
    for (let k = nA; k >= 1; k--) {
      const to = k * stride;
      const from = (k - 1) * stride;
      for (let s = maxSum; s >= r; s--) ways[to + s] += ways[from + s - r];
    }
  }
  const mean = (nA * maxSum) / r2.length;
  const d = Math.abs(w2 - mean) - 1e-9;
  let hit = 0;
  let all = 0;
  for (let s = 0; s <= maxSum; s++) {
    const c = ways[nA * stride + s]!;
    all += c;
    if (Math.abs(s - mean) >= d) hit += c;
  }
  return Math.min(1, hit / all);
}

/** Mann-Whitney U test (two-sided) of the finite values of a and b; null when a side is empty. */
export function mannWhitney(a: readonly number[], b: readonly number[]): MannWhitney | null {
  const xa = a.filter(Number.isFinite);
  const xb = b.filter(Number.isFinite);
  const nA = xa.length;
  const nB = xb.length;
  if (nA === 0 || nB === 0) return null;
  const n = nA + nB;
  const { r2, ties } = doubledRanks([...xa, ...xb]);
  let w2 = 0;
  for (let i = 0; i < nA; i++) w2 += r2[i]!;
  const u = w2 / 2 - (nA * (nA + 1)) / 2;
  const minP = Math.min(1, 2 / choose(n, nA));
  if (n <= EXACT_MAX_N) return { u, p: exactP(r2, nA, w2), method: 'exact', minP };
  const tieTerm = ties.reduce((s, t) => s + t * t * t - t, 0) / (n * (n - 1));
  const sd = Math.sqrt(((nA * nB) / 12) * (n + 1 - tieTerm));
  const dev = Math.abs(u - (nA * nB) / 2);
  const z = sd > 0 ? Math.max(0, dev - 0.5) / sd : 0;
  return { u, p: Math.min(1, 2 * (1 - normalCdf(z))), method: 'normal', minP };
}

/** median(B) / median(A) with its interval (see the header); positive figures expected. */
export function ratioOfMedians(a: readonly number[], b: readonly number[], opts: Pick<VerdictOptions, 'seed' | 'resamples'> = {}): RatioInterval {
  const sa = finiteSorted(a);
  const sb = finiteSorted(b);
  const ma = medianSorted(sa);
  const mb = medianSorted(sb);
  const none: RatioInterval = { ratio: NaN, lo: NaN, hi: NaN, ciMethod: 'minmax' };
  if (!(ma > 0) || !(mb >= 0) || sa[0]! <= 0) return none;
  const ratio = mb / ma;
  if (sa.length < BOOTSTRAP_MIN_N || sb.length < BOOTSTRAP_MIN_N) {
    return { ratio, lo: sb[0]! / sa[sa.length - 1]!, hi: sb[sb.length - 1]! / sa[0]!, ciMethod: 'minmax' };
  }
  const rand = seededRandom(opts.seed ?? BOOTSTRAP_SEED);
  const reps = opts.resamples ?? BOOTSTRAP_RESAMPLES;
  const ratios = new Float64Array(reps);
  const da = new Float64Array(sa.length);
  const db = new Float64Array(sb.length);
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < da.length; i++) da[i] = sa[Math.floor(rand() * sa.length)]!;
    for (let i = 0; i < db.length; i++) db[i] = sb[Math.floor(rand() * sb.length)]!;
    ratios[r] = medianSorted(db.sort()) / medianSorted(da.sort());
  }
  ratios.sort();
  return { ratio, lo: quantileSorted(ratios, 0.025), hi: quantileSorted(ratios, 0.975), ciMethod: 'bootstrap95' };
}

/** Fewest repetitions per side (equal n) at which the rank test can reach p < alpha. */
export function repsNeeded(alpha: number): number {
  for (let n = 2; n < 50; n++) if (2 / choose(2 * n, n) < alpha) return n;
  return 50;
}

/** The verdict on A vs B (see the header for the rules). */
export function compareRepetitions(a: readonly number[], b: readonly number[], opts: VerdictOptions = {}): Verdict {
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const ratio = ratioOfMedians(a, b, opts);
  const test = mannWhitney(a, b);
  if (!test) return { ratio, test, change: 'too few repetitions', reason: 'a side has no finite repetition' };
  const flagged = [...(opts.flagsA ?? []).map((f) => `A ${f}`), ...(opts.flagsB ?? []).map((f) => `B ${f}`)];
  if (flagged.length) return { ratio, test, change: 'noisy', reason: `noise flags: ${flagged.join(', ')}; the test assumes stable repetitions` };
  const sa = finiteSorted(a);
  const sb = finiteSorted(b);
  const separated = sb[0]! > sa[sa.length - 1]! || sb[sb.length - 1]! < sa[0]!;
  const pText = `Mann-Whitney p = ${fmtP(test.p)} (${test.method}, ${sa.length} + ${sb.length} repetitions)`;
  if (test.minP >= alpha) {
    const reason = `${sa.length} + ${sb.length} repetitions: a rank test cannot reach p < ${alpha} (best ${fmtP(test.minP)}); ${repsNeeded(alpha)} per side needed`;
    return separated ? { ratio, test, change: 'too few repetitions', reason: `the runs do not overlap, but ${reason}` } : { ratio, test, change: 'no evidence of change', reason };
  }
  const excludesOne = ratio.lo > 1 || ratio.hi < 1;
  if (test.p < alpha && excludesOne) return { ratio, test, change: ratio.ratio > 1 ? 'higher' : 'lower', reason: `${pText} < ${alpha}, ratio interval excludes 1` };
  if (test.p < alpha) return { ratio, test, change: 'no evidence of change', reason: `${pText}, but the ratio interval contains 1` };
  return { ratio, test, change: 'no evidence of change', reason: `${pText} >= ${alpha}` };
}

function fmtP(p: number): string {
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}
