/**
 * The lock lab's figures of one contention point, from its hammer results: shared by the
 * CLI's lock benchmark (bench/locks/sweep.ts, Node) and the web lab's sweep (bench/web), so both
 * validate and report a point the same way.
 *
 * Owns: nothing; pure functions over the hammer SAB and stats sink (bench/locks/hammer.ts
 * layout). Host-agnostic: no Node import, so it bundles for a browser.
 */
import { LOCK_LATENCY_BUCKETS, LockStat, summarizeLockStats, type LockKind, type WaitPolicy } from '../../src/locks/index.js';
import { cpuRelax } from '../../src/locks/common.js';
import { fromBuckets, type Histogram } from '../kit/histogram.js';
import type { RepNoise } from '../kit/noise.js';
import type { Point } from '../kit/sample.js';
import { CTRL, hammerWords, statsBaseOf, timingBaseOf, type HammerResult } from './hammer.js';

export interface LockBenchPoint {
  kind: LockKind;
  /** `kind/policy` (bench/locks/entries.ts); absent in reports saved before policies: the kind */
  name?: string;
  /** the waiting policy measured; null: a lock module that declared none */
  policy?: WaitPolicy | null;
  workers: number;
  csWrites: number;
  outsideWork: number;
  elapsedMs: number;
  acquisitions: number;
  throughput: number; // acquisitions per second, all workers
  perWorkerMin: number;
  perWorkerMax: number;
  jain: number; // (sum x)^2 / (n * sum x^2); 1 = perfectly even
  contendedFraction: number;
  parksPerAcquisition: number;
  wakeups: number;
  handoffs: number;
  /**
   * Acquire latency of every acquisition (bench/kit/histogram.ts): the contended ones
   * timed into log2 buckets, the uncontended ones (first try, never timed) counted apart.
   */
  acquire: Histogram;
  latencyMaxNs: number;
  /**
   * Hand-over: from a holder's unlock to a waiting thread holding the lock (sampled: one
   * release in 8 is stamped); wake-up: the same, for waiters that slept in Atomics.wait
   * during their lock(). Absent when the point was measured without the timing sink.
   */
  handover?: Histogram;
  wakeup?: Histogram;
  /**
   * The fairness flag (locktorture's): some worker got more than twice the acquisitions of
   * another (max > 2 min), or one got none. Beside Jain's index, with the longest wait.
   */
  unfair?: boolean;
  /** the longest contended acquire (the longest wait) of any worker, ns */
  longestWaitNs?: number;
  /**
   * lockhammer's overhead per acquisition: time per lock (each worker's window over its
   * acquisitions, averaged over workers) minus the calibrated critical and parallel
   * sections, ns. Null when the sections were not calibrated.
   */
  overheadNs?: number | null;
  /** Throughput of every repetition (the fields above are those of the median one). */
  throughputReps: number[];
  /** The repetitions' throughput as a Point (median, interval, noise flags): what tables show. */
  tput?: Point;
  /** What each repetition got from the machine (bench/kit/noise.ts), in repetition order. */
  noiseReps?: RepNoise[];
  /** Repetitions in which some worker got no acquisition (the fairness check). */
  starvedReps?: number;
  /** What broke mutual exclusion in a repetition, if anything (the point is kept). */
  violation?: string;
}

export class LockValidationError extends Error {
  override readonly name = 'LockValidationError';
}

/**
 * Throws LockValidationError unless the lock kept mutual exclusion: no witness violation
 * and the counter (incremented non-atomically under the lock) equal to the acquisitions.
 */
export function validateHammerRun(kind: LockKind, workers: number, i32: Int32Array, results: readonly HammerResult[]): void {
  const acquisitions = results.reduce((a, r) => a + r.acquisitions, 0);
  const violations = results.reduce((a, r) => a + r.violations, 0);
  const counter = Atomics.load(i32, CTRL.counter);
  if (violations !== 0 || counter !== (acquisitions | 0)) {
    throw new LockValidationError(
      `lock ${kind} with ${workers} workers broke mutual exclusion: ${violations} witness violations, ` +
        `counter ${counter} after ${acquisitions} acquisitions`,
    );
  }
}

/** Jain's fairness index of per-worker counts: 1 when even, 1/n when one worker gets all. */
export function jainIndex(xs: readonly number[]): number {
  let s = 0;
  let s2 = 0;
  for (const x of xs) {
    s += x;
    s2 += x * x;
  }
  return s2 === 0 ? 1 : (s * s) / (xs.length * s2);
}

