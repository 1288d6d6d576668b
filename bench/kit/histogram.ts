/**
 * Latency distributions as log2 histograms: the JSON shape every tool stores, percentiles
 * stated as what a bucket histogram can honestly say (an upper bound), the clock's
 * resolution, merging, and a one-line text rendering for tables and reports.
 *
 * Owns: the Histogram shape and its arithmetic; pure and host-agnostic (the timer probe
 * takes the clock as an argument).
 *
 * Shape and invariants:
 * - counts[b] counts samples in [2^b, 2^(b+1)) ns; counts[0] also holds everything below
 *   1 ns (a clock that did not advance reads 0); the last bucket is open above. The layout
 *   is the locks' own (src/locks: LOCK_LATENCY_BUCKETS, 32 buckets), so their sinks map
 *   one to one (fromBuckets).
 * - `uncontended` counts events that took the fast path and were deliberately not timed
 *   (a lock acquired at the first try). They are the fastest events of all, so for
 *   percentiles they rank below bucket 0; a percentile that lands among them is reported
 *   as "uncontended", never as a time.
 * - `resolutionNs` is the clock's step when the samples were taken (null: unknown). A
 *   bucket whose upper bound is not above it holds readings the clock could not tell
 *   apart, so such a percentile reads "< <resolution> (timer resolution)", not "0 ns".
 *
 * Why percentiles are upper bounds: a sample in bucket b is known only to lie in
 * [2^b, 2^(b+1)); the q-th percentile is at most the upper edge of the bucket that holds
 * its rank. It is printed as "p99 <= 4.19 ms" (2^22 ns), to three significant digits,
 * since that is all the histogram knows. "-" where nothing was recorded.
 */

/** Buckets of a histogram (the locks' LOCK_LATENCY_BUCKETS). */
export const HIST_BUCKETS = 32;
/** A clock whose step is at least this is "coarse" (browsers: 5 µs to 100 µs or more). */
export const COARSE_TIMER_NS = 1000;

export interface Histogram {
  unit: 'ns';
  /** counts[b]: samples in [2^b, 2^(b+1)) ns (b = 0 also below 1 ns; the last bucket open) */
  counts: number[];
  /** events not timed because they took the fast path (locks); 0 where everything is timed */
  uncontended: number;
  /** the clock's step when the samples were taken, ns; null when unknown */
  resolutionNs: number | null;
}

export class HistogramError extends TypeError {
  override readonly name = 'HistogramError';
}

export function emptyHistogram(resolutionNs: number | null = null, buckets = HIST_BUCKETS): Histogram {
  return { unit: 'ns', counts: new Array<number>(buckets).fill(0), uncontended: 0, resolutionNs };
}

/** The bucket of a duration in ns. */
export function bucketOf(ns: number, buckets = HIST_BUCKETS): number {
  if (!(ns >= 2)) return 0;
  const b = ns < 2 ** 31 ? 31 - Math.clz32(ns) : Math.floor(Math.log2(ns));
  return b < buckets ? b : buckets - 1;
}

/** Adds `count` samples of `ns` nanoseconds. */
export function record(h: Histogram, ns: number, count = 1): void {
  h.counts[bucketOf(ns, h.counts.length)]! += count;
}

/** A histogram from a bucket array in the same layout (e.g. a lock statistics sink). */
export function fromBuckets(buckets: ArrayLike<number>, uncontended = 0, resolutionNs: number | null = null): Histogram {
  return { unit: 'ns', counts: Array.from(buckets, (x) => x), uncontended, resolutionNs };
}

/** a + b; the coarser resolution of the two (a merged percentile is no finer than either). */
export function merge(a: Histogram, b: Histogram): Histogram {
  if (a.counts.length !== b.counts.length) throw new HistogramError(`cannot merge histograms of ${a.counts.length} and ${b.counts.length} buckets`);
  const res = a.resolutionNs === null || b.resolutionNs === null ? (a.resolutionNs ?? b.resolutionNs) : Math.max(a.resolutionNs, b.resolutionNs);
  return { unit: 'ns', counts: a.counts.map((c, i) => c + b.counts[i]!), uncontended: a.uncontended + b.uncontended, resolutionNs: res };
}

