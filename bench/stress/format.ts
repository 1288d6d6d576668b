/**
 * How the stress tester speaks to its user: progress lines, each failure (pointer, size
 * class, who allocated it, who found it) and the summary of a run.
 */
import { join } from 'node:path';
import type { StressFailure } from './types.js';
import type { StressProgress, StressSummary } from './options.js';

// ------------------------------------------------------------------- formatting

const MiB = 1024 * 1024;

function fmtBytes(n: number): string {
  if (Math.abs(n) >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (Math.abs(n) >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** A log2 bucket's lower edge as the bound a bucket can state: "< 2 µs" ("-" for none). */
function waitBound(lowerNs: number): string {
  const up = lowerNs === 0 ? 2 : 2 * lowerNs;
  return `< ${up >= 1e6 ? `${(up / 1e6).toFixed(2)} ms` : up >= 1e3 ? `${(up / 1e3).toFixed(2)} µs` : `${up} ns`}`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatProgress(p: StressProgress): string {
  return (
    `[stress] round ${p.round} ${p.phase.padEnd(5)} ${(p.elapsedMs / 1000).toFixed(1)} s | ops ${fmtInt(p.ops)}` +
    (p.opsPerSec > 0 ? ` (${fmtInt(p.opsPerSec)}/s)` : '') +
    ` | live ${fmtBytes(p.liveBytes)} | committed ${fmtBytes(p.committedBytes)} | workers done ${p.workersDone}/${p.workers}`
  );
}

export function formatFailure(f: StressFailure): string {
  const parts = [f.kind.toUpperCase()];
  if (f.pointer !== undefined) parts.push(`block ${f.pointer} (0x${f.pointer.toString(16)})`);
  if (f.sizeClass !== undefined) parts.push(f.sizeClass);
  if (f.allocatedBy !== undefined) parts.push(`allocated by ${f.allocatedBy}`);
  parts.push(`found by ${f.seenBy}`);
  return `${parts.join(', ')}: ${f.detail}`;
}

/** The summary as text lines (for the terminal and for bench/results/stress.md). */
export function formatSummary(s: StressSummary): string[] {
  const o = s.options;
  const lines: string[] = [];
  lines.push(`result: ${s.ok ? 'OK, zero failures' : `FAILED, ${s.failures.length} failure(s)`}`);
  lines.push(
    `workers ${o.workers}, ${o.durationSec > 0 ? `${o.durationSec} s` : `${fmtInt(o.ops)} ops`} per worker per round, sizes ${o.sizes}, ` +
      `remote-free rate ${o.remoteFreeRate}, realloc rate ${o.reallocRate}, locks central=${o.locks.central} pageHeap=${o.locks.pageHeap}, ` +
      `heap ${fmtBytes(o.heapSize)}${o.maxHeapSize > o.heapSize ? ` growable to ${fmtBytes(o.maxHeapSize)}${o.preallocate ? ' (grown before the workers start)' : ''}` : ' fixed'}, seed ${o.seed}` +
      (o.soakMinutes > 0 ? `, soak ${o.soakMinutes} min` : ''),
  );
  if (s.misuse) {
    lines.push(...formatMisuse(s));
  } else {
    lines.push(`rounds ${s.rounds}, threads used ${s.threadsUsed}, elapsed ${(s.elapsedMs / 1000).toFixed(1)} s (work phases ${(s.workMs / 1000).toFixed(1)} s)`);
    lines.push(...formatOps(s));
  }
  if (o.killRate > 0) {
    lines.push(
      `kill rate ${o.killRate}: ${s.kills} workers terminated (${s.killsMidTask} while attached, each followed by heap.recover), ` +
        `${s.inFlightRecovered} in-flight blocks taken back, ${s.lostToKills} lost (malloc returned, the worker died before recording it)`,
    );
  }
  if (s.locks) {
    for (const [tier, l] of Object.entries(s.locks)) {
      if (l.kind === 'none') continue;
      const r = l as unknown as Record<string, unknown>;
      const keys = ['acquisitions', 'contended', 'spins', 'parks', 'wakeups', 'handoffs'].filter((k) => typeof r[k] === 'number');
      // latency fields are log2 bucket lower edges: shown as the bucket they bound, not raw
      const extra = Object.entries(r)
        .filter(([k, v]) => !keys.includes(k) && k !== 'kind' && !k.startsWith('latency') && typeof v === 'number')
        .map(([k, v]) => `${k} ${fmtStat(v as number)}`);
      if (typeof r.latencyP50Ns === 'number' && typeof r.latencyP99Ns === 'number' && (r.latencySamples ?? 1) !== 0) {
        extra.push(`contended wait p50 ${waitBound(r.latencyP50Ns)}, p99 ${waitBound(r.latencyP99Ns)} (log2 buckets)`);
      }
      lines.push(`lock ${tier} (${l.kind}): ${[...keys.map((k) => `${k} ${fmtStat(r[k] as number)}`), ...extra].join(', ')}`);
    }
  }
  if (s.final) {
    const f = s.final;
    lines.push(
      `end: check() ${f.checkPassed ? 'passed' : 'FAILED'}, in use ${f.inUseObjects} objects, attached threads ${f.attachedThreads}, ` +
        `page heap free ${fmtBytes(f.pageHeapFreeBytes)} of ${fmtBytes(f.heapBytes)} in ${f.pageHeapFreeSpanCount} span(s)`,
    );
  }
  for (const f of s.failures.slice(0, 20)) lines.push(`  ${formatFailure(f)}`);
  if (s.failures.length > 20) lines.push(`  ... and ${s.failures.length - 20} more`);
  return lines;
}

export function formatOps(s: StressSummary): string[] {
  const out: string[] = [];
  out.push(
    `ops ${fmtInt(s.ops)} (${fmtInt(s.opsPerSec)} ops/s during work): mallocs ${fmtInt(s.allocs)}, frees ${fmtInt(s.frees)} ` +
      `(remote ${fmtInt(s.remoteFrees)}), reallocs ${fmtInt(s.reallocs)}, hand-offs ${fmtInt(s.handoffs)}, out-of-memory ${fmtInt(s.oom)}, ` +
      `bytes allocated ${fmtBytes(s.bytesAllocated)}`,
  );
  out.push(
    `peak live ${fmtBytes(s.peakLiveBytes)} (${fmtInt(s.peakLiveBlocks)} blocks at the largest audit), peak committed ${fmtBytes(s.peakCommittedBytes)}, ` +
      `heap ${fmtBytes(s.heapBytes)} of max ${fmtBytes(s.maxHeapBytes)}, grown ${s.growCount} time(s)`,
  );
  return out;
}

export function countsOf(r: Record<string, number>): string {
  const e = Object.entries(r).sort((a, b) => a[0].localeCompare(b[0]));
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ');
}

/** The racing-misuse figures: what was raced, the expected errors, and the must-be-zero counts. */
export function formatMisuse(s: StressSummary): string[] {
  const m = s.misuse!;
  const o = s.options;
  return [
    `racing misuse: ${o.debug ? 'debug' : 'default'} heap, sizes ${o.raceSizes.join(', ')}, groups of 2..${o.raceWidth} workers, ` +
      `${fmtInt(m.phases)} phases in ${(s.workMs / 1000).toFixed(1)} s, threads used ${s.threadsUsed}`,
    `races: ${fmtInt(m.freeFree + m.freeRealloc)} (free vs free ${fmtInt(m.freeFree)}, free vs realloc ${fmtInt(m.freeRealloc)}); ` +
      `by width: ${countsOf(m.byWidth)}; by size: ${countsOf(m.bySize)}`,
    `calls that released the block ${fmtInt(m.succeeded)}; expected typed errors: ${countsOf(m.typedErrors)}`,
    `must be 0: undetected races ${m.undetected}, refused ${m.refused}, corruption ${m.corruption}, hangs ${m.hangs}, unexpected errors ${m.unexpected}`,
    `watchdog: ${fmtInt(m.watchdogChecks)} concurrent check({ quiescent: false }) calls, ${m.watchdogFailures} threw; ` +
      `churn blocks verified ${fmtInt(m.churned)}, out-of-memory ${m.oom}`,
  ];
}

export function fmtStat(v: number): string {
  return Number.isInteger(v) || Math.abs(v) >= 1000 ? fmtInt(v) : v.toFixed(3);
}
