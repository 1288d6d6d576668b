/**
 * Noise of a measurement: what each repetition got from the machine (wall time, the CPU
 * time its threads received, what other processes took, the load average), and the flags
 * a point earns when its figures cannot be trusted as they stand.
 *
 * Owns: the noise model and the flag codes. Pure and host-agnostic: the readings come
 * from a NoiseSources object (bench/kit/noise-node.ts reads a Node host; the web lab
 * supplies a clock and nulls, since a page cannot see CPU time). A reading a host cannot
 * give is null, never 0, and every derived figure is null with it.
 *
 * Figures of one repetition (RepNoise), and why:
 * - coresUsed = CPU time of the whole process over the window / wall time. A point that
 *   asked for W workers on a P-core machine can at most use min(W, P) cores; getting much
 *   less means the workers were descheduled (or blocked, see `expectBusy`).
 * - otherCores = cores busy machine-wide (Linux /proc/stat jiffies, 10 ms granularity)
 *   minus coresUsed: what other processes took during the window.
 * - load1 = the 1-minute load average at the end of the window. It counts runnable
 *   threads, ours included, and lags by design; it is the only figure on hosts without
 *   /proc, so it is kept, but the flag uses it net of our own cores.
 * - busyThreads (where /proc/self/task exists): threads of the process that ran at least
 *   half the window, i.e. how many workers really ran at once.
 *
 * Flags of a point (codes stored in results; FLAG_TEXT says what each means):
 * - 'spread': the repetitions disagree: the interval of the median (bench/kit/sample.ts)
 *   is wider than maxRelativeWidth of the median (default 20%).
 * - 'cpu-short': the median repetition got fewer than cpuFactor x min(workers, cores)
 *   cores (default 0.8) AND other processes took at least half of what was missing. Low
 *   CPU alone is not interference: workers that park on a lock (a global lock, a futex)
 *   leave cores idle by design, and the machine was then free (a committed contention run
 *   had 238 of 882 repetitions below 80% of their cores, none with others busy). For
 *   points whose workers never block (`expectBusy`, e.g. a spinning lock hammer) low CPU
 *   alone is flagged: only descheduling explains it, and it is judged even where other
 *   processes' CPU is unknown (no /proc).
 * - 'others-busy': other processes used more than max(0.5, cores - min(workers, cores))
 *   cores in the median repetition, i.e. more than the cores this point left free.
 * - 'load': load average minus our own cores above the core count (others' demand alone
 *   exceeds the machine), judged where CPU figures are missing too.
 * - 'few-reps': fewer than 2 repetitions: nothing says how much the figure varies.
 *
 * MACHINE_FLAGS are the ones that say the machine interfered (the repetitions were not
 * made under the condition the point claims); a comparison treats those as making its
 * verdict 'noisy'. 'spread' and 'few-reps' describe the figures themselves, which a test
 * over the repetitions already weighs (a wide spread gives a large p), so they are shown
 * beside the point rather than overriding a verdict.
 */
import { relativeWidth, summarize, type Point } from './sample.js';

/** Readings a host can give; null where it cannot. */
export interface NoiseSources {
  /** a monotonic clock in milliseconds */
  nowMs(): number;
  /** CPU time (user + system) of the whole process so far, µs */
  processCpuUs(): number | null;
  /** 1-minute load average; null where the host has none */
  loadAvg1(): number | null;
  /** machine-wide busy and total CPU time (any unit, same for both); null where unknown */
  machineTime(): { busy: number; total: number } | null;
  /** CPU time of each thread of the process so far, ms, by thread id; null where unknown */
  threadCpuMs(): Map<number, number> | null;
  /** logical cores of the machine */
  cores(): number;
}

/** Readings at the start of a repetition's window. */
export interface NoiseMark {
  wallMs: number;
  cpuUs: number | null;
  machine: { busy: number; total: number } | null;
  threads: Map<number, number> | null;
}

/** Noise figures of one repetition (see the header). */
export interface RepNoise {
  wallMs: number;
  cpuMs: number | null;
  coresUsed: number | null;
  otherCores: number | null;
  load1: number | null;
  busyThreads: number | null;
  cores: number;
}

export function markNoise(src: NoiseSources): NoiseMark {
  return { wallMs: src.nowMs(), cpuUs: src.processCpuUs(), machine: src.machineTime(), threads: src.threadCpuMs() };
}

/** The repetition's noise from its start mark to now. */
export function endNoise(src: NoiseSources, start: NoiseMark): RepNoise {
  const end = markNoise(src);
  const cores = src.cores();
  const wallMs = end.wallMs - start.wallMs;
  const cpuMs = start.cpuUs !== null && end.cpuUs !== null ? (end.cpuUs - start.cpuUs) / 1000 : null;
  const coresUsed = cpuMs !== null && wallMs > 0 ? cpuMs / wallMs : null;
  let otherCores: number | null = null;
  if (coresUsed !== null && start.machine && end.machine && end.machine.total > start.machine.total) {
    const busyShare = (end.machine.busy - start.machine.busy) / (end.machine.total - start.machine.total);
    otherCores = Math.max(0, busyShare * cores - coresUsed);
  }
  let busyThreads: number | null = null;
  if (start.threads && end.threads && wallMs > 0) {
    busyThreads = 0;
    for (const [tid, ms] of end.threads) if (ms - (start.threads.get(tid) ?? 0) >= wallMs / 2) busyThreads++;
  }
  return { wallMs, cpuMs, coresUsed, otherCores, load1: src.loadAvg1(), busyThreads, cores };
}

