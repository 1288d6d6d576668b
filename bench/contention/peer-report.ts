/**
 * The report's sections on the real peers and on what each run cost the process:
 * - how each allocator is made thread-safe;
 * - per workload and worker count, sabmalloc's throughput over the best real peer's
 *   (zig-gpa, smo: not the global-lock and thi.ng straw men) and its peak-RSS ratio;
 * - per run medians of wall, user / sys CPU, peak RSS, page faults and the sampled
 *   malloc/free latency percentiles (csv.ts writes them as <stem>-resources.csv) and one
 *   latency chart per workload.
 *
 * Owns: nothing; pure functions of the results (so `--from-json` re-renders them).
 */
import { lineChartSpec, specToSvg, type ChartSeries } from '../kit/charts.js';
import { REAL_PEERS } from './peers/specs.js';
import type { SuiteResults } from './suite.js';
import type { RunRecord } from './types.js';

/** How each allocator the suite knows is made safe to call from many threads. */
export const THREAD_SAFETY: Record<string, string> = {
  sabmalloc: 'per-thread caches (no lock on the fast path); one Atomics spinlock per size class (CentralCache, TransferCache); one Atomics mutex for the PageHeap',
  'global-lock': "sabmalloc's page heap and size classes with no thread caches, every call under one mutex (dlmalloc under pthreads)",
  'thing-futex': '@thi.ng/malloc MemPool (single-threaded by design, O(live blocks) free) with every call under one futex lock of src/locks',
  'zig-gpa':
    "Zig 0.14-dev std.heap.GeneralPurposeAllocator(.{ .thread_safe = true }) in threaded wasm: one std.Thread.Mutex (futex on memory.atomic.wait32) around every alloc and free, page allocator included; each JS thread its own wasm instance (own stack) over one shared WebAssembly.Memory",
  smo: "@daneren2005/shared-memory-objects MemoryBuffer (a fork of @thi.ng/malloc's MemPool): one lock word per buffer around every malloc and free (spin on compareExchange, Atomics.wait in workers); first-fit lists, free walks the used list (O(live blocks)); split and compact off, as its MemoryHeap sets them",
};

