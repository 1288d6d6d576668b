/**
 * Output of the contention suite: the terminal summary, the JSON of every figure, the
 * Markdown report and its SVG charts (rendered by bench/kit/charts.ts: Vega-Lite, headless).
 *
 * Owns: the files it writes under the output directory (stem `contention`, or
 * `contention-quick` for --quick runs):
 *   <stem>.json                    every run, figure and target
 *   <stem>.md                      the report
 *   <stem>-<workload>.svg          throughput vs workers, one line per allocator
 *   <stem>-locks-<workload>.svg    contended lock acquisitions per 1k calls vs workers,
 *                                  one line per (allocator, lock tier)
 *   <stem>-latency-<workload>.svg  sampled malloc p99 latency vs workers (peer-report.ts)
 * Invariants: everything shown is computed from the results passed in; chart and table
 * files depend only on them (so committed results change only when the figures do).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lineChartSpec, specToSvg, type ChartSeries, type LineChartOptions } from '../kit/charts.js';
import type { ContentionFailure, SuiteResults } from './suite.js';
import type { Figure, TargetCheck } from './types.js';
import { latencyChart, peersMarkdown } from './peer-report.js';
import { summarizeFlags } from '../kit/noise.js';
import { formatPercentile } from '../kit/histogram.js';
import { ciLabel, formatPoint, summarize, type Point } from '../kit/sample.js';

/** A figure's throughput Point (results saved before Points were stored: from the spread alone). */
export function tputOf(f: Figure): Point {
  return f.tput ?? { ...summarize([f.throughput.min, f.throughput.median, f.throughput.max].slice(0, Math.max(1, Math.min(3, f.throughput.n)))), median: f.throughput.median, n: f.throughput.n };
}

/** The run's noise summary: how many points are flagged, and why. */
export function noiseSummary(r: SuiteResults): string {
  return `Noise: ${summarizeFlags(r.figures.map(tputOf)).text}`;
}

/** What the machine was doing: cores, load before and after (for captions and headers). */
function machineCaption(r: SuiteResults): string {
  const l = (xs: number[]) => (xs[0] ?? NaN).toFixed(1);
  return `${r.meta.cpus} cores · load ${l(r.meta.loadAverageStart)} -> ${l(r.meta.loadAverageEnd)} · Node ${r.meta.node}`;
}
import { churnMarkdown } from './churn-report.js';

const fmtRate = (x: number): string => {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
};
const fx = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(0)}%`);
const mib = (b: number): string => (Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(1)}` : 'n/a');

/**
 * Workloads whose live set stays up for the whole window, so the barrier and timer samples
 * catch its peak: blowup is shown for these only (threadtest, xmalloc and cache-* hold a
 * batch or a single object at a time and their samples land at arbitrary points).
 */
const STEADY_LIVE_SET = ['larson', 'ring', 'mstress'];

function figureOf(figs: readonly Figure[], a: string, w: string, n: number): Figure | undefined {
  return figs.find((f) => f.allocator === a && f.workload === w && f.workers === n);
}

function targetStatus(t: TargetCheck): string {
  if (t.met === null) return 'not judged';
  return t.met ? 'MET' : `MISSED by ${fx(t.missByPercent, 1)}%`;
}

