/**
 * `sabmalloc compare A.json B.json`: two saved runs (of `sabmalloc bench` or of
 * `sabmalloc locks`) point by point: each side's median with its interval, the change
 * median(B) / median(A) - 1 with its interval, and a verdict from a significance test over
 * the repetitions, "no evidence of change" being the common answer.
 *
 * Owns: nothing persistent; reads two files (checked by compare-input.ts: a malformed file
 * is one line on stderr and exit 2), prints a table or CSV, writes nothing.
 *
 * Method (the statistics live in bench/kit):
 * - per side, the repetitions' median and interval (kit/sample.ts: bootstrap percentile
 *   95% CI from 6 repetitions, min..max below, labelled);
 * - per side, noise flags (kit/noise.ts) from what each repetition recorded (cores used,
 *   other processes' cores) and from its spread, shown beside the point; a side with a
 *   machine flag (MACHINE_FLAGS: the machine interfered) makes the verdict 'noisy'. The
 *   'spread' flag does not: the rank test already weighs how much repetitions disagree;
 * - the verdict (kit/verdict.ts): two-sided Mann-Whitney U over the repetitions at alpha
 *   0.05, a change only when the ratio's interval excludes 1 as well; 'too few
 *   repetitions' when the rank test cannot reach alpha at these n.
 * - Before any figure, a header lists every way the two runs differ in how they were run
 *   (window, repetitions, worker counts, workload settings, machine, load): a change
 *   between such runs may be that difference and not the code. `--strict` refuses them.
 *   Then the cautions: a run made on a machine whose load exceeded its cores (printed,
 *   never a refusal: identical runs on one busy machine still compare).
 * - Points present in only one run are counted, and listed with `--all` ("only in A").
 */
import { UsageError, parseOptions, parseOrExit, wantsHelp } from '../cli/args.js';
import { MACHINE_FLAGS, measuredPoint, summarizeFlags } from '../kit/noise.js';
import { ciLabel, formatPoint, type Point } from '../kit/sample.js';
import { DEFAULT_ALPHA, compareRepetitions, repsNeeded, type Verdict } from '../kit/verdict.js';
import { loadSavedRun, ResultsFileError, type SavedPoint, type SavedRun } from './compare-input.js';
import { toCsv } from './csv.js';

export const COMPARE_USAGE = `usage: sabmalloc compare A.json B.json [options]
Two saved runs (the JSON files 'sabmalloc bench' or 'sabmalloc locks' writes) point by
point: the median of each with its interval, the change B/A - 1 with its interval, and a
verdict from a Mann-Whitney U test over the repetitions (alpha ${DEFAULT_ALPHA}): faster,
slower, no evidence of change, too few repetitions, or noisy (the machine interfered with a
side: it got fewer cores than asked, or other processes took them). Differences in how the runs were made (window, repetitions, workers, machine,
load) are listed first.

  --csv        print CSV instead of the table (the differences go to stderr)
  --all        also list points present in only one of the runs
  --strict     refuse (exit 1) when the runs differ in how they were made (a loaded
               machine alone is a caution, printed, not a refusal)`;

export interface ComparisonRow {
  labels: string[];
  presence: 'both' | 'only in A' | 'only in B';
  a: Point | null;
  b: Point | null;
  verdict: Verdict | null;
}

export interface Comparison {
  a: SavedRun;
  b: SavedRun;
  /** how the runs differ in the way they were made; empty when they match */
  differences: string[];
  /** what makes a run doubtful on its own (a loaded machine) */
  cautions: string[];
  rows: ComparisonRow[];
}

/** The flags of a point that make a verdict on it 'noisy' (the machine interfered). */
const noiseFlags = (p: Point | null): string[] => p?.flags.filter((f) => (MACHINE_FLAGS as readonly string[]).includes(f)) ?? [];

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(2));

