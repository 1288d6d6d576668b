/**
 * bench/kit/sample.ts: the median and its interval on synthetic figures (no timing).
 * The bootstrap's coverage is checked by simulation from a seeded generator, so the test
 * is deterministic and still fails if the interval were computed wrongly (too narrow,
 * off-centre, or not a function of its input).
 */
import { describe, expect, it } from 'vitest';
import {
  BOOTSTRAP_MIN_N,
  bootstrapMedianCI,
  ciLabel,
  formatPoint,
  median,
  needsMoreReps,
  minmaxCoverage,
  quantileSorted,
  relativeSpread,
  relativeWidth,
  seededRandom,
  summarize,
} from '../../bench/kit/sample.js';

/** Standard normal draws from a seeded uniform stream (Box-Muller). */
function normal(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

describe('median and quantiles', () => {
  it('takes the middle value, or the mean of the two middle ones, ignoring non-finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, NaN, 1, Infinity, 3])).toBe(3);
    expect(median([])).toBeNaN();
    expect(quantileSorted([1, 2, 3, 4, 5], 0.25)).toBe(2);
    expect(quantileSorted([10, 20], 0.5)).toBe(15);
    expect(quantileSorted([10, 20], 1)).toBe(20);
  });
});

describe('summarize', () => {
  it('reports min..max below the bootstrap threshold, labelled with its exact coverage', () => {
    const p = summarize([110, 90, 100]);
    expect(p).toEqual({ median: 100, lo: 90, hi: 110, ciMethod: 'minmax', n: 3, flags: [] });
    expect(minmaxCoverage(3)).toBe(0.75);
    expect(minmaxCoverage(5)).toBe(0.9375);
    expect(ciLabel(p)).toBe('min..max of 3 (covers the median with 75%)');
    expect(ciLabel(summarize([7]))).toMatch(/single repetition/);
  });

  it('uses the bootstrap from BOOTSTRAP_MIN_N on: inside min..max, around the median, deterministic', () => {
    const xs = [100, 102, 98, 101, 99, 140, 97, 100, 103];
    expect(xs.length).toBeGreaterThanOrEqual(BOOTSTRAP_MIN_N);
    const p = summarize(xs);
    expect(p.ciMethod).toBe('bootstrap95');
    expect(p.median).toBe(100);
    expect(p.lo).toBeGreaterThanOrEqual(97);
    expect(p.hi).toBeLessThanOrEqual(140);
    expect(p.lo).toBeLessThanOrEqual(100);
    expect(p.hi).toBeGreaterThanOrEqual(100);
    // the outlier barely moves the interval of the median
    expect(p.hi).toBeLessThan(110);
    expect(summarize(xs)).toEqual(p);
    expect(summarize([...xs].reverse())).toEqual(p);
  });

  it('drops non-finite repetitions and counts only the finite ones', () => {
    const p = summarize([NaN, 5, Infinity, 7]);
    expect(p).toMatchObject({ median: 6, lo: 5, hi: 7, n: 2 });
    const none = summarize([NaN]);
    expect(none.n).toBe(0);
    expect(none.median).toBeNaN();
  });

  it('carries the flags it is given', () => {
    expect(summarize([1, 2, 3], { flags: ['spread'] }).flags).toEqual(['spread']);
  });

  it('covers the true median about 95% of the time (simulation, n = 9 and 15)', () => {
    const rand = seededRandom(42);
    const z = normal(rand);
    for (const n of [9, 15]) {
      let covered = 0;
      const trials = 400;
      for (let t = 0; t < trials; t++) {
        // lognormal figures around 1e6, true median exactly 1e6
        const xs = Array.from({ length: n }, () => 1e6 * Math.exp(0.1 * z()));
        const { lo, hi } = bootstrapMedianCI(xs, { resamples: 1000, seed: t + 1 });
        if (lo <= 1e6 && 1e6 <= hi) covered++;
      }
      // the percentile bootstrap of a median is known to fall a little under its level at small n
      expect(covered / trials).toBeGreaterThan(0.88);
      expect(covered / trials).toBeLessThan(0.995);
    }
  });
});

describe('spread figures', () => {
  it('relative spread and width are relative to the median', () => {
    expect(relativeSpread([90, 100, 110])).toBeCloseTo(0.2);
    expect(relativeSpread([5])).toBe(0);
    expect(relativeSpread([])).toBeNaN();
    expect(relativeWidth({ median: 200, lo: 180, hi: 220 })).toBeCloseTo(0.2);
    expect(relativeWidth({ median: 0, lo: -1, hi: 1 })).toBe(Infinity);
  });
});

describe('formatPoint and needsMoreReps', () => {
  it('formats a point with its interval and flags, the median alone for one repetition, "-" for none', () => {
    const f = (x: number): string => x.toFixed(0);
    expect(formatPoint(summarize([90, 100, 110], { flags: ['spread'] }), f)).toBe('100 [90..110] (spread)');
    expect(formatPoint(summarize([7]), f)).toBe('7');
    expect(formatPoint(summarize([]), f)).toBe('-');
    expect(formatPoint(null, f)).toBe('-');
  });

  it('asks for repetitions until the interval is within the bound, the minimum is met, or the maximum is reached', () => {
    const rule = { maxRelativeWidth: 0.05, minReps: 3, maxReps: 8 };
    expect(needsMoreReps([100, 101], rule)).toMatchObject({ more: true, why: '2 of at least 3 repetitions' });
    expect(needsMoreReps([100, 101, 102], rule).more).toBe(false);
    expect(needsMoreReps([100, 130, 70], rule)).toMatchObject({ more: true });
    expect(needsMoreReps([100, 130, 70, 100, 130, 70, 100, 130], rule)).toMatchObject({ more: false, why: expect.stringMatching(/^8 repetitions reached/) });
  });
});
