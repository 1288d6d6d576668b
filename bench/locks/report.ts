/**
 * Output of the lock benchmark: the terminal tables, the JSON, the CSV and the SVG charts,
 * and `--replot` (re-render from a saved JSON without measuring).
 *
 * Owns: the files it writes under the output directory, all named `<stem>...`:
 *   <stem>.json                       every option, point (with its repetitions, their
 *                                     noise and the acquire-latency histogram) and verdict
 *   <stem>.csv                        one row per point, with a flags column
 *   <stem>-throughput-cs<N>.svg       throughput vs workers (flagged points hollow grey)
 *   <stem>-fairness-cs<N>.svg         Jain's index vs workers
 * Invariants: everything shown is computed from the report passed in. Percentiles are
 * bucket bounds (bench/kit/histogram.ts), "-" where nothing was recorded; the interval
 * beside each median says what it is (bench/kit/sample.ts ciLabel); the project's own
 * acceptance comparisons (best kind, adaptive/best) print only with --targets.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg } from '../kit/charts.js';
import { formatPercentile, percentileBound, renderHistogram } from '../kit/histogram.js';
import { summarizeFlags } from '../kit/noise.js';
import { ciLabel, formatPoint, summarize, type Point } from '../kit/sample.js';
import { toCsv } from '../contention/csv.js';
import { winners, type LockBenchPoint } from './point.js';
import type { UncontendedRow } from './tasks.js';
import { formatVerdicts } from './validate.js';
import { nameOf } from './entries.js';
import type { LockBenchReport } from './types.js';

export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e6) return (x / 1e6).toFixed(2) + 'M';
  if (x >= 1e3) return (x / 1e3).toFixed(1) + 'k';
  return x.toFixed(0);
}

export function fmtNs(ns: number): string {
  if (ns >= 1e6) return (ns / 1e6).toFixed(1) + ' ms';
  if (ns >= 1e3) return (ns / 1e3).toFixed(1) + ' µs';
  return ns.toFixed(0) + ' ns';
}

/** Plain aligned text table (first column left-aligned, the rest right-aligned). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: readonly string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The point's throughput summary (a report saved before Points were stored: from its repetitions). */
export function tputOf(p: LockBenchPoint): Point {
  return p.tput ?? summarize(p.throughputReps.length ? p.throughputReps : [p.throughput]);
}

/** A percentile as its bucket bound ("<= 4.19 ms"); `all` false: contended acquisitions only (the wait). */
const pctl = (p: LockBenchPoint, q: number, all = true): string => (p.acquire ? formatPercentile(p.acquire, q, all).replace(/^p[\d.]+ /, '') : '-');

export function printUncontended(rows: readonly UncontendedRow[]): void {
  console.log('\nUncontended lock+unlock (main thread, tinybench after its warm-up): median sample, fastest sample and upper quartile, ns per pair');
  const q = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
  console.log(textTable(['kind', 'ns/pair (median)', 'min..p75'], rows.map((r) => [r.kind, r.nsPerLockUnlock.toFixed(1), `${q(r.minNs)}..${q(r.p75Ns)}`])));
}

export function csLine(cs: number, csNs: number, outside: number, outsideNs: number | undefined): string {
  const body = cs === 0 ? 'empty critical section' : `critical section ${cs} shared writes (~${fmtNs(csNs)})`;
  return `${body}, work between = ${outside} relax (~${fmtNs(outsideNs ?? NaN)})`;
}

export function printSweep(points: readonly LockBenchPoint[], cs: number, report: LockBenchReport): void {
  const first = points[0];
  console.log(`\nContention sweep, ${csLine(cs, report.csNs[cs] ?? NaN, first?.outsideWork ?? 0, report.outsideNs)}`);
  if (first) {
    console.log(`acq/s: median [${ciLabel(tputOf(first))}] (noise flags). Latency: acquire time of every acquisition (uncontended = first try, not timed),`);
    console.log(`and the wait of contended ones; percentiles are log2 bucket upper bounds; timer step ${report.timerResolutionNs ? fmtNs(report.timerResolutionNs) : 'unknown'}; '-' = nothing recorded`);
  }
  console.log(
    textTable(
      ['kind/policy', 'workers', 'acq/s', 'min count', 'max count', 'jain', 'contended', 'parks/acq', 'p50 acquire', 'p99 acquire', 'p99 contended wait'],
      points.map((p) => [
        nameOf(p) + (p.violation ? ' (BROKE MUTUAL EXCLUSION)' : ''),
        String(p.workers),
        formatPoint(tputOf(p), fmtRate),
        fmtRate(p.perWorkerMin),
        fmtRate(p.perWorkerMax),
        p.jain.toFixed(3),
        (100 * p.contendedFraction).toFixed(1) + '%',
        p.parksPerAcquisition.toFixed(3),
        pctl(p, 0.5),
        pctl(p, 0.99),
        pctl(p, 0.99, false),
      ]),
    ),
  );
}

