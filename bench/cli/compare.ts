/**
 * `sabmalloc compare a.json b.json`: two contention runs (the JSON `sabmalloc bench`
 * writes) side by side, point by point: median throughput of each, the change from a to b,
 * and whether that change exceeds the measured spread.
 *
 * The rule for "exceeds the spread": each point's repetitions give a [min, max] range; a
 * change is called real only when the two ranges do not overlap (b's min above a's max, or
 * b's max below a's min). With one repetition per point there is no spread and the verdict
 * is "n/a". This is deliberately conservative: on a loaded machine single points vary by
 * tens of percent, and a change inside that noise is reported as such.
 *
 * Owns: nothing persistent; reads two files, prints a table (or CSV), writes nothing.
 */
import { readFileSync } from 'node:fs';
import { toCsv } from '../contention/csv.js';
import type { Figure, Spread } from '../contention/types.js';
import { UsageError, existingFile, parseOptions, parseOrExit, wantsHelp } from './args.js';

export const COMPARE_USAGE = `usage: sabmalloc compare A.json B.json [options]
Two contention runs (the JSON files 'sabmalloc bench' writes) side by side: for every
(workload, allocator, workers) point in both, the median throughput of A and of B, the
change B/A - 1, and whether the change exceeds the measured spread (the [min, max] ranges
of the two points' repetitions do not overlap).

  --csv        print CSV instead of the table
  --all        also list points present in only one of the runs`;

export interface ComparisonRow {
  workload: string;
  allocator: string;
  workers: number;
  a: Spread | null;
  b: Spread | null;
  /** b.median / a.median - 1, null when either side is missing */
  change: number | null;
  /** 'faster' | 'slower' when the ranges do not overlap, 'within spread', or 'n/a' */
  verdict: 'faster' | 'slower' | 'within spread' | 'n/a';
}

interface SavedRun {
  figures: Figure[];
  meta?: { command?: string; date?: string };
}

function load(file: string, which: string): SavedRun {
  existingFile(file, which);
  let r: SavedRun;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as SavedRun;
  } catch {
    throw new UsageError(`${which} '${file}': not JSON`);
  }
  if (!r || !Array.isArray(r.figures)) throw new UsageError(`${which} '${file}': not the JSON of a 'sabmalloc bench' run (no figures)`);
  return r;
}

const key = (f: Pick<Figure, 'workload' | 'allocator' | 'workers'>): string => `${f.workload}\u0000${f.allocator}\u0000${f.workers}`;

/** Pairs the figures of two runs; rows follow a's order, then b's extra points. */
export function compareFigures(a: readonly Figure[], b: readonly Figure[], all = false): ComparisonRow[] {
  const bByKey = new Map(b.map((f) => [key(f), f]));
  const aKeys = new Set(a.map(key));
  const rows: ComparisonRow[] = [];
  const row = (fa: Figure | undefined, fb: Figure | undefined): ComparisonRow => {
    const ref = (fa ?? fb)!;
    const sa = fa?.throughput ?? null;
    const sb = fb?.throughput ?? null;
    let change: number | null = null;
    let verdict: ComparisonRow['verdict'] = 'n/a';
    if (sa && sb && sa.median > 0) {
      change = sb.median / sa.median - 1;
      if (sa.n >= 2 && sb.n >= 2) verdict = sb.min > sa.max ? 'faster' : sb.max < sa.min ? 'slower' : 'within spread';
    }
    return { workload: ref.workload, allocator: ref.allocator, workers: ref.workers, a: sa, b: sb, change, verdict };
  };
  for (const fa of a) {
    const fb = bByKey.get(key(fa));
    if (fb || all) rows.push(row(fa, fb));
  }
  if (all) for (const fb of b) if (!aKeys.has(key(fb))) rows.push(row(undefined, fb));
  return rows;
}

function si(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  const abs = Math.abs(x);
  return abs >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : abs >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(abs >= 10 ? 0 : 2);
}

function pm(s: Spread | null): string {
  if (!s) return '-';
  return s.n >= 2 ? `${si(s.median)} ±${((100 * s.spread) / 2).toFixed(0)}%` : si(s.median);
}

/** The comparison as an aligned text table. */
export function formatComparison(rows: readonly ComparisonRow[], aName: string, bName: string): string {
  const head = ['workload', 'allocator', 'workers', `A (${aName})`, `B (${bName})`, 'change', 'beyond spread?'];
  const body = rows.map((r) => [
    r.workload,
    r.allocator,
    String(r.workers),
    pm(r.a),
    pm(r.b),
    r.change === null ? '-' : `${r.change >= 0 ? '+' : ''}${(100 * r.change).toFixed(1)}%`,
    r.verdict === 'faster' || r.verdict === 'slower' ? `yes (${r.verdict})` : r.verdict === 'within spread' ? 'no' : 'n/a (1 rep)',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const real = rows.filter((r) => r.verdict === 'faster' || r.verdict === 'slower').length;
  return [
    line(head),
    ...body.map(line),
    '',
    `${rows.length} point(s) compared; ${real} change(s) beyond the measured spread (throughput, allocator calls per second; ± is half the min..max range of the repetitions)`,
  ].join('\n');
}

export function comparisonCsv(rows: readonly ComparisonRow[]): string {
  return toCsv(
    ['workload', 'allocator', 'workers', 'a_median', 'a_min', 'a_max', 'a_reps', 'b_median', 'b_min', 'b_max', 'b_reps', 'change', 'verdict'],
    rows.map((r) => [r.workload, r.allocator, r.workers, r.a?.median, r.a?.min, r.a?.max, r.a?.n, r.b?.median, r.b?.min, r.b?.max, r.b?.n, r.change, r.verdict]),
  );
}

export function parseCompareArgs(argv: readonly string[]): { a: SavedRun; b: SavedRun; aFile: string; bFile: string; csv: boolean; all: boolean } {
  const { values, positionals } = parseOptions(argv, { csv: { type: 'boolean' }, all: { type: 'boolean' } } as const, 2);
  if (positionals.length !== 2) throw new UsageError('expected two result files: sabmalloc compare A.json B.json');
  const [aFile, bFile] = positionals as [string, string];
  return { a: load(aFile, 'A'), b: load(bFile, 'B'), aFile, bFile, csv: values.csv ?? false, all: values.all ?? false };
}

/** Runs `sabmalloc compare`; returns the exit code (0, or 2 for bad arguments). */
export function compareCommand(argv: readonly string[]): number {
  if (wantsHelp(argv)) {
    console.log(COMPARE_USAGE);
    return 0;
  }
  const p = parseOrExit('compare', () => parseCompareArgs(argv));
  if ('code' in p) return p.code;
  const { a, b, aFile, bFile, csv, all } = p.ok;
  const rows = compareFigures(a.figures, b.figures, all);
  if (rows.length === 0) {
    console.error('sabmalloc compare: the two runs have no (workload, allocator, workers) point in common (try --all)');
    return 1;
  }
  if (csv) console.log(comparisonCsv(rows).trimEnd());
  else console.log(formatComparison(rows, aFile, bFile));
  return 0;
}