/** The detail table of one allocator on one workload (every allocator gets one, plugged-in ones included). */
function detailTable(r: SuiteResults, w: string, def: string): string[] {
  const o = r.meta.options;
  const out: string[] = [`\`${def}\` in detail:`, ''];
  const d = (n: number): Figure | undefined => figureOf(r.figures, def, w, n);
  const detail: [string, (f: Figure) => string][] = [
    ['scaling vs 1 worker', (f) => fx(f.scaling)],
    ['x global-lock', (f) => fx(f.ratioToGlobalLock)],
    ['x global-lock per core received', (f) => fx(f.ratioToGlobalLockPerCore)],
    ['x thi.ng + lock', (f) => fx(f.ratioToThing)],
    ['thread-cache hit rate', (f) => pct(f.threadCacheHitRate)],
    ...Object.keys(d(o.workers[o.workers.length - 1])?.locks ?? d(o.workers[0])?.locks ?? {}).map(
      (tier) => [`${tier} lock contended / 1k calls`, (f: Figure) => fx(f.locks[tier]?.contendedPer1kOps, 1)] as [string, (f: Figure) => string],
    ),
    ...(STEADY_LIVE_SET.includes(w)
      ? ([
          ['blowup (excl. metadata)', (f) => `${fx(f.blowup.median)} (${fx(f.blowupExclMetadata.median)})`],
          ['peak live / committed MiB', (f) => `${mib(f.peakLiveBytes)} / ${mib(f.peakCommittedBytes)}`],
        ] as [string, (f: Figure) => string][])
      : []),
    ['cores used (other)', (f) => `${fx(f.coresUsed)} (${fx(f.otherCores)})`],
  ];
  out.push(markdownTable(['figure', ...o.workers.map((n) => `${n}w`)], detail.map(([label, get]) => [label, ...o.workers.map((n) => {
    const f = d(n);
    return f ? get(f) : '-';
  })])));
  out.push('');
  return out;
}

/** Contended waits per allocator and tier: p50 / p99 as log2 bucket bounds, '-' where none was recorded. */
function waitTable(r: SuiteResults, w: string): string[] {
  const o = r.meta.options;
  const rows: string[][] = [];
  for (const a of o.allocators) {
    const figs = o.workers.map((n) => figureOf(r.figures, a, w, n));
    const tiers = new Set(figs.flatMap((f) => (f ? Object.keys(f.locks).filter((t) => f.locks[t]?.wait) : [])));
    for (const tier of tiers) {
      rows.push([`\`${a}\` ${tier}`, ...figs.map((f) => (f?.locks[tier]?.wait ? `${formatPercentile(f.locks[tier].wait!, 0.5, false)}, ${formatPercentile(f.locks[tier].wait!, 0.99, false)}` : '-'))]);
    }
    if (tiers.size === 0) rows.push([`\`${a}\` (no latency recorded)`, ...figs.map(() => '-')]);
  }
  return ['Contended lock waits over the timed windows (all repetitions; percentiles are log2 bucket upper bounds; the full histograms are in the JSON):', '', markdownTable(['allocator · tier', ...o.workers.map((n) => `${n}w`)], rows), ''];
}

/** The plain-text summary printed at the end of a run; the project's targets only with `targets`. */
export function formatSummary(r: SuiteResults, targets = false): string {
  const { workers, allocators, workloads } = r.meta.options;
  const lines: string[] = [];
  const w0 = Math.max(...allocators.map((a) => a.length), 10);
  const first = r.figures[0];
  const cellW = Math.max(14, ...r.figures.map((f) => formatPoint(tputOf(f), fmtRate).length + 2));
  lines.push(`Contention suite: median allocator calls/s [${first ? ciLabel(tputOf(first)) : 'interval'}] (noise flags) · ${workers.join(',')} workers · ${r.meta.options.reps} rep(s) · ${r.meta.options.durationMs} ms windows · ${fx(r.meta.wallSeconds, 0)} s · ${machineCaption(r)}`);
  for (const w of workloads) {
    lines.push('');
    lines.push(`${w} — ${r.meta.metrics[w]?.description ?? ''}`);
    lines.push(`${'allocator'.padEnd(w0)} ${workers.map((n) => `${n}w`.padStart(cellW)).join('')}`);
    for (const a of allocators) {
      const cells = workers.map((n) => {
        const f = figureOf(r.figures, a, w, n);
        return (f ? formatPoint(tputOf(f), fmtRate) : '-').padStart(cellW);
      });
      lines.push(`${a.padEnd(w0)} ${cells.join('')}`);
    }
  }
  lines.push('');
  lines.push(noiseSummary(r));
  if (targets) {
    lines.push('');
    lines.push("Targets (the project's own; judged only where the run covers what each is defined over):");
    for (const t of r.targets) lines.push(`  [${targetStatus(t)}] ${t.description}: worst ${fx(t.worst)} (threshold ${t.comparison} ${t.threshold})`);
  }
  if (r.failures.length > 0) {
    lines.push('');
    lines.push(`FAILED RUNS (${r.failures.length}):`);
    for (const f of r.failures) lines.push(`  ${f.workload} / ${f.allocator} / ${f.workers} workers / rep ${f.rep + 1}: ${f.error.split('\n')[0]}`);
  }
  return lines.join('\n');
}