/** Why a peer does not run some workload (none today: both peers run every workload). */
export const PEER_LIMITS: Record<string, string> = {
  smo: "its MemoryHeap cannot hold a block over 1 MiB (20-bit offsets in its pointers) nor grow from a worker, so the suite drives one MemoryBuffer over the run's buffer, sized up front; every workload runs",
  'zig-gpa': 'the memory is created at its final size (a grown wasm memory gets a new SharedArrayBuffer that existing views do not see); every workload runs',
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const medianOf = (runs: readonly RunRecord[], get: (r: RunRecord) => number | null | undefined): number | null => {
  const xs = runs.map(get).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return xs.length ? median(xs) : null;
};

export const RESOURCE_COLUMNS = [
  'workload', 'allocator', 'workers', 'runs', 'wall_s', 'user_cpu_s', 'sys_cpu_s', 'peak_rss_bytes', 'rss_growth_bytes', 'minor_faults', 'major_faults',
  'malloc_p50_ns', 'malloc_p99_ns', 'malloc_p999_ns', 'free_p50_ns', 'free_p99_ns', 'free_p999_ns', 'timer_floor_ns', 'latency_every',
] as const;

export interface ResourceFigure {
  workload: string;
  allocator: string;
  workers: number;
  values: (number | null)[];
}

/** Medians over repetitions, one row per (workload, allocator, workers), in RESOURCE_COLUMNS order from wall_s. */
export function resourceFigures(r: SuiteResults): ResourceFigure[] {
  const out: ResourceFigure[] = [];
  const o = r.meta.options;
  for (const w of o.workloads) {
    for (const a of o.allocators) {
      for (const n of o.workers) {
        const runs = r.runs.filter((x) => x.workload === w && x.allocator === a && x.workers === n);
        if (runs.length === 0) continue;
        const getters: ((x: RunRecord) => number | null | undefined)[] = [
          (x) => x.resources?.wallSeconds, (x) => x.resources?.userCpuSeconds, (x) => x.resources?.sysCpuSeconds,
          (x) => x.resources?.peakRssBytes, (x) => x.resources?.rssGrowthBytes, (x) => x.resources?.minorFaults, (x) => x.resources?.majorFaults,
          (x) => x.latency?.mallocP50Ns, (x) => x.latency?.mallocP99Ns, (x) => x.latency?.mallocP999Ns,
          (x) => x.latency?.freeP50Ns, (x) => x.latency?.freeP99Ns, (x) => x.latency?.freeP999Ns, (x) => x.latency?.timerNs, (x) => x.latency?.every,
        ];
        out.push({ workload: w, allocator: a, workers: n, values: [runs.length, ...getters.map((g) => medianOf(runs, g))] });
      }
    }
  }
  return out;
}


export interface PeerComparison {
  workload: string;
  workers: number;
  bestPeer: string;
  /** sabmalloc's median throughput / the best real peer's */
  ratio: number;
  /** half-spreads ((max - min) / median / 2) of both, to judge the ratio by */
  sabSpread: number;
  peerSpread: number;
  /** sabmalloc's median peak RSS growth / that peer's, and the same for absolute peak RSS */
  rssGrowthRatio: number | null;
  peakRssRatio: number | null;
}

export function peerComparisons(r: SuiteResults, subject = 'sabmalloc'): PeerComparison[] {
  const o = r.meta.options;
  const peers = o.allocators.filter((a) => REAL_PEERS.includes(a));
  const out: PeerComparison[] = [];
  if (!o.allocators.includes(subject) || peers.length === 0) return out;
  const fig = (a: string, w: string, n: number) => r.figures.find((f) => f.allocator === a && f.workload === w && f.workers === n);
  const runsOf = (a: string, w: string, n: number) => r.runs.filter((x) => x.allocator === a && x.workload === w && x.workers === n);
  for (const w of o.workloads) {
    for (const n of o.workers) {
      const s = fig(subject, w, n);
      const best = peers.map((a) => fig(a, w, n)).filter((f) => f !== undefined).sort((x, y) => y!.throughput.median - x!.throughput.median)[0];
      if (!s || !best) continue;
      const rssS = medianOf(runsOf(subject, w, n), (x) => x.resources?.rssGrowthBytes);
      const rssP = medianOf(runsOf(best.allocator, w, n), (x) => x.resources?.rssGrowthBytes);
      const peakS = medianOf(runsOf(subject, w, n), (x) => x.resources?.peakRssBytes);
      const peakP = medianOf(runsOf(best.allocator, w, n), (x) => x.resources?.peakRssBytes);
      out.push({
        workload: w,
        workers: n,
        bestPeer: best.allocator,
        ratio: s.throughput.median / best.throughput.median,
        sabSpread: s.throughput.spread / 2,
        peerSpread: best.throughput.spread / 2,
        rssGrowthRatio: rssS !== null && rssP !== null && rssP > 0 ? rssS / rssP : null,
        peakRssRatio: peakS !== null && peakP !== null && peakP > 0 ? peakS / peakP : null,
      });
    }
  }
  return out;
}

const fx = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const mib = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : (x / 2 ** 20).toFixed(0));
const us = (ns: number | null | undefined): string =>
  ns === null || ns === undefined ? 'n/a' : ns < 1000 ? `${ns.toFixed(0)} ns` : ns < 1e6 ? `${(ns / 1000).toFixed(1)} µs` : `${(ns / 1e6).toFixed(1)} ms`;
