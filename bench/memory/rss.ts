/**
 * The RSS benchmark: memory as the operating system sees it. For each pattern and worker
 * count it runs a fresh child process (workers/memory.ts) and reports its peak resident-set
 * growth (VmHWM after the run minus VmRSS before the heap existed) over the peak of the
 * live bytes (exact, requested sizes), next to the heap's own committed figure. The peak
 * RSS growth minus committed is printed as `rest`: what the engine held at the process's
 * peak (code compiled during the run, its transient memory), less the committed pages
 * nobody wrote; it moves between runs, committed does not. With --reps N a summary gives
 * each figure's median and range per configuration and flags a configuration whose RSS
 * ratios spread.
 *
 *   node dist/bench/memory/rss.js [--patterns churn,larson,mstress,phase] [--workers 1-8]
 *        [--reps 1] [--live-mib 24] [--ops N] [--seed 1] [--budget-mib N]
 *        [--thread-budget-mib N] [--page-size 8192] [--json]
 *
 * runRss(argv) is the entry point (argv without node and the script); it resolves to the
 * exit code: 0, or 2 for bad options (one line on stderr). Owns nothing shared: each
 * configuration is its own process, so one run cannot pollute the next one's RSS.
 */
import { spawn } from 'node:child_process';
import { loadavg, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PATTERNS, type PatternName } from './patterns.js';
import { medianSorted } from '../kit/sample.js';

const MIB = 2 ** 20;

export interface RssOptions {
  patterns: PatternName[];
  workers: number[];
  reps: number;
  liveMiB: number;
  ops: number | undefined;
  seed: number;
  budgetMiB: number | undefined;
  threadBudgetMiB: number | undefined;
  pageSize: number | undefined;
  json: boolean;
}

export class RssUsageError extends Error {}

/** Default iterations per worker: enough to turn the live set over several times. */
const DEFAULT_OPS: Record<PatternName, number> = { churn: 120_000, larson: 400_000, mstress: 800_000, phase: 0 };

function listOf(v: string, what: string): number[] {
  const out: number[] = [];
  for (const part of v.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new RssUsageError(`--${what}: expected numbers or ranges like 1-8, got "${part}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || b < a || b > 64) throw new RssUsageError(`--${what}: ${part} is out of range (1..64)`);
    for (let k = a; k <= b; k++) out.push(k);
  }
  return out;
}

function positive(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new RssUsageError(`--${what}: expected a positive number, got "${v}"`);
  return n;
}

export function parseRssArgs(argv: readonly string[]): RssOptions {
  const o: RssOptions = { patterns: [...PATTERNS], workers: [1, 2, 4, 8], reps: 1, liveMiB: 24, ops: undefined, seed: 1, budgetMiB: undefined, threadBudgetMiB: undefined, pageSize: undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') {
      o.json = true;
      continue;
    }
    const v = argv[i + 1];
    if (!a.startsWith('--') || v === undefined) throw new RssUsageError(`unknown or incomplete option "${a}"`);
    i++;
    if (a === '--patterns') {
      const names = v.split(',');
      for (const n of names) if (!(PATTERNS as readonly string[]).includes(n)) throw new RssUsageError(`--patterns: unknown pattern "${n}" (${PATTERNS.join(', ')})`);
      o.patterns = names as PatternName[];
    } else if (a === '--workers') o.workers = listOf(v, 'workers');
    else if (a === '--reps') o.reps = Math.ceil(positive(v, 'reps'));
    else if (a === '--live-mib') o.liveMiB = positive(v, 'live-mib');
    else if (a === '--ops') o.ops = Math.ceil(positive(v, 'ops'));
    else if (a === '--seed') o.seed = Math.ceil(positive(v, 'seed'));
    else if (a === '--budget-mib') o.budgetMiB = positive(v, 'budget-mib');
    else if (a === '--thread-budget-mib') o.threadBudgetMiB = positive(v, 'thread-budget-mib');
    else if (a === '--page-size') o.pageSize = positive(v, 'page-size');
    else throw new RssUsageError(`unknown option "${a}"`);
  }
  return o;
}

export interface RssResult {
  pattern: string;
  workers: number;
  peakReset: boolean;
  peakRssGrowth: number;
  peakLive: number;
  committed: number;
  metadata: number;
  threadCaches: number;
  /** Net change of every isolate's JS heap over the run (not the allocator's; may be negative). */
  engineGrowth?: number;
  ms: number;
  report: Record<string, number> | null;
}

function runChild(cfg: object): Promise<RssResult> {
  const script = fileURLToPath(new URL('../../workers/memory.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', script, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`memory child exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve(JSON.parse(line) as RssResult);
    });
  });
}