/** bench/kit/charts.ts line chart with a legend wide enough for "allocator · tier (kind)" names. */
async function chart(o: LineChartOptions): Promise<string> {
  const spec = lineChartSpec(o) as { config?: { legend?: Record<string, unknown> } };
  spec.config = { ...spec.config, legend: { ...spec.config?.legend, labelLimit: 320 } };
  return specToSvg(spec as Parameters<typeof specToSvg>[0]);
}

async function throughputChart(r: SuiteResults, workload: string): Promise<string> {
  const series: ChartSeries[] = r.meta.options.allocators.map((a) => ({
    name: a,
    points: r.figures.filter((f) => f.allocator === a && f.workload === workload).map((f) => [f.workers, f.throughput.median] as const),
    spread: r.figures.filter((f) => f.allocator === a && f.workload === workload && tputOf(f).n > 1).map((f) => [f.workers, tputOf(f).lo, tputOf(f).hi] as const),
    flagged: r.figures.filter((f) => f.allocator === a && f.workload === workload && tputOf(f).flags.length > 0).map((f) => f.workers),
  }));
  const one = r.figures[0];
  return chart({
    title: `${workload}: throughput vs workers`,
    subtitle: `median of ${r.meta.options.reps} run(s), ${r.meta.options.durationMs} ms each (bars: ${one ? ciLabel(tputOf(one)) : 'interval'}; hollow grey: noise-flagged) · ${machineCaption(r)}`,
    xLabel: 'workers',
    yLabel: 'allocator calls / s (log)',
    series,
    logX: true,
    logY: true,
    width: 560,
    height: 320,
  });
}

async function lockChart(r: SuiteResults, workload: string): Promise<string> {
  const series: ChartSeries[] = [];
  for (const a of r.meta.options.allocators) {
    const figs = r.figures.filter((f) => f.allocator === a && f.workload === workload);
    const tiers = new Set(figs.flatMap((f) => Object.keys(f.locks)));
    for (const tier of tiers) {
      const kind = figs.find((f) => f.locks[tier])?.locks[tier].kind ?? '';
      series.push({
        name: `${a} · ${tier} (${kind})`,
        points: figs.filter((f) => f.locks[tier]).map((f) => [f.workers, f.locks[tier].contendedPer1kOps] as const),
      });
    }
  }
  return chart({
    title: `${workload}: lock waits per tier`,
    subtitle: 'contended acquisitions per 1,000 allocator calls (median); symmetric-log axis where a point is 0',
    xLabel: 'workers',
    yLabel: 'contended acquisitions / 1k calls (log)',
    series,
    logX: true,
    logY: true,
    width: 560,
    height: 320,
  });
}

function markdownTable(header: string[], rows: string[][], align?: string[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [`| ${header.join(' | ')} |`, `| ${a.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function failuresMd(fails: readonly ContentionFailure[]): string {
  if (fails.length === 0) return 'None: every run passed its verification, the heap check and the leak check.';
  return (
    `**${fails.length} run(s) FAILED** (their figures are missing from the tables):\n\n` +
    fails
      .map((f) => `- \`${f.workload}\` / \`${f.allocator}\` / ${f.workers} workers / rep ${f.rep + 1}:\n\n  \`\`\`\n  ${f.error.split('\n').slice(0, 6).join('\n  ')}\n  \`\`\``)
      .join('\n')
  );
}