export const table = (header: string[], rows: string[][]): string =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** The Markdown of the peer and resource sections (placed before the failures). */
export function peersMarkdown(r: SuiteResults, latencyCharts: Record<string, string> = {}): string {
  const o = r.meta.options;
  const out: string[] = ['## Thread-safety models', ''];
  out.push(table(['allocator', 'how it is made thread-safe'], o.allocators.map((a) => [`\`${a}\``, THREAD_SAFETY[a] ?? r.meta.allocatorLabels[a] ?? a])));
  out.push('');
  for (const a of o.allocators.filter((x) => PEER_LIMITS[x])) out.push(`- \`${a}\`: ${PEER_LIMITS[a]}.`);
  out.push('');
  const cmp = peerComparisons(r);
  out.push('## sabmalloc against the best real peer', '');
  if (cmp.length === 0) {
    out.push('No real peer (zig-gpa, smo) ran next to sabmalloc in this run.', '');
  } else {
    out.push(
      'Per workload and worker count: sabmalloc\'s median throughput over the best real peer\'s (zig-gpa or smo; global-lock and thi.ng are not real peers), ' +
        'with both half-spreads, and sabmalloc\'s process RSS growth during the run over that peer\'s (peak RSS minus RSS at the run\'s start; absolute peak RSS ratio in brackets, it includes every idle isolate). ' +
        'Load average over the run: ' + `${r.meta.loadAverageStart[0]?.toFixed(2)} -> ${r.meta.loadAverageEnd[0]?.toFixed(2)} on ${r.meta.cpus} cores.`,
      '',
    );
    out.push(
      table(
        ['workload', 'workers', 'best real peer', 'sabmalloc / peer', '± sabmalloc / peer', 'RSS growth ratio (peak RSS ratio)'],
        cmp.map((c) => [c.workload, String(c.workers), `\`${c.bestPeer}\``, `${fx(c.ratio)}x`, `${(c.sabSpread * 100).toFixed(0)}% / ${(c.peerSpread * 100).toFixed(0)}%`, `${fx(c.rssGrowthRatio)} (${fx(c.peakRssRatio)})`]),
      ),
    );
    out.push('');
  }
  out.push(...kvmapNativeMarkdown(r));
  out.push('## Resources and latency per run', '');
  out.push(
    'Medians over repetitions, process-wide over the whole run (set-up, window, cleanup): wall time, user / sys CPU (process.resourceUsage), peak RSS sampled every 10 ms and its growth over the run, minor / major page faults; ' +
      'malloc / free latency percentiles from one call in N timed with performance.now() (N and the timer floor, the cost of an empty timing that every sample includes, in the CSV `<stem>-resources.csv`).',
    '',
  );
  const rf = resourceFigures(r);
  for (const w of o.workloads) {
    const rows = rf.filter((f) => f.workload === w);
    if (rows.length === 0) continue;
    out.push(`### ${w}`, '');
    if (latencyCharts[w]) out.push(`![${w} latency](${latencyCharts[w]})`, '');
    out.push(
      table(
        ['allocator', 'workers', 'wall s', 'user / sys s', 'peak RSS MiB (growth)', 'faults min / maj', 'malloc p50 / p99 / p99.9', 'free p50 / p99 / p99.9'],
        rows.map((f) => {
          const v = f.values;
          return [`\`${f.allocator}\``, String(f.workers), fx(v[1]), `${fx(v[2])} / ${fx(v[3])}`, `${mib(v[4])} (${mib(v[5])})`, `${v[6] ?? 'n/a'} / ${v[7] ?? 'n/a'}`, `${us(v[8])} / ${us(v[9])} / ${us(v[10])}`, `${us(v[11])} / ${us(v[12])} / ${us(v[13])}`];
        }),
      ),
    );
    out.push('');
  }
  return out.join('\n');
}

/** p99 malloc latency vs workers, one line per allocator. */
export async function latencyChart(r: SuiteResults, workload: string): Promise<string> {
  const rf = resourceFigures(r).filter((f) => f.workload === workload);
  const series: ChartSeries[] = r.meta.options.allocators.map((a) => ({
    name: a,
    points: rf.filter((f) => f.allocator === a && f.values[9] !== null).map((f) => [f.workers, f.values[9]!] as const),
  }));
  return specToSvg(
    lineChartSpec({
      title: `${workload}: malloc p99 latency vs workers`,
      subtitle: `one call in ${r.runs.find((x) => x.latency)?.latency?.every ?? 'N'} timed · median over runs · ${r.meta.cpus} cores`,
      xLabel: 'workers',
      yLabel: 'ns (log)',
      series,
      logX: true,
      logY: true,
      width: 560,
      height: 300,
    }),
  );
}

/** kvmap on each allocator against the same mix on per-worker Maps kept in step by postMessage. */
export function kvmapNativeMarkdown(r: SuiteResults): string[] {
  const nat = r.kvmapNative ?? [];
  if (nat.length === 0) return [];
  const o = r.meta.options;
  const out = ['## kvmap against the postMessage alternative', ''];
  out.push(
    'The same operation mix, keys, value sizes and prefill on a JS-native design: each worker its own `Map`, writes and deletes sent to every other worker by postMessage in batches of 64 operations (value bytes included), reads local. ' +
      'Both count map operations (reads + writes + deletes) per second of the window; medians over repetitions, run in turn with the allocators (same load).',
    '',
  );
  const rows: string[][] = [];
  for (const n of o.workers) {
    const ns = nat.filter((x) => x.workers === n);
    if (ns.length === 0) continue;
    const natMed = median(ns.map((x) => x.opsPerSecond));
    const cells = o.allocators.map((a) => {
      const f = r.figures.find((x) => x.allocator === a && x.workload === 'kvmap' && x.workers === n);
      return f ? `${(f.metric.median / 1000).toFixed(1)}k (${fx(f.metric.median / natMed)}x)` : '-';
    });
    rows.push([String(n), `${(natMed / 1000).toFixed(1)}k`, `${ns.reduce((s, x) => s + x.applied, 0) / ns.length | 0}`, ...cells]);
  }
  out.push(table(['workers', 'postMessage Map ops/s', 'remote updates applied / run', ...o.allocators.map((a) => `\`${a}\` ops/s (x postMessage)`)], rows));
  out.push('');
  return out;
}
