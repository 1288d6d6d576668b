/**
 * Options and result records of the contention suite (everything the JSON holds).
 */
import type { LockStatsSummary } from '../../src/locks/index.js';
import type { MemoryBreakdown } from './adapters/types.js';
import type { WorkloadParams } from './workloads/common.js';

export interface ContentionOptions {
  /** worker counts (default 1,2,4,8,16,32; quick 1,2,4) */
  workers?: number[];
  /** workload names (default: all) */
  workloads?: string[];
  /** allocator ids or shorthands (see allocators.ts) */
  allocators?: string[];
  /** timed window of one run in ms (mstress: of all its rounds together) */
  durationMs?: number;
  /** repetitions per (allocator, workload, workers) */
  reps?: number;
  /** the about-a-minute mode: fewer counts, allocators and reps, shorter windows */
  quick?: boolean;
  /** workload parameter scale: 'default' | 'quick' | 'small' (tests); default follows `quick` */
  scale?: 'default' | 'quick' | 'small';
  /** per-workload parameter overrides */
  params?: Record<string, WorkloadParams>;
  seed?: number;
  /** run the allocator's consistency check after every run (default true) */
  check?: boolean;
  /**
   * create sabmalloc heaps at their full size instead of 1 MiB growing on demand: takes
   * buffer growth out of the picture (its blowup figures then only reflect the pre-size)
   */
  preallocate?: boolean;
  /** how much of each block workloads write: 'sparse' (default) or 'full' (see TouchMode) */
  touch?: 'full' | 'sparse';
  /** free every block in cleanups even where the allocator makes that slow (thi.ng) */
  fullCleanup?: boolean;
  /** an untimed short run per (allocator, workload) at the largest count first (default true) */
  warmup?: boolean;
  /** time one allocator call in this many for the latency percentiles (0 = off; default 64) */
  latencyEvery?: number;
  /** progress: true = bar on stderr (default when stderr is a TTY), false = silent, or a callback */
  progress?: boolean | ((p: ProgressEvent) => void);
}

export interface ProgressEvent {
  done: number;
  total: number;
  allocator: string;
  workload: string;
  workers: number;
  rep: number;
  reps: number;
  elapsedMs: number;
  warmup: boolean;
}

/** Lock counters of one tier over the timed window (end snapshot minus start snapshot). */
export interface TierLockStats extends Omit<LockStatsSummary, 'latencyBuckets'> {
  kind: string;
  /** the window's contended waits, log2 buckets (absent in results saved before they were kept) */
  latencyBuckets?: number[];
}

export interface RunRecord {
  allocator: string;
  workload: string;
  workers: number;
  rep: number;
  /** timed seconds (sum over rounds) */
  seconds: number;
  ops: number;
  mallocs: number;
  frees: number;
  units: number;
  /** allocator calls per second */
  throughput: number;
  /** the workload's own metric (see metricName) */
  metric: number;
  peakCommittedBytes: number;
  peakLiveBytes: number;
  /** peak committed / peak live */
  blowup: number;
  /** allocator metadata inside the committed bytes (sabmalloc: the metadata it has touched) */
  metadataBytes: number;
  /** (peak committed - metadata) / peak live */
  blowupExclMetadata: number;
  /** sabmalloc: where the committed bytes were when they last rose (bytes by tier) */
  memoryAtPeak?: MemoryBreakdown;
  locks: Record<string, TierLockStats>;
  threadCacheHits: number;
  threadCacheMisses: number;
  /** CPU cores this process used during the timed window, and the rest of the machine */
  coresUsed: number | null;
  otherCores: number | null;
  /** 1-minute load average at the end of the window (optional: saved results may lack it) */
  load1?: number | null;
  /** wall time of the run outside its timed window: dispatch, set-up, cleanup, detach */
  overheadMs: number;
  /** the heap check after the run */
  checkMs: number;
  /** process-wide wall, CPU, peak RSS and page faults over the whole run (host.ts) */
  resources?: import('./host.js').RunResources;
  /** sampled malloc/free latency percentiles (latency.ts) */
  latency?: import('./latency.js').LatencySummary;
  /** worker churn (mleak): children started, how they left, recoveries, blocks lost-on-kill */
  churn?: import('./workloads/common.js').ChurnCounts;
}

import type { Point } from '../kit/sample.js';
import type { Histogram } from '../kit/histogram.js';

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median */
  spread: number;
  n: number;
}

export interface Figure {
  allocator: string;
  workload: string;
  workers: number;
  throughput: Spread;
  metric: Spread;
  /** median throughput / median throughput of the same allocator at 1 worker */
  scaling: number | null;
  /** median throughput / median throughput of each baseline at the same count */
  ratioToGlobalLock: number | null;
  /**
   * median over repetitions of (throughput / cores used) / the same for the global-lock
   * baseline: the ratio with each run's share of a loaded machine taken out (a run that got
   * 0.4 cores and one that got 0.9 are compared per core received). Shown next to
   * ratioToGlobalLock, which the target is checked on.
   */
  ratioToGlobalLockPerCore: number | null;
  ratioToThing: number | null;
  blowup: Spread;
  blowupExclMetadata: Spread;
  metadataBytes: number;
  peakCommittedBytes: number;
  peakLiveBytes: number;
  /** per tier: contended acquisitions / acquisitions, parks per 1,000 allocator calls, etc. (medians) */
  locks: Record<string, { kind: string; acquisitionsPerOp: number; contendedRate: number; contendedPer1kOps: number; parksPer1kOps: number; spinsPer1kOps: number; latencyP99Ns: number; wait?: Histogram }>;
  threadCacheHitRate: number | null;
  coresUsed: number | null;
  otherCores: number | null;
  /** throughput as a Point (bench/kit/sample.ts): median, interval, noise flags (bench/kit/noise.ts) */
  tput?: Point;
}

export interface TargetCheck {
  id: string;
  description: string;
  threshold: number;
  comparison: '>=' | '<=';
  /** per (workload, workers) measured values */
  cases: { workload: string; workers: number; value: number | null; met: boolean | null }[];
  /** worst measured value and whether every measured case meets the threshold */
  worst: number | null;
  met: boolean | null;
  /** how far the worst case is from the threshold, in % of the threshold (0 when met) */
  missByPercent: number | null;
  /** why (computed from the figures), for missed or unmeasured targets */
  explanation: string;
}

export interface ContentionResults {
  meta: {
    date: string;
    node: string;
    platform: string;
    cpus: number;
    cpuModel: string;
    totalMemoryBytes: number;
    loadAverageStart: number[];
    loadAverageEnd: number[];
    wallSeconds: number;
    /** times the worker pools were closed between workloads, past the memory budget (optional: saved results may lack it) */
    poolRecycles?: number;
    command?: string;
    /** free text given with --note */
    note?: string;
    options: {
      workers: number[];
      workloads: string[];
      allocators: string[];
      durationMs: number;
      reps: number;
      quick: boolean;
      scale: string;
      seed: number;
      preallocate: boolean;
      touch: string;
      params: Record<string, WorkloadParams>;
    };
    allocatorLabels: Record<string, string>;
    metrics: Record<string, { name: string; unit: string; higherIsBetter: boolean; description: string }>;
  };
  runs: RunRecord[];
  figures: Figure[];
  targets: TargetCheck[];
}