/** One workload's section of the report: its chart, throughput, native metric, per-allocator detail, lock waits. */
function workloadSection(r: SuiteResults, w: string, charts: { workload: string; throughput: string; locks: string }[]): string[] {
  const o = r.meta.options;
  const out: string[] = [];
  const m = r.meta.metrics[w];
  out.push(`## ${w}`);
  out.push('');
  out.push(`${m?.description ?? ''}. Native metric: ${m?.name} (${m?.unit}${m && !m.higherIsBetter ? ', lower is better' : ''}). Parameters: ${Object.entries(o.params[w] ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')}.`);
  out.push('');
  const c = charts.find((x) => x.workload === w);
  if (c) out.push(`![${w} throughput](${c.throughput})`);
  out.push('');
  out.push('Throughput (allocator calls/s, median [interval] (noise flags)):');
  out.push('');
  out.push(
    markdownTable(
      ['allocator', ...o.workers.map((n) => `${n}w`)],
      o.allocators.map((a) => [
        `\`${a}\``,
        ...o.workers.map((n) => {
          const f = figureOf(r.figures, a, w, n);
          return f ? formatPoint(tputOf(f), fmtRate) : '-';
        }),
      ]),
    ),
  );
  out.push('');
  const rows: string[][] = [];
  for (const a of o.allocators) {
    rows.push([`\`${a}\` ${m?.name}`, ...o.workers.map((n) => {
      const f = figureOf(r.figures, a, w, n);
      return f ? (m?.higherIsBetter ? fmtRate(f.metric.median) : fx(f.metric.median, 1)) : '-';
    })]);
  }
  if (m?.name !== 'ops/s') {
    out.push(`Native metric (${m?.unit}):`);
    out.push('');
    out.push(markdownTable(['allocator', ...o.workers.map((n) => `${n}w`)], rows));
    out.push('');
  }
  for (const def of o.allocators) out.push(...detailTable(r, w, def));
  if (c) out.push(`![${w} lock waits](${c.locks})`);
  out.push('');
  const lockRows: string[][] = [];
  for (const a of o.allocators) {
    const figs = o.workers.map((n) => figureOf(r.figures, a, w, n));
    const tiers = new Set(figs.flatMap((f) => (f ? Object.keys(f.locks) : [])));
    for (const tier of tiers) {
      lockRows.push([`\`${a}\` ${tier} (${figs.find((f) => f?.locks[tier])?.locks[tier].kind})`, ...figs.map((f) => (f?.locks[tier] ? `${fx(f.locks[tier].contendedPer1kOps, 1)} / ${fx(f.locks[tier].parksPer1kOps, 1)}` : '-'))]);
    }
    // an allocator that reports no lock statistics still has its row: nothing recorded
    if (tiers.size === 0) lockRows.push([`\`${a}\` (no lock statistics)`, ...figs.map(() => '-')]);
  }
  out.push('Lock waits: contended acquisitions / parks per 1,000 allocator calls:');
  out.push('');
  out.push(markdownTable(['allocator · tier', ...o.workers.map((n) => `${n}w`)], lockRows));
  out.push('');
  out.push(...waitTable(r, w));
  return out;
}

