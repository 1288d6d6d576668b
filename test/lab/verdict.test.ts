/**
 * bench/kit/verdict.ts on SYNTHETIC figures drawn from seeded distributions (no timing):
 * A/A pairs (one distribution) must come out "no evidence of change" at least at the
 * stated rate 1 - alpha; A/B pairs with a clear shift must come out changed, in the right
 * direction; small n says it is too small instead of guessing; the exact Mann-Whitney
 * p-values match hand-counted ones.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/kit/sample.js';
import { compareRepetitions, mannWhitney, normalCdf, ratioOfMedians, repsNeeded, type Change } from '../../bench/kit/verdict.js';

/** Lognormal throughputs around `median` with relative sd ~ `sd`, from a seeded stream. */
function drawer(seed: number): (n: number, median: number, sd: number) => number[] {
  const rand = seededRandom(seed);
  const z = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return (n, median, sd) => Array.from({ length: n }, () => median * Math.exp(sd * z()));
}

function tally(pairs: number, f: (i: number) => Change): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < pairs; i++) {
    const c = f(i);
    out[c] = (out[c] ?? 0) + 1;
  }
  return out;
}

describe('Mann-Whitney U', () => {
  it('gives the exact two-sided p of hand-counted cases', () => {
    // 3 + 3 fully separated: 2 of C(6,3) = 20 splits are as extreme
    expect(mannWhitney([1, 2, 3], [4, 5, 6])).toMatchObject({ u: 0, p: 0.1, method: 'exact', minP: 0.1 });
    // 4 + 4 fully separated: 2 / 70
    expect(mannWhitney([5, 6, 7, 8], [1, 2, 3, 4])!.p).toBeCloseTo(2 / 70, 12);
    expect(mannWhitney([5, 6, 7, 8], [1, 2, 3, 4])!.u).toBe(16);
    // interleaved: no evidence at all
    expect(mannWhitney([1, 3, 5, 7], [2, 4, 6, 8])!.p).toBeGreaterThan(0.5);
    // identical values: every split ties, p = 1
    expect(mannWhitney([2, 2, 2], [2, 2, 2])!.p).toBe(1);
    expect(mannWhitney([], [1])).toBeNull();
  });

  it('matches a brute-force permutation count with ties (every split of the pooled values)', () => {
    const rand = seededRandom(11);
    for (let t = 0; t < 20; t++) {
      const nA = 2 + Math.floor(rand() * 5);
      const nB = 2 + Math.floor(rand() * 5);
      const pooled = Array.from({ length: nA + nB }, () => Math.floor(rand() * 4)); // many ties
      const uOf = (idx: number[]): number => {
        let u = 0;
        for (const i of idx) for (let j = 0; j < pooled.length; j++) if (!idx.includes(j)) u += pooled[i]! > pooled[j]! ? 1 : pooled[i] === pooled[j] ? 0.5 : 0;
        return u;
      };
      const splits: number[][] = [];
      const pick = (from: number, chosen: number[]): void => {
        if (chosen.length === nA) return void splits.push(chosen);
        for (let i = from; i < pooled.length; i++) pick(i + 1, [...chosen, i]);
      };
      pick(0, []);
      const observed = uOf([...Array(nA).keys()]);
      const mean = (nA * nB) / 2;
      const p = splits.filter((sp) => Math.abs(uOf(sp) - mean) >= Math.abs(observed - mean) - 1e-9).length / splits.length;
      const mw = mannWhitney(pooled.slice(0, nA), pooled.slice(nA))!;
      expect(mw.u).toBe(observed);
      expect(mw.p).toBeCloseTo(p, 12);
    }
  });

  it('switches to the normal approximation for large n and agrees with the exact test near the switch', () => {
    const draw = drawer(7);
    const a = draw(30, 100, 0.1);
    const b = draw(30, 108, 0.1);
    const exact = mannWhitney(a, b)!;
    const normal = mannWhitney([...a, ...draw(1, 100, 0.1)], [...b, ...draw(1, 108, 0.1)])!;
    expect(exact.method).toBe('exact');
    expect(normal.method).toBe('normal');
    expect(Math.abs(Math.log(exact.p) - Math.log(normal.p))).toBeLessThan(1.5);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
  });
});