const f2 = (n: number): string => n.toFixed(2);
const mib = (n: number): string => (n / MIB).toFixed(1);

function row(r: RssResult, rep: number): string {
  const tc = r.report ? mib(r.report.threadCacheBytes ?? 0) : mib(r.threadCaches);
  return [
    r.pattern.padEnd(8),
    String(r.workers).padStart(3),
    String(rep).padStart(3),
    mib(r.peakLive).padStart(9),
    mib(r.peakRssGrowth).padStart(9),
    f2(r.peakRssGrowth / r.peakLive).padStart(7),
    mib(r.committed).padStart(9),
    f2(r.committed / r.peakLive).padStart(7),
    mib(r.peakRssGrowth - r.committed).padStart(6),
    mib(r.metadata).padStart(8),
    tc.padStart(8),
    (r.engineGrowth === undefined ? '-' : mib(r.engineGrowth)).padStart(7),
    (r.ms / 1000).toFixed(1).padStart(6),
  ].join(' ');
}

/** RSS ratios of one configuration's repetitions further apart than this are flagged. */
export const SPREAD_FLAG = 0.05;

export interface RssSummary {
  pattern: string;
  workers: number;
  reps: number;
  /** Median, min and max over the repetitions. */
  rss: [number, number, number];
  committed: [number, number, number];
  /** Peak RSS growth minus committed bytes, MiB. */
  rest: [number, number, number];
  /** The RSS ratio moved by more than SPREAD_FLAG between repetitions. */
  noisy: boolean;
}

function spread(xs: number[]): [number, number, number] {
  const s = [...xs].sort((a, b) => a - b);
  return [medianSorted(s), s[0]!, s[s.length - 1]!];
}