/** Timed samples, plus the untimed fast-path ones when `withUncontended`. */
export function total(h: Histogram, withUncontended = true): number {
  return h.counts.reduce((s, c) => s + c, 0) + (withUncontended ? h.uncontended : 0);
}

/** Where a percentile falls: among the untimed fast-path events, or in a bucket. */
export type PercentileBound = { kind: 'uncontended' } | { kind: 'bucket'; bucket: number; lowerNs: number; upperNs: number };

/** The bucket holding rank ceil(q * total); null when nothing was recorded. */
export function percentileBound(h: Histogram, q: number, withUncontended = true): PercentileBound | null {
  const n = total(h, withUncontended);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * n));
  let seen = withUncontended ? h.uncontended : 0;
  if (rank <= seen) return { kind: 'uncontended' };
  for (let b = 0; b < h.counts.length; b++) {
    seen += h.counts[b]!;
    if (rank <= seen) return { kind: 'bucket', bucket: b, lowerNs: b === 0 ? 0 : 2 ** b, upperNs: b === h.counts.length - 1 ? Infinity : 2 ** (b + 1) };
  }
  return null;
}

/** ns with three significant digits and a unit: 4194304 -> "4.19 ms". */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const [v, u] = ns >= 1e9 ? [ns / 1e9, 's'] : ns >= 1e6 ? [ns / 1e6, 'ms'] : ns >= 1e3 ? [ns / 1e3, 'µs'] : [ns, 'ns'];
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${u}`;
}

/** "p99 <= 4.19 ms", "p50 uncontended", "p99 < 100 µs (timer resolution)", "p99 >= 2.15 s", or "p99 -". */
export function formatPercentile(h: Histogram, q: number, withUncontended = true): string {
  const label = `p${+(100 * q).toFixed(2)}`;
  const p = percentileBound(h, q, withUncontended);
  if (!p) return `${label} -`;
  if (p.kind === 'uncontended') return `${label} uncontended`;
  if (h.resolutionNs !== null && p.upperNs <= h.resolutionNs) return `${label} < ${formatNs(h.resolutionNs)} (timer resolution)`;
  if (p.upperNs === Infinity) return `${label} >= ${formatNs(p.lowerNs)}`;
  return `${label} <= ${formatNs(p.upperNs)}`;
}

/** The cumulative distribution over the non-empty range: one row per bucket, for tables and charts. */
export function cdfRows(h: Histogram, withUncontended = true): { upperNs: number | 'uncontended'; count: number; cumulative: number }[] {
  const n = total(h, withUncontended);
  if (n === 0) return [];
  const rows: { upperNs: number | 'uncontended'; count: number; cumulative: number }[] = [];
  let seen = 0;
  if (withUncontended && h.uncontended > 0) rows.push({ upperNs: 'uncontended', count: h.uncontended, cumulative: (seen += h.uncontended) / n });
  const first = h.counts.findIndex((c) => c > 0);
  const last = h.counts.length - 1 - [...h.counts].reverse().findIndex((c) => c > 0);
  if (first < 0) return rows;
  for (let b = first; b <= last; b++) {
    seen += h.counts[b]!;
    rows.push({ upperNs: b === h.counts.length - 1 ? Infinity : 2 ** (b + 1), count: h.counts[b]!, cumulative: seen / n });
  }
  return rows;
}

const BARS = '▁▂▃▄▅▆▇█';

/**
 * One line: "n 14.0k · uncontended 62% · p50 uncontended · p90 <= 8.19 µs · p99 <= 4.19 ms ·
 * max <= 8.39 ms · [256 ns ▁▃█▅·▁ 8.39 ms]" (bars: bucket counts over the timed range, · empty).
 */
export function renderHistogram(h: Histogram, withUncontended = true): string {
  const n = total(h, withUncontended);
  if (n === 0) return 'nothing recorded';
  const parts = [`n ${n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n}`];
  if (withUncontended && h.uncontended > 0) parts.push(`uncontended ${((100 * h.uncontended) / n).toFixed(0)}%`);
  for (const q of [0.5, 0.9, 0.99]) parts.push(formatPercentile(h, q, withUncontended));
  const first = h.counts.findIndex((c) => c > 0);
  if (first >= 0) {
    const last = h.counts.length - 1 - [...h.counts].reverse().findIndex((c) => c > 0);
    parts.push(formatPercentile(h, 1, withUncontended).replace(/^p100/, 'max'));
    const peak = Math.max(...h.counts);
    const bars = h.counts.slice(first, last + 1).map((c) => (c === 0 ? '·' : BARS[Math.min(7, Math.floor((8 * c) / (peak + 1)))]));
    const hiLabel = last === h.counts.length - 1 ? `>= ${formatNs(2 ** last)}` : formatNs(2 ** (last + 1));
    parts.push(`[${formatNs(first === 0 ? 0 : 2 ** first)} ${bars.join('')} ${hiLabel}]`);
  }
  if (h.resolutionNs !== null && h.resolutionNs >= COARSE_TIMER_NS) parts.push(`coarse timer: ${formatNs(h.resolutionNs)} steps`);
  return parts.join(' · ');
}

/** Checks a parsed JSON value is a Histogram; throws HistogramError naming what is wrong. */
export function parseHistogram(x: unknown, what = 'histogram'): Histogram {
  const o = x as Partial<Histogram> | null;
  if (!o || typeof o !== 'object') throw new HistogramError(`${what}: not an object`);
  if (o.unit !== 'ns') throw new HistogramError(`${what}: unit must be 'ns'`);
  if (!Array.isArray(o.counts) || o.counts.length === 0) throw new HistogramError(`${what}: counts must be a non-empty array`);
  const bad = o.counts.findIndex((c) => typeof c !== 'number' || !(c >= 0) || !Number.isFinite(c));
  if (bad >= 0) throw new HistogramError(`${what}: counts[${bad}] is not a non-negative number`);
  if (typeof o.uncontended !== 'number' || !(o.uncontended >= 0)) throw new HistogramError(`${what}: uncontended is not a non-negative number`);
  if (o.resolutionNs !== null && !(typeof o.resolutionNs === 'number' && o.resolutionNs > 0)) throw new HistogramError(`${what}: resolutionNs must be a positive number or null`);
  return { unit: 'ns', counts: [...o.counts], uncontended: o.uncontended, resolutionNs: o.resolutionNs };
}

/**
 * The clock's step: the smallest positive difference between successive readings of
 * `nowMs` (milliseconds, as performance.now), in ns. Stops after `samples` steps or
 * `budgetCalls` calls. null when the clock never advanced (then treat it as coarse).
 * A fine clock's figure includes the call's own cost (tens of ns), which is the finest
 * difference a measurement with it can show anyway.
 */
export function timerResolution(nowMs: () => number = () => performance.now(), samples = 50, budgetCalls = 5_000_000): { resolutionNs: number | null; coarse: boolean } {
  let best = Infinity;
  let steps = 0;
  let prev = nowMs();
  for (let i = 0; i < budgetCalls && steps < samples; i++) {
    const t = nowMs();
    if (t > prev) {
      best = Math.min(best, (t - prev) * 1e6);
      prev = t;
      steps++;
    }
  }
  if (best === Infinity) return { resolutionNs: null, coarse: true };
  return { resolutionNs: best, coarse: best >= COARSE_TIMER_NS };
}
