/**
 * bench/kit/histogram.ts: bucket layout (the locks' own), percentiles as bucket upper
 * bounds, the uncontended bucket, "-" for nothing recorded, a coarse clock reported as
 * such (scripted clocks, no timing asserted), merging, the JSON check and the text line.
 */
import { describe, expect, it } from 'vitest';
import { LOCK_LATENCY_BUCKETS } from '../../src/locks/index.js';
import {
  HIST_BUCKETS,
  bucketOf,
  cdfRows,
  emptyHistogram,
  formatNs,
  formatPercentile,
  fromBuckets,
  merge,
  parseHistogram,
  percentileBound,
  record,
  renderHistogram,
  timerResolution,
  total,
} from '../../bench/kit/histogram.js';

describe('layout', () => {
  it('uses the locks\' buckets: b holds [2^b, 2^(b+1)) ns, 0 also below 1 ns, the last one open', () => {
    expect(HIST_BUCKETS).toBe(LOCK_LATENCY_BUCKETS);
    expect([0, 0.5, 1, 1.9, 2, 3, 4, 1023, 1024].map((x) => bucketOf(x))).toEqual([0, 0, 0, 0, 1, 1, 2, 9, 10]);
    expect(bucketOf(2 ** 31)).toBe(31);
    expect(bucketOf(1e15)).toBe(31);
    expect(bucketOf(NaN)).toBe(0);
  });
});

describe('percentiles', () => {
  it('reports the upper edge of the bucket holding the rank, with three significant digits', () => {
    const h = emptyHistogram();
    record(h, 300, 50); // [256, 512)
    record(h, 5000, 49); // [4096, 8192)
    record(h, 4.2e6, 1); // [2^22, 2^23)
    expect(formatPercentile(h, 0.5)).toBe('p50 <= 512 ns');
    expect(formatPercentile(h, 0.9)).toBe('p90 <= 8.19 µs');
    expect(formatPercentile(h, 0.99)).toBe('p99 <= 8.19 µs');
    expect(formatPercentile(h, 0.999)).toBe('p99.9 <= 8.39 ms');
    expect(percentileBound(h, 0.5)).toEqual({ kind: 'bucket', bucket: 8, lowerNs: 256, upperNs: 512 });
  });

  it('ranks untimed fast-path acquisitions first and says so, or leaves them out', () => {
    const h = fromBuckets(emptyHistogram().counts, 90);
    record(h, 3000, 10);
    expect(total(h)).toBe(100);
    expect(formatPercentile(h, 0.5)).toBe('p50 uncontended');
    expect(formatPercentile(h, 0.95)).toBe('p95 <= 4.10 µs');
    expect(formatPercentile(h, 0.5, false)).toBe('p50 <= 4.10 µs');
  });

  it('prints "-" where nothing was recorded, never 0 ns', () => {
    expect(formatPercentile(emptyHistogram(), 0.99)).toBe('p99 -');
    expect(renderHistogram(emptyHistogram())).toBe('nothing recorded');
    expect(formatPercentile(fromBuckets(emptyHistogram().counts, 5), 0.99, false)).toBe('p99 -');
  });

  it('says "below the timer resolution" for buckets a coarse clock cannot tell apart', () => {
    const h = emptyHistogram(100_000); // a browser's 100 µs clock: most readings are 0
    record(h, 0, 900);
    record(h, 100_000, 100);
    expect(formatPercentile(h, 0.5)).toBe('p50 < 100 µs (timer resolution)');
    expect(formatPercentile(h, 0.99)).toBe('p99 <= 131 µs');
    expect(renderHistogram(h)).toMatch(/coarse timer: 100 µs steps$/);
  });

  it('gives the open last bucket as a lower bound', () => {
    const h = emptyHistogram();
    record(h, 1e12);
    expect(formatPercentile(h, 0.5)).toBe('p50 >= 2.15 s');
  });
});

describe('timer resolution', () => {
  it('finds a coarse clock\'s step from a scripted clock (100 µs, and 5 µs with jitter)', () => {
    let t = 0;
    let calls = 0;
    const coarse = () => (Math.floor(calls++ / 7) * 0.1); // advances 0.1 ms every 7 calls
    expect(timerResolution(coarse)).toEqual({ resolutionNs: expect.closeTo(100_000, 3), coarse: true });
    const jittered = () => (t += calls++ % 3 === 0 ? 0.005 + 0.001 * (calls % 2) : 0);
    expect(timerResolution(jittered).resolutionNs).toBeCloseTo(5000, 3);
  });

  it('is null and coarse when the clock never advances; a real clock gives a positive step', () => {
    expect(timerResolution(() => 42, 10, 1000)).toEqual({ resolutionNs: null, coarse: true });
    const real = timerResolution();
    expect(real.resolutionNs).toBeGreaterThan(0);
  });
});

describe('merge, JSON and text', () => {
  it('merges counts and keeps the coarser resolution; refuses different layouts', () => {
    const a = emptyHistogram(50);
    const b = emptyHistogram(5000);
    record(a, 10, 2);
    record(b, 10, 3);
    b.uncontended = 4;
    const m = merge(a, b);
    expect(m.counts[3]).toBe(5);
    expect(m.uncontended).toBe(4);
    expect(m.resolutionNs).toBe(5000);
    expect(merge(emptyHistogram(null), b).resolutionNs).toBe(5000);
    expect(() => merge(a, emptyHistogram(null, 16))).toThrow(/32 and 16 buckets/);
  });

  it('round-trips through JSON and rejects malformed shapes with a named field', () => {
    const h = emptyHistogram(30);
    record(h, 700, 3);
    expect(parseHistogram(JSON.parse(JSON.stringify(h)))).toEqual(h);
    expect(() => parseHistogram(null)).toThrow(/not an object/);
    expect(() => parseHistogram({ ...h, counts: [1, 'x'] })).toThrow(/counts\[1\]/);
    expect(() => parseHistogram({ ...h, counts: [1, -1] })).toThrow(/counts\[1\]/);
    expect(() => parseHistogram({ ...h, uncontended: NaN })).toThrow(/uncontended/);
    expect(() => parseHistogram({ ...h, resolutionNs: 0 })).toThrow(/resolutionNs/);
    expect(() => parseHistogram({ ...h, unit: 'ms' })).toThrow(/unit/);
  });

  it('renders one line with n, percentiles, max and bars over the recorded range', () => {
    const h = fromBuckets(emptyHistogram().counts, 14_000);
    record(h, 300, 5000);
    record(h, 2000, 2000);
    record(h, 5e6, 10);
    const line = renderHistogram(h);
    expect(line).toMatch(/^n 21\.0k · uncontended 67% · p50 uncontended · p90 <= 512 ns · p99 <= 2\.05 µs · max <= 8\.39 ms · \[256 ns █·▄·+▁ 8\.39 ms\]$/);
    expect(cdfRows(h).at(-1)).toEqual({ upperNs: 2 ** 23, count: 10, cumulative: 1 });
    expect(cdfRows(h)[0]).toEqual({ upperNs: 'uncontended', count: 14_000, cumulative: 14_000 / 21_010 });
    expect(formatNs(4194304)).toBe('4.19 ms');
  });
});