/** One line per pattern and worker count: median (min-max) of each ratio over the repetitions. */
export function summarize(results: readonly RssResult[]): RssSummary[] {
  const groups = new Map<string, RssResult[]>();
  for (const r of results) {
    const key = `${r.pattern}/${r.workers}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].map((g) => {
    const rss = spread(g.map((r) => r.peakRssGrowth / r.peakLive));
    return {
      pattern: g[0]!.pattern,
      workers: g[0]!.workers,
      reps: g.length,
      rss,
      committed: spread(g.map((r) => r.committed / r.peakLive)),
      rest: spread(g.map((r) => (r.peakRssGrowth - r.committed) / MIB)),
      noisy: rss[2] - rss[1] > SPREAD_FLAG,
    };
  });
}

function printSummary(summaries: readonly RssSummary[]): void {
  if (summaries.every((s) => s.reps < 2)) return;
  const range = ([m, lo, hi]: [number, number, number], d = f2): string => `${d(m)} (${d(lo)}-${d(hi)})`.padStart(17);
  const m1 = (n: number): string => n.toFixed(1);
  console.log('\nmedian (min-max) over the repetitions: the ratios over peak live bytes, rest in MiB');
  console.log(['pattern'.padEnd(8), '  w', 'reps', '  RSS grow / live', '  committed / live', '         rest MiB'].join(' '));
  for (const s of summaries) {
    const flag = s.noisy ? `  spread: RSS ratios ${f2(s.rss[2] - s.rss[1])} apart (the engine's share moves, see rest)` : '';
    console.log([s.pattern.padEnd(8), String(s.workers).padStart(3), String(s.reps).padStart(4), range(s.rss), range(s.committed), range(s.rest, m1)].join(' ') + flag);
  }
}

const PARTS = [
  ['live', 'liveBytes'],
  ['rounding', 'sizeClassRoundingBytes'],
  ['tails', 'spanTailBytes'],
  ['tcache', 'threadCacheBytes'],
  ['transfer', 'transferCacheBytes'],
  ['central', 'centralCacheBytes'],
  ['ph free', 'pageHeapFreeBytes'],
  ['metadata', 'metadataBytes'],
] as const;

/** The heap's memoryReport() at the end of each run (quiescent: every worker idle), in MiB. */
function printBreakdown(results: RssResult[]): void {
  const withReport = results.filter((r) => r.report !== null);
  if (withReport.length === 0) return;
  console.log('\nwhere the committed bytes are at the end of each run (memoryReport(), MiB; shadow is part of metadata)');
  console.log(['pattern'.padEnd(8), '  w', ...PARTS.map(([h]) => h.padStart(8)), '  shadow', 'releasable'].join(' '));
  for (const r of withReport) {
    const m = r.report as Record<string, number> & { metadata: Record<string, number> };
    console.log([r.pattern.padEnd(8), String(r.workers).padStart(3), ...PARTS.map(([, k]) => mib(m[k]!).padStart(8)), mib(m.metadata.shadow!).padStart(8), mib(m.releasableBytes!).padStart(10)].join(' '));
  }
}

/** Runs the benchmark; resolves to the exit code. */
export async function runRss(argv: readonly string[]): Promise<number> {
  let o: RssOptions;
  try {
    o = parseRssArgs(argv);
  } catch (e) {
    if (!(e instanceof RssUsageError)) throw e;
    process.stderr.write(`sabmalloc memory rss: ${e.message}\n`);
    return 2;
  }
  const load0 = loadavg()[0]!;
  const results: RssResult[] = [];
  if (!o.json) {
    console.log(`RSS benchmark: ${new Date().toISOString()}, ${cpus().length} cores, load average ${load0.toFixed(2)} at start; each row a fresh process`);
    console.log('ratios: peak RSS growth / peak live bytes, committed / peak live bytes (MiB: 2^20 bytes);');
    console.log('js heap: net change of the JS heaps of the process over the run (V8 physical size; negative when a GC gave back');
    console.log('warm-up garbage): resident memory that is not the allocator\'s;');
    console.log('rest: peak RSS growth minus committed, MiB: what the engine held at the peak (code compiled during the run),');
    console.log('less the committed pages nobody wrote (tails of one-object spans, never-filled spans); negative when those weigh more\n');
    console.log(['pattern'.padEnd(8), '  w', 'rep', 'peak live', 'RSS grow', 'RSS/liv', 'committed', 'com/liv', '  rest', 'metadata', 'tcaches', 'js heap', '     s'].join(' '));
  }
  for (const pattern of o.patterns) {
    for (const workers of o.workers) {
      for (let rep = 1; rep <= o.reps; rep++) {
        const heap: Record<string, number> = {};
        if (o.budgetMiB !== undefined) heap.threadCacheBudget = Math.round(o.budgetMiB * MIB);
        if (o.threadBudgetMiB !== undefined) heap.threadCacheThreadBudget = Math.round(o.threadBudgetMiB * MIB);
        if (o.pageSize !== undefined) heap.pageSize = o.pageSize;
        const cfg = { pattern, workers, liveBytes: Math.round(o.liveMiB * MIB), ops: o.ops ?? DEFAULT_OPS[pattern], seed: o.seed + rep - 1, heap };
        const r = await runChild(cfg);
        results.push(r);
        if (!o.json) console.log(row(r, rep));
        if (!r.peakReset && !o.json) console.log('  (could not reset the peak RSS: VmHWM includes the process start)');
      }
    }
  }
  const summaries = summarize(results);
  if (!o.json) {
    printBreakdown(results);
    printSummary(summaries);
  }
  const load1 = loadavg()[0]!;
  if (o.json) console.log(JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, load: [load0, load1], options: o, results, summaries }));
  else console.log(`\nload average ${load0.toFixed(2)} -> ${load1.toFixed(2)}${load1 > cpus().length ? ' (machine busy: RSS figures hold, times do not)' : ''}`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await runRss(process.argv.slice(2));
}
