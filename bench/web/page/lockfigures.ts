/**
 * The lock figures the page shows beside its tables: what this page's clock can resolve,
 * contended-wait percentiles as log2 bucket bounds, and a sweep point's median repetition.
 * Owns nothing shared; pure functions over a run's rows and points.
 */
import type { LockBenchPoint } from '../../locks/point.js';
import { measuredPoint } from '../../kit/noise.js';
import { COARSE_TIMER_NS, formatNs, formatPercentile, fromBuckets, timerResolution } from '../../kit/histogram.js';
import type { LockRow } from './runner.js';

/** This page's clock step (browsers coarsen performance.now(), often to 5-100 µs). */
const TIMER = timerResolution();

/** What the timer lets the wait percentiles say. */
export function timerNote(): string {
  if (TIMER.resolutionNs === null) return 'timer: did not advance while probed (coarse); waits below its step read "< step"';
  return TIMER.coarse
    ? `coarse timer: ${formatNs(TIMER.resolutionNs)} steps; waits shorter than a step read "< ${formatNs(TIMER.resolutionNs)} (timer resolution)", not 0`
    : `timer step ${formatNs(TIMER.resolutionNs)}`;
}

/** A contended-wait percentile as its log2 bucket bound ("<= 4.19 ms"), "-" when nothing was recorded. */
export function waitCell(r: LockRow, q: number): string {
  if (!r.latencyBuckets?.length) return '-';
  return formatPercentile(fromBuckets(r.latencyBuckets, 0, TIMER.resolutionNs ?? COARSE_TIMER_NS), q, false).replace(/^p[\d.]+ /, '');
}

/**
 * The median repetition of a lock point, carrying every repetition and their Point
 * (bench/kit/noise.ts: a page cannot see CPU time, so only the spread flag can be raised).
 */
export function medianLockPoint(reps: readonly LockBenchPoint[], workers: number): LockBenchPoint {
  const sorted = [...reps].sort((a, b) => a.throughput - b.throughput);
  const values = reps.map((p) => p.throughput);
  return { ...sorted[(sorted.length - 1) >> 1]!, throughputReps: values, tput: measuredPoint(values, [], { workers }) };
}