/** Every way the two runs differ in how they were made (each one line). */
export function runDifferences(a: SavedRun, b: SavedRun): string[] {
  const out: string[] = [];
  const diff = (what: string, x: unknown, y: unknown, show = (v: unknown) => String(v)): void => {
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${what}: A ${show(x)}, B ${show(y)}`);
  };
  diff('timed window', a.windowMs, b.windowMs, (v) => `${v} ms`);
  diff('repetitions per point', a.reps, b.reps);
  diff('worker counts', a.workers, b.workers, (v) => (v as number[]).join(','));
  diff('quick mode', a.quick, b.quick);
  if (a.settings !== b.settings) out.push(`workload settings differ: A ${a.settings}, B ${b.settings}`);
  diff('machine cores', a.machine.cores, b.machine.cores);
  diff('CPU model', a.machine.cpuModel, b.machine.cpuModel);
  diff('Node version', a.machine.node, b.machine.node);
  diff('platform', a.machine.platform, b.machine.platform);
  const cores = Math.max(a.machine.cores, b.machine.cores);
  if (a.load !== null && b.load !== null && Math.abs(a.load - b.load) > Math.max(1, 0.25 * cores)) {
    out.push(`load average: A ${fmt(a.load)}, B ${fmt(b.load)} (on ${cores} cores)`);
  }
  return out;
}

/** What makes either run's figures doubtful on their own (a loaded machine), each one line. */
export function runCautions(a: SavedRun, b: SavedRun): string[] {
  const out: string[] = [];
  for (const [n, r] of [['A', a], ['B', b]] as const) {
    if (r.load !== null && r.load > r.machine.cores) out.push(`${n} ran on a loaded machine: load average ${fmt(r.load)} on ${r.machine.cores} cores`);
  }
  return out;
}

/** The point's summary, with the noise flags its repetitions earned (and any the file recorded). */
const pointOf = (p: SavedPoint): Point => measuredPoint(p.reps, p.noise, { workers: p.workers }, { flags: p.flags });

/** Pairs the points of two runs; rows follow A's order, then B's extra points. */
export function compareRuns(a: SavedRun, b: SavedRun, opts: { alpha?: number } = {}): Comparison {
  if (a.tool !== b.tool) throw new ResultsFileError(`A '${a.file}' is a '${a.tool}' run and B '${b.file}' a '${b.tool}' run: their points cannot be compared`);
  const rows: ComparisonRow[] = [];
  for (const [key, pa] of a.points) {
    const pb = b.points.get(key);
    const sa = pointOf(pa);
    if (!pb) {
      rows.push({ labels: pa.labels, presence: 'only in A', a: sa, b: null, verdict: null });
      continue;
    }
    const sb = pointOf(pb);
    const verdict = compareRepetitions(pa.reps, pb.reps, { alpha: opts.alpha, flagsA: noiseFlags(sa), flagsB: noiseFlags(sb) });
    rows.push({ labels: pa.labels, presence: 'both', a: sa, b: sb, verdict });
  }
  for (const [key, pb] of b.points) if (!a.points.has(key)) rows.push({ labels: pb.labels, presence: 'only in B', a: null, b: pointOf(pb), verdict: null });
  return { a, b, differences: runDifferences(a, b), cautions: runCautions(a, b), rows };
}

function si(x: number): string {
  if (!Number.isFinite(x)) return '-';
  const abs = Math.abs(x);
  return abs >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : abs >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(abs >= 10 ? 0 : 2);
}

const pct = (r: number): string => `${r >= 1 ? '+' : ''}${(100 * (r - 1)).toFixed(1)}%`;


/** The verdict as a table cell: 'faster', 'slower', 'no evidence of change', 'noisy (B cpu-short)', ... */
export function verdictCell(r: ComparisonRow): string {
  if (!r.verdict) return r.presence;
  const v = r.verdict;
  if (v.change === 'higher') return 'faster';
  if (v.change === 'lower') return 'slower';
  if (v.change === 'noisy') {
    const who = [...noiseFlags(r.a).map((f) => `A ${f}`), ...noiseFlags(r.b).map((f) => `B ${f}`)];
    return `noisy (${who.join(', ')})`;
  }
  return v.change;
}

function changeCell(v: Verdict | null): string {
  if (!v || !Number.isFinite(v.ratio.ratio)) return '-';
  return `${pct(v.ratio.ratio)} [${pct(v.ratio.lo)}..${pct(v.ratio.hi)}]`;
}

/** The header that lists how the runs differ, then what makes either doubtful; empty when nothing does. */
export function differencesHeader(c: Comparison): string[] {
  const out: string[] = [];
  if (c.differences.length) out.push('WARNING: A and B were not run the same way; a change below may come from this, not from the code:', ...c.differences.map((d) => `  - ${d}`));
  if (c.cautions.length) out.push('CAUTION: other work competed with the figures below:', ...c.cautions.map((d) => `  - ${d}`));
  return out.length ? [...out, ''] : [];
}

/** The comparison as an aligned text table, the differences header first. */
export function formatComparison(c: Comparison, all = false): string {
  const shown = c.rows.filter((r) => all || r.presence === 'both');
  const head = [...c.a.labelNames, `A (${c.a.file})`, `B (${c.b.file})`, 'change B/A', 'p', 'verdict'];
  const body = shown.map((r) => [...r.labels, formatPoint(r.a, si), formatPoint(r.b, si), changeCell(r.verdict), r.verdict?.test ? r.verdict.test.p.toFixed(3) : '-', verdictCell(r)]);
  const nLabels = c.a.labelNames.length;
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i < nLabels - 1 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [...differencesHeader(c), line(head), ...body.map(line), '', ...summaryLines(c, all)].join('\n');
}

function summaryLines(c: Comparison, all: boolean): string[] {
  const both = c.rows.filter((r) => r.presence === 'both');
  const count = (k: string): number => both.filter((r) => verdictCell(r).split(' (')[0] === k).length;
  const onlyA = c.rows.filter((r) => r.presence === 'only in A').length;
  const onlyB = c.rows.filter((r) => r.presence === 'only in B').length;
  const ns = new Set(both.flatMap((r) => [r.a!.n, r.b!.n]));
  const intervals = [...ns].sort((x, y) => x - y).map((n) => `${n} reps: ${ciLabel({ n, ciMethod: n >= 6 ? 'bootstrap95' : 'minmax' })}`);
  const untestable = both.filter((r) => r.verdict?.test && r.verdict.test.minP >= DEFAULT_ALPHA).length;
  const power = untestable
    ? [`${untestable} point(s) have too few repetitions for the test to ever reach p < ${DEFAULT_ALPHA}: at most "too few repetitions" there; run with ${repsNeeded(DEFAULT_ALPHA)} or more repetitions per point.`]
    : [];
  return [
    `${both.length} point(s) in both runs: ${count('faster')} faster, ${count('slower')} slower, ${count('no evidence of change')} no evidence of change, ` +
      `${count('noisy')} noisy, ${count('too few repetitions')} too few repetitions` +
      (onlyA + onlyB ? `; ${onlyA} only in A, ${onlyB} only in B${all ? '' : ' (--all lists them)'}` : ''),
    `noise, A: ${summarizeFlags(c.rows.filter((r) => r.a).map((r) => r.a!)).text}`,
    `noise, B: ${summarizeFlags(c.rows.filter((r) => r.b).map((r) => r.b!)).text}`,
    `figures: ${c.a.figure}; A and B are medians [interval] (${intervals.join('; ') || 'no repetitions'}).`,
    ...power,
    `verdict: two-sided Mann-Whitney U over the repetitions (p), alpha ${DEFAULT_ALPHA}; a change only when the interval of B/A also excludes 0%; noisy when the machine interfered with a side (${MACHINE_FLAGS.join(', ')}); flags in parentheses beside a figure.`,
  ];
}

export function comparisonCsv(c: Comparison, all = false): string {
  const side = (p: Point | null) => [p?.median, p?.lo, p?.hi, p?.ciMethod, p?.n, p?.flags.join(' ')];
  return toCsv(
    [...c.a.labelNames, 'presence', 'a_median', 'a_lo', 'a_hi', 'a_interval', 'a_reps', 'a_flags', 'b_median', 'b_lo', 'b_hi', 'b_interval', 'b_reps', 'b_flags', 'ratio', 'ratio_lo', 'ratio_hi', 'p', 'verdict'],
    c.rows
      .filter((r) => all || r.presence === 'both')
      .map((r) => [...r.labels, r.presence, ...side(r.a), ...side(r.b), r.verdict?.ratio.ratio, r.verdict?.ratio.lo, r.verdict?.ratio.hi, r.verdict?.test?.p, verdictCell(r)]),
  );
}

export function parseCompareArgs(argv: readonly string[]): { a: SavedRun; b: SavedRun; csv: boolean; all: boolean; strict: boolean } {
  const { values, positionals } = parseOptions(argv, { csv: { type: 'boolean' }, all: { type: 'boolean' }, strict: { type: 'boolean' } } as const, 2);
  if (positionals.length !== 2) throw new UsageError('expected two result files: sabmalloc compare A.json B.json');
  const [aFile, bFile] = positionals as [string, string];
  return { a: loadSavedRun(aFile, 'A'), b: loadSavedRun(bFile, 'B'), csv: values.csv ?? false, all: values.all ?? false, strict: values.strict ?? false };
}

/** Runs `sabmalloc compare`; returns the exit code (0; 1 refused or nothing in common; 2 bad input). */
export function compareCommand(argv: readonly string[]): number {
  if (wantsHelp(argv)) {
    console.log(COMPARE_USAGE);
    return 0;
  }
  const p = parseOrExit('compare', () => {
    const args = parseCompareArgs(argv);
    return { ...args, c: compareRuns(args.a, args.b) };
  });
  if ('code' in p) return p.code;
  const { c, csv, all, strict } = p.ok;
  if (strict && c.differences.length) {
    console.error(['sabmalloc compare: refusing (--strict): the runs were not made the same way:', ...c.differences.map((d) => `  - ${d}`)].join('\n'));
    return 1;
  }
  if (!c.rows.some((r) => r.presence === 'both')) {
    console.error('sabmalloc compare: the two runs have no point in common (try --all)');
    if (!all) return 1;
  }
  if (csv) {
    for (const l of differencesHeader(c)) if (l) console.error(l);
    console.log(comparisonCsv(c, all).trimEnd());
  } else console.log(formatComparison(c, all));
  return c.rows.some((r) => r.presence === 'both') ? 0 : 1;
}