describe('ratio of medians', () => {
  it('bounds the ratio by min/max below 6 repetitions and bootstraps from 6 on', () => {
    expect(ratioOfMedians([90, 100, 110], [180, 200, 220])).toEqual({ ratio: 2, lo: 180 / 110, hi: 220 / 90, ciMethod: 'minmax' });
    const draw = drawer(3);
    const r = ratioOfMedians(draw(9, 100, 0.05), draw(9, 150, 0.05));
    expect(r.ciMethod).toBe('bootstrap95');
    expect(r.lo).toBeLessThan(r.ratio);
    expect(r.hi).toBeGreaterThan(r.ratio);
    expect(r.lo).toBeGreaterThan(1.3);
    expect(r.hi).toBeLessThan(1.7);
    expect(ratioOfMedians([0, 0, 0], [1, 2, 3]).ratio).toBeNaN();
  });
});

describe('verdicts', () => {
  // n per side: exact test with min/max ratio (5), exact with bootstrap ratio (9), normal approximation (40)
  it.each([5, 9, 40])('A/A with %i repetitions per side: "no evidence of change" in at least 95 in 100 of 400 pairs', (n) => {
    const draw = drawer(1000 + n);
    const t = tally(400, (i) => compareRepetitions(draw(n, 1e6, 0.15), draw(n, 1e6, 0.15), { seed: i, resamples: 250 }).change);
    expect((t['no evidence of change'] ?? 0) / 400).toBeGreaterThanOrEqual(0.95);
    expect(t['noisy'] ?? 0).toBe(0);
  });

  it.each([
    [5, 1.3, 'higher'],
    [9, 1.15, 'higher'],
    [9, 0.8, 'lower'],
    [40, 0.95, 'lower'],
  ] as const)('A/B with %i repetitions per side and a x%s shift: changed (%s) in at least 95 in 100 of 200 pairs', (n, shift, dir) => {
    const draw = drawer(2000 + n);
    const t = tally(200, (i) => compareRepetitions(draw(n, 1e6, 0.05), draw(n, 1e6 * shift, 0.05), { seed: i, resamples: 250 }).change);
    expect((t[dir] ?? 0) / 200).toBeGreaterThanOrEqual(0.95);
  });

  it('says the repetitions are too few when 3 + 3 do not overlap, and no evidence when they do', () => {
    const v = compareRepetitions([100, 101, 102], [200, 201, 202]);
    expect(v.change).toBe('too few repetitions');
    expect(v.reason).toMatch(/best 0\.100.*4 per side/);
    expect(repsNeeded(0.05)).toBe(4);
    expect(compareRepetitions([100, 110, 120], [105, 115, 125]).change).toBe('no evidence of change');
    expect(compareRepetitions([100], [200]).change).toBe('too few repetitions');
    expect(compareRepetitions([], [200]).change).toBe('too few repetitions');
  });

  it('4 + 4 without overlap is a change (p = 0.029, ratio bounds exclude 1)', () => {
    const v = compareRepetitions([100, 101, 102, 103], [120, 121, 122, 123]);
    expect(v.change).toBe('higher');
    expect(v.ratio.lo).toBeGreaterThan(1);
  });

  it('is "noisy" when either side is flagged, and still reports the test', () => {
    const v = compareRepetitions([100, 101, 102, 103], [200, 201, 202, 203], { flagsB: ['cpu-short'] });
    expect(v.change).toBe('noisy');
    expect(v.reason).toMatch(/B cpu-short/);
    expect(v.test!.p).toBeLessThan(0.05);
  });

  it('ignores non-finite repetitions rather than calling them a change', () => {
    expect(compareRepetitions([100, NaN, 101, 102], [100, 101, Infinity, 102]).change).toBe('no evidence of change');
  });
});