/** The point's figures from its workers' results and their lock statistics sinks. */
export function lockPointOf(
  shape: { kind: LockKind; name?: string; policy?: WaitPolicy | null; workers: number; csWrites: number; outsideWork: number },
  results: readonly HammerResult[],
  stats: Float64Array,
  resolutionNs: number | null = null,
  timing?: Float64Array,
  sectionsNs?: { cs: number; outside: number },
): LockBenchPoint {
  const counts = results.map((r) => r.acquisitions);
  const acquisitions = counts.reduce((a, b) => a + b, 0);
  const elapsedMs = Math.max(...results.map((r) => r.elapsedMs));
  const bases = results.map((r) => statsBaseOf(r.ownerId));
  const sum = summarizeLockStats(stats, bases);
  const buckets = new Array<number>(LOCK_LATENCY_BUCKETS).fill(0);
  for (const b of bases) for (let k = 0; k < LOCK_LATENCY_BUCKETS; k++) buckets[k]! += stats[b + LockStat.latencyHistogram + k]!;
  const hand = new Array<number>(LOCK_LATENCY_BUCKETS).fill(0);
  const wake = new Array<number>(LOCK_LATENCY_BUCKETS).fill(0);
  if (timing) {
    for (const r of results) {
      const tb = timingBaseOf(r.ownerId);
      for (let k = 0; k < LOCK_LATENCY_BUCKETS; k++) {
        hand[k]! += timing[tb + k]!;
        wake[k]! += timing[tb + LOCK_LATENCY_BUCKETS + k]!;
      }
    }
  }
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  const perLockNs = acquisitions ? (results.reduce((a, r) => a + r.elapsedMs, 0) * 1e6) / acquisitions : NaN;
  return {
    ...shape,
    elapsedMs,
    acquisitions,
    throughput: acquisitions / (elapsedMs / 1000),
    perWorkerMin: Math.min(...counts),
    perWorkerMax: Math.max(...counts),
    jain: jainIndex(counts),
    contendedFraction: acquisitions ? sum.contended / acquisitions : 0,
    parksPerAcquisition: acquisitions ? sum.parks / acquisitions : 0,
    wakeups: sum.wakeups,
    handoffs: sum.handoffs,
    // a module that counts nothing leaves sum.acquisitions 0: its histogram stays empty ('-')
    acquire: fromBuckets(buckets, Math.max(0, sum.acquisitions - sum.contended), resolutionNs),
    latencyMaxNs: sum.latencyMaxNs,
    ...(timing ? { handover: fromBuckets(hand, 0, resolutionNs), wakeup: fromBuckets(wake, 0, resolutionNs) } : {}),
    unfair: results.length > 1 && (min === 0 || max > 2 * min),
    longestWaitNs: sum.latencyMaxNs,
    overheadNs: sectionsNs && Number.isFinite(perLockNs) ? perLockNs - sectionsNs.cs - sectionsNs.outside : null,
    throughputReps: [],
  };
}

/** For each cs length and worker count: the best kind, and adaptive relative to it. */
export function winners(points: readonly LockBenchPoint[]) {
  const out: { csWrites: number; workers: number; best: string; bestThroughput: number; adaptiveRatio: number | null }[] = [];
  const keys = new Set(points.map((p) => `${p.csWrites}/${p.workers}`));
  for (const key of keys) {
    const [cs, w] = key.split('/').map(Number);
    // busted (no mutual exclusion) is the negative control, never a winner
    const at = points.filter((p) => p.csWrites === cs && p.workers === w && p.kind !== 'busted');
    if (at.length === 0) continue;
    const best = at.reduce((a, b) => (b.throughput > a.throughput ? b : a));
    const adaptive = at.find((p) => p.kind === 'adaptive');
    out.push({ csWrites: cs, workers: w, best: best.name ?? best.kind, bestThroughput: best.throughput, adaptiveRatio: adaptive ? adaptive.throughput / best.throughput : null });
  }
  return out;
}

/** Average ns of the critical-section body (csWrites shared writes), measured here. */
export function calibrateCs(csWrites: number): number {
  const i32 = new Int32Array(new SharedArrayBuffer(hammerWords(1) * 4));
  const rounds = Math.max(200, Math.floor(200_000 / Math.max(1, csWrites)));
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) for (let k = 0; k < csWrites; k++) i32[CTRL.counter + 32 + (k & 15)] += k;
    best = Math.min(best, ((performance.now() - t0) * 1e6) / rounds);
  }
  return best;
}

/** Average ns of `n` cpuRelax iterations (the --outside work), measured here. */
export function calibrateOutside(n: number): number {
  if (n === 0) return 0;
  const rounds = Math.max(200, Math.floor(200_000 / n));
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) cpuRelax(n);
    best = Math.min(best, ((performance.now() - t0) * 1e6) / rounds);
  }
  return best;
}
