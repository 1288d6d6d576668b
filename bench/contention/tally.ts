/**
 * What one contention run adds up over its rounds: operations, peaks, lock and thread-cache
 * counters, the CPU time the workers got and what the machine did meanwhile, latency
 * samples and worker churn. Owned by the suite's runOne for the life of one run; the main
 * thread only (workers report their outcomes, this sums them).
 */
import os from 'node:os';
import { CTL_F64, type ControlViews } from '../kit/control.js';
import { mergeHistograms, type LatencyHistograms } from './latency.js';
import { subtractLocks } from './record.js';
import type { AllocatorSnapshot, MemoryBreakdown } from './adapters/types.js';
import type { TierLockStats } from './types.js';
import { addChurn, newChurn, type ChurnCounts, type WorkerOutcome } from './workloads/common.js';

/** What the suite's memory sampler saw during a round. */
export interface RoundSamples {
  readonly atPeak: MemoryBreakdown | undefined;
  readonly peakCommitted: number;
  readonly peakLive: number;
  readonly metadata: number;
}

function addLocks(into: Record<string, TierLockStats>, more: Record<string, TierLockStats>): void {
  for (const [tier, m] of Object.entries(more)) {
    const a = into[tier];
    if (!a) {
      into[tier] = { ...m };
      continue;
    }
    a.acquisitions += m.acquisitions;
    a.contended += m.contended;
    a.spins += m.spins;
    a.parks += m.parks;
    a.wakeups += m.wakeups;
    a.handoffs += m.handoffs;
    a.latencySamples += m.latencySamples;
    a.latencyP50Ns = m.latencyP50Ns;
    a.latencyP99Ns = m.latencyP99Ns;
    a.latencyMaxNs = Math.max(a.latencyMaxNs, m.latencyMaxNs);
    if (m.latencyBuckets) a.latencyBuckets = (a.latencyBuckets ?? []).length ? a.latencyBuckets!.map((c, k) => c + (m.latencyBuckets![k] ?? 0)) : [...m.latencyBuckets];
  }
}

/** What a run adds up over its rounds: operations, peaks, lock and cache counters, CPU time. */
export class RunTally {
  seconds = 0;
  ops = 0;
  mallocs = 0;
  frees = 0;
  units = 0;
  peakCommitted = 0;
  peakLive = 0;
  /** the workload's own exact peak, if it keeps one */
  exactPeakLive = -1;
  metadata = 0;
  atPeak: MemoryBreakdown | undefined;
  tcHits = 0;
  tcMisses = 0;
  cpuUs = 0;
  wallMs = 0;
  busyJiffies = 0;
  totalJiffies = 0;
  machineKnown = true;
  latency: LatencyHistograms | undefined;
  /** worker churn (mleak): children started, how they left, what recovery settled */
  churn: ChurnCounts | undefined;
  readonly locks: Record<string, TierLockStats> = {};

  /** Adds one round whose timed window the caller has checked (end after start). */
  addRound(outs: readonly WorkerOutcome[], sampler: RoundSamples, ctl: ControlViews): void {
    const f = ctl.f64;
    this.seconds += (f[CTL_F64.endAbs] - f[CTL_F64.startAbs]) / 1000;
    let startSnap: AllocatorSnapshot | undefined;
    let endSnap: AllocatorSnapshot | undefined;
    for (const o of outs) {
      this.ops += o.ops;
      this.mallocs += o.mallocs;
      this.frees += o.frees;
      this.units += o.units;
      this.peakCommitted = Math.max(this.peakCommitted, o.peakCommitted);
      this.peakLive = Math.max(this.peakLive, o.peakLive);
      if (o.exactPeakLive !== undefined) this.exactPeakLive = Math.max(this.exactPeakLive, o.exactPeakLive);
      this.metadata = Math.max(this.metadata, o.metadata);
      if (o.startSnapshot) startSnap = o.startSnapshot;
      if (o.endSnapshot) endSnap = o.endSnapshot;
      if (o.latency) this.latency = mergeHistograms(this.latency, o.latency);
      if (o.churn) addChurn((this.churn ??= newChurn()), o.churn);
    }
    if (sampler.atPeak) this.atPeak = sampler.atPeak; // committed only rises: the last round's is the run's
    this.peakCommitted = Math.max(this.peakCommitted, sampler.peakCommitted);
    this.peakLive = Math.max(this.peakLive, sampler.peakLive);
    this.metadata = Math.max(this.metadata, sampler.metadata);
    if (endSnap) {
      addLocks(this.locks, subtractLocks(endSnap, startSnap));
      this.tcHits += endSnap.threadCacheHits - (startSnap?.threadCacheHits ?? 0);
      this.tcMisses += endSnap.threadCacheMisses - (startSnap?.threadCacheMisses ?? 0);
    }
    this.cpuUs += f[CTL_F64.cpuEndUs] - f[CTL_F64.cpuStartUs];
    this.wallMs += f[CTL_F64.endAbs] - f[CTL_F64.startAbs];
    if (f[CTL_F64.busyStart] >= 0 && f[CTL_F64.busyEnd] >= 0) {
      this.busyJiffies += f[CTL_F64.busyEnd] - f[CTL_F64.busyStart];
      this.totalJiffies += f[CTL_F64.totalEnd] - f[CTL_F64.totalStart];
    } else {
      this.machineKnown = false;
    }
  }

  /** Cores the workers got, and cores other processes took, over the timed windows. */
  cores(): { coresUsed: number | null; otherCores: number | null } {
    const coresUsed = this.wallMs > 0 ? this.cpuUs / 1000 / this.wallMs : null;
    // /proc/stat counts jiffies of all cores: busy share x cores = cores busy machine-wide.
    // (10 ms jiffies: coarse for short windows, so this is a median-of-runs figure.)
    const machineCores = this.machineKnown && this.totalJiffies > 0 ? (this.busyJiffies / this.totalJiffies) * os.cpus().length : null;
    const otherCores = coresUsed !== null && machineCores !== null ? Math.max(0, machineCores - coresUsed) : null;
    return { coresUsed, otherCores };
  }
}
