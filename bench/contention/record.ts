/**
 * A run's record from its measured totals: shared by the contention suite (suite.ts, Node)
 * and the web lab (bench/web), so a browser run exports the same RunRecord, computed the
 * same way, as the CLI.
 *
 * Owns: nothing; pure functions. Host-agnostic (no Node import).
 */
import type { AllocatorSnapshot, AllocatorSpec, MemoryBreakdown } from './adapters/types.js';
import type { RunRecord, TierLockStats } from './types.js';
import type { WorkloadDef } from './workloads/common.js';

/** Lock counters of the timed window: end snapshot minus start snapshot, per tier. */
export function subtractLocks(end: AllocatorSnapshot, start: AllocatorSnapshot | undefined): Record<string, TierLockStats> {
  const out: Record<string, TierLockStats> = {};
  for (const [tier, e] of Object.entries(end.locks)) {
    const s = start?.locks[tier];
    out[tier] = {
      kind: e.kind,
      acquisitions: e.acquisitions - (s?.acquisitions ?? 0),
      contended: e.contended - (s?.contended ?? 0),
      spins: e.spins - (s?.spins ?? 0),
      parks: e.parks - (s?.parks ?? 0),
      wakeups: e.wakeups - (s?.wakeups ?? 0),
      handoffs: e.handoffs - (s?.handoffs ?? 0),
      latencySamples: e.latencySamples - (s?.latencySamples ?? 0),
      latencyP50Ns: e.latencyP50Ns,
      latencyP99Ns: e.latencyP99Ns,
      latencyMaxNs: e.latencyMaxNs,
      // the window's own waits (cumulative buckets, end minus start)
      ...(e.latencyBuckets ? { latencyBuckets: e.latencyBuckets.map((c, k) => c - (s?.latencyBuckets?.[k] ?? 0)) } : {}),
    };
  }
  return out;
}

/** What a run measured, summed over its rounds. */
export interface RunTotals {
  seconds: number;
  ops: number;
  mallocs: number;
  frees: number;
  units: number;
  peakCommitted: number;
  peakLive: number;
  metadata: number;
  /** where the committed bytes were when they last rose (sabmalloc) */
  atPeak?: MemoryBreakdown;
  locks: Record<string, TierLockStats>;
  threadCacheHits: number;
  threadCacheMisses: number;
}

export function runRecordOf(
  run: { spec: AllocatorSpec; def: WorkloadDef; workers: number; rep: number },
  t: RunTotals,
  host: { coresUsed: number | null; otherCores: number | null; load1?: number | null; overheadMs: number; checkMs: number },
  extra: Pick<RunRecord, 'resources' | 'latency' | 'churn'> = {},
): RunRecord {
  const { ops, mallocs, frees, units, seconds, peakCommitted, peakLive, metadata } = t;
  return {
    allocator: run.spec.id,
    workload: run.def.name,
    workers: run.workers,
    rep: run.rep,
    seconds,
    ops,
    mallocs,
    frees,
    units,
    throughput: ops / seconds,
    metric: run.def.metric.compute({ ops, mallocs, frees, units, seconds }),
    peakCommittedBytes: peakCommitted,
    peakLiveBytes: peakLive,
    blowup: peakLive > 0 ? peakCommitted / peakLive : NaN,
    metadataBytes: metadata,
    blowupExclMetadata: peakLive > 0 ? (peakCommitted - metadata) / peakLive : NaN,
    ...(t.atPeak ? { memoryAtPeak: t.atPeak } : {}),
    locks: t.locks,
    threadCacheHits: t.threadCacheHits,
    threadCacheMisses: t.threadCacheMisses,
    ...host,
    ...extra,
  };
}