const median = (h: LockBenchPoint['handover']): string => (h ? formatPercentile(h, 0.5, false).replace(/^p[\d.]+ /, '') : '-');

/** Hand-over, wake-up, lockhammer's overhead and the fairness flag of every point. */
export function printHandover(points: readonly LockBenchPoint[]): void {
  if (!points.some((p) => p.unfair !== undefined)) return;
  console.log('\nHand-over (unlock to a waiting thread holding the lock; 1 release in 8 sampled), wake-up (the same for waiters that');
  console.log('slept), overhead per acquisition (time per lock minus critical and parallel sections), fairness flag (max > 2 min)');
  console.log(
    textTable(
      ['kind/policy', 'workers', 'cs', 'p50 hand-over', 'p99 hand-over', 'p50 wake-up', 'p99 wake-up', 'overhead/acq', 'fair?', 'longest wait'],
      points.map((p) => [
        nameOf(p),
        String(p.workers),
        String(p.csWrites),
        median(p.handover),
        p.handover ? formatPercentile(p.handover, 0.99, false).replace(/^p[\d.]+ /, '') : '-',
        median(p.wakeup),
        p.wakeup ? formatPercentile(p.wakeup, 0.99, false).replace(/^p[\d.]+ /, '') : '-',
        p.overheadNs == null ? '-' : fmtNs(p.overheadNs),
        p.unfair === undefined ? '-' : p.unfair ? 'UNFAIR' : 'ok',
        p.longestWaitNs ? fmtNs(p.longestWaitNs) : '-',
      ]),
    ),
  );
}

/** The acquire-latency distributions of every point, one line each. */
export function printLatency(points: readonly LockBenchPoint[]): void {
  console.log('\nAcquire latency per point (uncontended = first try, never timed; bars over the timed buckets)');
  for (const p of points) console.log(`  ${nameOf(p)} ${p.workers}w cs ${p.csWrites}: ${p.acquire ? renderHistogram(p.acquire) : 'nothing recorded'}`);
}

/** The project's own comparison (best kind, adaptive relative to it): --targets only. */
export function printWinners(report: LockBenchReport): void {
  if (report.points.length === 0 || !report.points.some((p) => p.kind === 'adaptive')) return;
  console.log('\nTargets: best kind per point (adaptive as a fraction of the best)');
  console.log(
    textTable(
      ['cs writes', 'workers', 'best', 'acq/s', 'adaptive/best'],
      winners(report.points).map((x) => [String(x.csWrites), String(x.workers), x.best, fmtRate(x.bestThroughput), x.adaptiveRatio === null ? '-' : x.adaptiveRatio.toFixed(2)]),
    ),
  );
}

/** The run's noise summary line: how many points are flagged and why. */
export function noiseLine(report: LockBenchReport): string {
  return `Noise: ${summarizeFlags(report.points.map(tputOf)).text}`;
}

export function printReport(report: LockBenchReport, targets: boolean): void {
  if (report.uncontended.length) printUncontended(report.uncontended);
  const o = report.options;
  const modes = [
    o.csNs ? `critical sections asked in ns: ${o.csNs.join(', ')} (as ${o.csWrites.join(', ')} shared writes)` : '',
    o.outsideNs !== undefined ? `outside work asked: ${o.outsideNs} ns (as ${o.outsideWork} relax)` : '',
    o.jitter ? `randomised lengths: uniform within ±${Math.round(o.jitter * 100)}%` : '',
    o.stutterMs ? `stutter: ${o.stutterMs} ms bursts of contention, ${o.stutterMs} ms idle gaps` : '',
    o.longHold ? `long hold: one acquisition in ${o.longHold.every} holds the lock ${o.longHold.ms} ms longer` : '',
  ].filter(Boolean);
  if (modes.length) console.log(`\nModes: ${modes.join('; ')}`);
  for (const cs of report.options.csWrites) printSweep(report.points.filter((p) => p.csWrites === cs), cs, report);
  printHandover(report.points);
  printLatency(report.points);
  if (report.verdicts?.length) console.log(`\nValidation (PASS/FAIL per kind and check)\n${formatVerdicts(report.verdicts)}`);
  if (targets) printWinners(report);
  console.log(`\n${noiseLine(report)}`);
}

/** The p50's bucket upper bound in ns, '' when nothing was recorded. */
const upper = (h: LockBenchPoint['handover']): number | string => {
  const b = h ? percentileBound(h, 0.5, false) : null;
  return b?.kind === 'bucket' ? b.upperNs : '';
};