export function markdownReport(r: SuiteResults, charts: { workload: string; throughput: string; locks: string }[], jsonName = 'contention.json', targets = false, latencyCharts: Record<string, string> = {}): string {
  const o = r.meta.options;
  const out: string[] = [];
  out.push('# sabmalloc contention benchmark');
  out.push('');
  out.push(
    `Generated ${r.meta.date} by \`${r.meta.command ?? 'sabmalloc bench'}\` on ${r.meta.cpus} cores (${r.meta.cpuModel}), ` +
      `${(r.meta.totalMemoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${r.meta.node}, ${r.meta.platform}. ` +
      `Worker counts ${o.workers.join(', ')}; ${o.reps} repetition(s) of ${o.durationMs} ms timed windows; parameter scale \`${o.scale}\`; ` +
      `wall time ${fx(r.meta.wallSeconds / 60, 1)} min. Load average before / after: ${r.meta.loadAverageStart.map((x) => x.toFixed(2)).join(' ')} / ${r.meta.loadAverageEnd.map((x) => x.toFixed(2)).join(' ')} ` +
      '(the machine is shared: see the "cores" columns for what each run really got).' +
      (r.meta.poolRecycles ? ` The worker pools were closed and restarted between workloads ${r.meta.poolRecycles} time(s), past the memory budget.` : '') +
      (o.preallocate
        ? ' **sabmalloc heaps were created at full size (`--prealloc`)**, so no buffer growth happened during the runs; ' +
          "sabmalloc's committed bytes are what it made resident either way (pages up to the high-water mark of pages handed out, plus the metadata it touched)."
        : ''),
  );
  out.push('');
  if (r.meta.note) {
    out.push(`> ${r.meta.note}`);
    out.push('');
  }
  out.push(`**${noiseSummary(r)}.** Flagged points are marked in the tables (after the figure) and drawn hollow grey in the charts.`);
  out.push('');
  if (targets) {
    out.push('## Targets');
    out.push('');
    out.push(
      markdownTable(
        ['target', 'worst case', 'threshold', 'status'],
        r.targets.map((t) => [t.description, fx(t.worst), `${t.comparison} ${t.threshold}`, targetStatus(t)]),
        ['---', '---:', '---:', '---'],
      ),
    );
    out.push('');
    for (const t of r.targets) {
      out.push(`- **${t.id}** (${targetStatus(t)}): ${t.explanation.split('\n').join('\n  - ')}`);
    }
    out.push('');
  }
  out.push('## How to read this');
  out.push('');
  out.push(
    [
      `- **Throughput** is allocator calls (malloc + free) per second of the timed window, summed over all workers, median of the repetitions, with its interval in brackets (${r.figures[0] ? ciLabel(tputOf(r.figures[0])) : 'see the JSON'}) and its noise flags in parentheses (spread: the repetitions disagree; cpu-short / others-busy / load: the machine interfered).`,
      `- Every workload stamps each block it allocates and checks it before freeing, so a broken allocator fails the run instead of posting a number; after each run the heap's \`check()\` runs and (where everything was freed) \`inUseObjects\` must be 0. Touch mode \`${o.touch}\`: ${o.touch === 'full' ? 'every word of every block is written' : 'blocks up to 128 B are written whole, larger ones on their first and last word and one word per 64 B (writing all of a 1-2 KiB block costs several times the allocator call and would hide the differences between allocators; `--touch full` measures that)'}.`,
      '- All workers of a run meet on a barrier in a SharedArrayBuffer before the clock starts and after it stops; the window is fixed, so a slow allocator does fewer operations rather than taking longer.',
      '- **Scaling** is throughput / throughput of the same allocator at 1 worker. On 2 cores the ceiling is 2x, and only if the two workers never contend and nothing else runs; beyond 2 workers the threads time-share the 2 cores, so flat is ideal.',
      '- **x global-lock** is the ratio of median throughputs (the target is checked on it); **x global-lock per core received** divides each run by the cores it got first (median of throughput / cores used, over the baseline\'s), which takes out the share of a loaded machine each run happened to get.',
      '- **cores** is the CPU time the process used in the window divided by its length (process.cpuUsage); **other** is what the rest of the machine used meanwhile (/proc/stat). A 2-worker run that got 1.5 cores cannot scale 2x.',
      '- **Blowup** is peak committed bytes / peak live bytes (sabmalloc: stats().committedBytes vs inUseBytes; thi.ng: its high-water mark vs the usable sizes handed out). sabmalloc\'s committed bytes are what it has made resident: the pages up to the high-water mark of pages it has handed out (its buffer reserves maxSize, and the OS makes a page resident only when it is first written) plus the metadata it has touched (the fixed regions, the per-page metadata of those pages and the SHADOW pages written, in 4 KiB OS pages); the "excl. metadata" figure leaves the metadata out. Committed is sampled every 5 ms of each timed window (main thread) and at the start and end barriers; it is a high-water mark, so it keeps any peak between samples. Peak live: mstress keeps its own exact count (an Atomics.add of each block\'s usable size at every malloc and free; each worker compares the value its add produced, so the largest is the exact peak, however short); the other workloads sample it with committed (the lower of two back-to-back reads, so a refill in flight cannot inflate it), and a live peak between samples is missed (the blowup errs high).',
      '- **Lock waits** are contended acquisitions (not won on the first try) per 1,000 allocator calls, per lock tier, from the allocator\'s own per-thread lock statistics over the timed window.',
      '- @thi.ng/malloc frees in O(live blocks), so its cleanups (after the timed window) only verify blocks instead of freeing them; its timed numbers are unaffected.',
    ].join('\n'),
  );
  out.push('');
  for (const w of o.workloads) out.push(...workloadSection(r, w, charts));
  out.push(peersMarkdown(r, latencyCharts));
  out.push(...churnMarkdown(r));
  out.push('## Failures');
  out.push('');
  out.push(failuresMd(r.failures));
  out.push('');
  out.push('## Method');
  out.push('');
  out.push(
    [
      '- Each allocator gets its own pool of worker threads (piscina), as many as the largest worker count, alive for the whole suite, so the adapter and lock call sites in the workers only ever see one class. The allocators take turns at every (workload, worker count, repetition), in an order rotated each repetition, so load from other processes on this shared machine falls on all of them alike. Each (allocator, workload) first gets an untimed warm-up run at the largest worker count. On top of that, ring workers each run their own loop untimed (16,384 iterations or 300 ms, whichever ends first) before the start barrier: every worker is its own isolate and compiles its loop itself, and at 32 workers on 2 cores a cold window would measure the JIT.',
      '- Each run creates a fresh heap (sabmalloc: 1 MiB growing on demand up to 2.5x the expected live set; thi.ng: a fixed buffer of 4x the live set + 32 MiB), lets every worker set up (e.g. larson fills its slots), starts the clock at a barrier and stops it at the next one, after which workers verify and free what they hold and detach.',
      '- Random numbers come from a pre-generated seeded xorshift32 table; hot loops allocate nothing besides the blocks under test.',
      '- mstress runs its window in rounds; each round is a fresh set of tasks that attach, run, free their local blocks and detach (a thread exit in sabmalloc: the thread cache is flushed and the slot released); blocks parked in the shared transfer array outlive the round.',
      '- Fixed duration throughout (also for cache-* and mstress, whose native metric is time): the native metrics are derived from the throughput of the window.',
      '- Lock statistics and thread-cache hits come from the allocator\'s `stats()` snapshots taken by the workers that release the start and end barriers (window deltas; p99 latencies are cumulative).',
    ].join('\n'),
  );
  out.push('');
  out.push(`Raw figures: [${jsonName}](${jsonName}).`);
  out.push('');
  return out.join('\n');
}