export type FlagCode = 'spread' | 'cpu-short' | 'others-busy' | 'load' | 'few-reps';

/** Flags saying the machine interfered with the point (see the header). */
export const MACHINE_FLAGS: readonly FlagCode[] = ['cpu-short', 'others-busy', 'load'];

/** What each flag code means, for legends and summaries. */
export const FLAG_TEXT: Record<FlagCode, string> = {
  spread: 'repetitions disagree (interval of the median wider than the threshold)',
  'cpu-short': 'the workers got fewer cores than they asked for',
  'others-busy': 'other processes took the cores this point needed',
  load: 'load average above the cores, net of this run',
  'few-reps': 'fewer than 2 repetitions: no measure of variation',
};

/** A flag with the figures that raised it. */
export interface Flag {
  code: FlagCode;
  text: string;
}

export interface FlagOptions {
  /** 'spread' above this (hi - lo) / median (default 0.2) */
  maxRelativeWidth?: number;
  /** 'cpu-short' below this share of min(workers, cores) (default 0.8) */
  cpuFactor?: number;
  /** the workers never block (spinning): low CPU alone means descheduled (default false) */
  expectBusy?: boolean;
}

function medianOf(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

const f2 = (x: number): string => x.toFixed(2);

/** The flags a point earns from its summary and its repetitions' noise (see the header). */
export function assessPoint(point: Pick<Point, 'median' | 'lo' | 'hi' | 'n'>, reps: readonly RepNoise[], ctx: { workers: number }, opts: FlagOptions = {}): Flag[] {
  const out: Flag[] = [];
  const maxWidth = opts.maxRelativeWidth ?? 0.2;
  if (point.n < 2) out.push({ code: 'few-reps', text: `${point.n} repetition(s): no measure of variation` });
  const width = relativeWidth(point);
  if (point.n >= 2 && !(width <= maxWidth)) {
    out.push({ code: 'spread', text: `interval ${f2(point.lo)}..${f2(point.hi)} is ${(100 * width).toFixed(0)}% of the median (threshold ${(100 * maxWidth).toFixed(0)}%)` });
  }
  const cores = reps[0]?.cores ?? 0;
  const asked = Math.min(ctx.workers, cores);
  const used = medianOf(reps.map((r) => r.coresUsed));
  const others = medianOf(reps.map((r) => r.otherCores));
  const load = medianOf(reps.map((r) => r.load1));
  const factor = opts.cpuFactor ?? 0.8;
  if (used !== null && asked > 0 && used < asked * factor && ((opts.expectBusy ?? false) || (others !== null && others >= 0.5 * (asked - used)))) {
    const by = others !== null ? ` while other processes used ${f2(others)}` : '';
    out.push({ code: 'cpu-short', text: `got ${f2(used)} of the ${asked} cores asked${by} (median repetition; threshold ${(100 * factor).toFixed(0)}%)` });
  }
  const free = Math.max(0.5, cores - asked);
  if (others !== null && others > free) out.push({ code: 'others-busy', text: `other processes used ${f2(others)} cores (this point left ${f2(cores - asked)} free)` });
  if (load !== null && cores > 0 && load - (used ?? asked) > cores) {
    out.push({ code: 'load', text: `load average ${f2(load)} minus this run's ${f2(used ?? asked)} cores exceeds ${cores} cores` });
  }
  return out;
}

/**
 * The Point of one measured point: its repetitions' summary (bench/kit/sample.ts) with the
 * flags it earns from them and from their noise, plus any flags given (e.g. read from a
 * file). What every tool stores per point.
 */
export function measuredPoint(values: readonly number[], noise: readonly RepNoise[], ctx: { workers: number }, opts: FlagOptions & { flags?: readonly string[] } = {}): Point {
  const s = summarize(values);
  return { ...s, flags: [...new Set([...(opts.flags ?? []), ...flagCodes(assessPoint(s, noise, ctx, opts))])] };
}

/** The flag codes of `flags` (what a Point stores). */
export function flagCodes(flags: readonly Flag[]): string[] {
  return flags.map((f) => f.code);
}

/** How many points are flagged, and why: for a run's summary line. */
export function summarizeFlags(points: readonly { flags: readonly string[] }[]): { total: number; flagged: number; byCode: Record<string, number>; text: string } {
  const byCode: Record<string, number> = {};
  let flagged = 0;
  for (const p of points) {
    if (p.flags.length) flagged++;
    for (const c of new Set(p.flags)) byCode[c] = (byCode[c] ?? 0) + 1;
  }
  const total = points.length;
  if (flagged === 0) return { total, flagged, byCode, text: `no point flagged as noisy (${total} point${total === 1 ? '' : 's'})` };
  const why = Object.entries(byCode)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${n} ${c} = ${FLAG_TEXT[c as FlagCode] ?? 'unknown flag'}`);
  return { total, flagged, byCode, text: `${flagged} of ${total} points flagged as noisy: ${why.join('; ')}` };
}

/** Runs one repetition between two noise marks: its result, and what it got from the machine. */
export async function measureRepetition<T>(src: NoiseSources, run: () => Promise<T> | T): Promise<{ result: T; noise: RepNoise }> {
  const start = markNoise(src);
  const result = await run();
  return { result, noise: endNoise(src, start) };
}