function pointsCsv(report: LockBenchReport): string {
  return toCsv(
    ['kind', 'policy', 'name', 'cs_writes', 'workers', 'median_acq_per_s', 'lo', 'hi', 'interval', 'reps', 'flags', 'jain', 'contended_fraction', 'parks_per_acq', 'p50_acquire_le_ns', 'p99_acquire_le_ns', 'p50_handover_le_ns', 'p50_wakeup_le_ns', 'overhead_ns_per_acq', 'unfair', 'longest_wait_ns', 'violation'],
    report.points.map((p) => {
      const t = tputOf(p);
      const bound = (q: number) => {
        const s = pctl(p, q);
        const m = /^<= ([\d.]+) (ns|µs|ms|s)$/.exec(s);
        return m ? Number(m[1]) * { ns: 1, µs: 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns']! : s;
      };
      return [p.kind, p.policy ?? '', nameOf(p), p.csWrites, p.workers, t.median, t.lo, t.hi, t.ciMethod, t.n, t.flags.join(' '), p.jain, p.contendedFraction, p.parksPerAcquisition, bound(0.5), bound(0.99), upper(p.handover), upper(p.wakeup), p.overheadNs ?? '', p.unfair === undefined ? '' : String(p.unfair), p.longestWaitNs ?? '', p.violation ?? ''];
    }),
  );
}

export async function writeResults(report: LockBenchReport, outDir: string, name: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const o = report.options;
  const m = report.machine;
  const load = [m.loadAvgStart, m.loadAvgEnd].filter((x): x is number => typeof x === 'number').map((x) => x.toFixed(1)).join(' -> ');
  const sub = `${m.cpus} cores, load ${load || '?'}, Node ${m.node}; median of ${o.reps} x ${o.durationMs} ms; hollow grey: noise-flagged`;
  for (const cs of o.csWrites) {
    const pts = report.points.filter((p) => p.csWrites === cs);
    if (pts.length === 0) continue;
    const series = (y: (p: LockBenchPoint) => number) =>
      [...new Set(pts.map(nameOf))].map((name) => ({ name, points: pts.filter((p) => nameOf(p) === name).map((p) => [p.workers, y(p)] as const) }));
    const csLabel = cs === 0 ? 'empty critical section' : `critical section ${cs} shared writes (~${fmtNs(report.csNs[cs] ?? NaN)})`;
    const throughput = join(outDir, `${name}-throughput-cs${cs}.svg`);
    const tputSeries = series((p) => tputOf(p).median).map((s) => {
      const mine = pts.filter((p) => nameOf(p) === s.name);
      return {
        ...s,
        spread: mine.filter((p) => tputOf(p).n > 1).map((p) => [p.workers, tputOf(p).lo, tputOf(p).hi] as const),
        flagged: mine.filter((p) => tputOf(p).flags.length > 0).map((p) => p.workers),
      };
    });
    writeFileSync(
      throughput,
      await lineChartSvg({ title: `Lock throughput vs workers, ${csLabel}`, subtitle: `${sub}; bars: ${ciLabel(tputOf(pts[0]!))}`, xLabel: 'workers', yLabel: 'acquisitions / s', logX: true, logY: true, series: tputSeries }),
    );
    const fairness = join(outDir, `${name}-fairness-cs${cs}.svg`);
    writeFileSync(
      fairness,
      await lineChartSvg({ title: `Lock fairness (Jain's index of per-worker acquisitions), ${csLabel}`, subtitle: sub, xLabel: 'workers', yLabel: "Jain's fairness index", logX: true, yDomain: [0, 1], series: series((p) => p.jain) }),
    );
    files.push(throughput, fairness);
    // wake-up (p50 bucket bound) and lockhammer's overhead per acquisition, where measured
    const wakeSeries = series((p) => Number(upper(p.wakeup)) || NaN).map((s) => ({ ...s, points: s.points.filter(([, y]) => Number.isFinite(y)) })).filter((s) => s.points.length);
    if (wakeSeries.length) {
      const wake = join(outDir, `${name}-wakeup-cs${cs}.svg`);
      writeFileSync(wake, await lineChartSvg({ title: `Wake-up latency (unlock to a parked waiter holding the lock, p50 bucket bound), ${csLabel}`, subtitle: sub, xLabel: 'workers', yLabel: 'ns (log2 bucket upper bound)', logX: true, logY: true, series: wakeSeries }));
      files.push(wake);
    }
    const ovSeries = series((p) => p.overheadNs ?? NaN).map((s) => ({ ...s, points: s.points.filter(([, y]) => Number.isFinite(y) && y > 0) })).filter((s) => s.points.length);
    if (ovSeries.length) {
      const ov = join(outDir, `${name}-overhead-cs${cs}.svg`);
      writeFileSync(ov, await lineChartSvg({ title: `Overhead per acquisition (time per lock minus critical and parallel sections), ${csLabel}`, subtitle: sub, xLabel: 'workers', yLabel: 'ns per acquisition', logX: true, logY: true, series: ovSeries }));
      files.push(ov);
    }
  }
  const csv = join(outDir, `${name}.csv`);
  writeFileSync(csv, pointsCsv(report));
  const json = join(outDir, `${name}.json`);
  files.unshift(json, csv);
  writeFileSync(json, JSON.stringify({ ...report, files, winners: winners(report.points) }, null, 2) + '\n');
  return files;
}