/**
 * Writes JSON, charts and the Markdown report into outDir, file names starting with
 * `stem` (default 'contention'); returns the paths written.
 */
export async function writeReport(r: SuiteResults, outDir: string, stem = 'contention', targets = false): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const jsonPath = path.join(outDir, `${stem}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(r, null, 1)}\n`);
  written.push(jsonPath);
  const charts: { workload: string; throughput: string; locks: string }[] = [];
  const latencyCharts: Record<string, string> = {};
  for (const w of r.meta.options.workloads) {
    if (!r.figures.some((f) => f.workload === w)) continue;
    const tp = `${stem}-${w}.svg`;
    const lk = `${stem}-locks-${w}.svg`;
    writeFileSync(path.join(outDir, tp), await throughputChart(r, w));
    writeFileSync(path.join(outDir, lk), await lockChart(r, w));
    written.push(path.join(outDir, tp), path.join(outDir, lk));
    charts.push({ workload: w, throughput: tp, locks: lk });
    if (r.runs.some((x) => x.workload === w && x.latency)) {
      latencyCharts[w] = `${stem}-latency-${w}.svg`;
      writeFileSync(path.join(outDir, latencyCharts[w]), await latencyChart(r, w));
      written.push(path.join(outDir, latencyCharts[w]));
    }
  }
  const mdPath = path.join(outDir, `${stem}.md`);
  writeFileSync(mdPath, markdownReport(r, charts, `${stem}.json`, targets, latencyCharts));
  written.push(mdPath);
  return written;
}
