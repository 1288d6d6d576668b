/**
 * CSV export of a contention run, next to its JSON (`<stem>.csv` and `<stem>-runs.csv`):
 * one row per (workload, allocator, workers) figure with the median and the measured
 * spread (min, max), and one row per individual run. Plain RFC 4180 CSV (comma separated,
 * quoted only where needed, '.' decimals, empty cell for a missing value) so that
 * spreadsheets and mimalloc-bench style scripts read it directly.
 *
 * Owns: nothing persistent; pure functions of SuiteResults, plus the one writer.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ContentionResults } from './types.js';
import { RESOURCE_COLUMNS, resourceFigures } from './peer-report.js';
import type { SuiteResults } from './suite.js';

type Cell = string | number | null | undefined;

function cell(v: Cell): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

export const FIGURE_COLUMNS = [
  'workload',
  'allocator',
  'workers',
  'reps',
  'throughput_median',
  'throughput_min',
  'throughput_max',
  'throughput_spread',
  'throughput_lo',
  'throughput_hi',
  'interval',
  'flags',
  'metric_median',
  'scaling',
  'ratio_to_global_lock',
  'ratio_to_thing',
  'blowup_median',
  'blowup_excl_metadata_median',
  'peak_committed_bytes',
  'peak_live_bytes',
  'thread_cache_hit_rate',
  'cores_used',
  'other_cores',
] as const;

/** One row per figure (median over repetitions, with the spread, the interval and the noise flags). */
export function figuresCsv(r: ContentionResults): string {
  return toCsv(
    FIGURE_COLUMNS,
    r.figures.map((f) => [
      f.workload,
      f.allocator,
      f.workers,
      f.throughput.n,
      f.throughput.median,
      f.throughput.min,
      f.throughput.max,
      f.throughput.spread,
      f.tput?.lo,
      f.tput?.hi,
      f.tput?.ciMethod,
      f.tput?.flags.join(' '),
      f.metric.median,
      f.scaling,
      f.ratioToGlobalLock,
      f.ratioToThing,
      f.blowup.median,
      f.blowupExclMetadata.median,
      f.peakCommittedBytes,
      f.peakLiveBytes,
      f.threadCacheHitRate,
      f.coresUsed,
      f.otherCores,
    ]),
  );
}

export const RUN_COLUMNS = ['workload', 'allocator', 'workers', 'rep', 'seconds', 'ops', 'mallocs', 'frees', 'throughput', 'metric', 'peak_committed_bytes', 'peak_live_bytes', 'blowup', 'cores_used'] as const;

/** One row per individual run. */
export function runsCsv(r: ContentionResults): string {
  return toCsv(
    RUN_COLUMNS,
    r.runs.map((x) => [x.workload, x.allocator, x.workers, x.rep, x.seconds, x.ops, x.mallocs, x.frees, x.throughput, x.metric, x.peakCommittedBytes, x.peakLiveBytes, x.blowup, x.coresUsed]),
  );
}

/** One row per (workload, allocator, workers): wall, CPU, RSS, faults and latency medians (peer-report.ts). */
export function resourcesCsv(r: SuiteResults): string {
  return toCsv(RESOURCE_COLUMNS, resourceFigures(r).map((f) => [f.workload, f.allocator, f.workers, ...f.values]));
}

/** Writes <stem>.csv (figures), <stem>-runs.csv and <stem>-resources.csv (peer-report.ts); returns the paths. */
export function writeResultsCsv(r: ContentionResults, outDir: string, stem: string): string[] {
  const files = [path.join(outDir, `${stem}.csv`), path.join(outDir, `${stem}-runs.csv`), path.join(outDir, `${stem}-resources.csv`)];
  writeFileSync(files[0]!, figuresCsv(r));
  writeFileSync(files[1]!, runsCsv(r));
  writeFileSync(files[2]!, resourcesCsv(r as SuiteResults));
  return files;
}
