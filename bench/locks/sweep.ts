/**
 * The lock benchmark (`sabmalloc locks`): what every lock kind costs uncontended, and how
 * it behaves when 1..64 workers fight over one lock on this machine.
 *
 * Owns: one piscina pool for the whole run (threads = the largest worker count), one fresh
 * SharedArrayBuffer per measured point (lock block + control words + queue nodes, see
 * bench/locks/hammer.ts) and one float64 stats sink per worker.
 *
 * Method (after WebKit's LockSpeedTest / LockFairnessTest and ck_spinlock's benchmark):
 * - uncontended: tinybench, main thread, 1000 lock+unlock pairs per sample;
 * - contention sweep: for each kind x worker count x critical-section length, an untimed
 *   warm-up run (every pool thread that runs the point compiles the kind's code first),
 *   then at least 3 repetitions (--quick included, with shorter windows), interleaved
 *   across kinds. In each repetition all workers are released together by a barrier
 *   word, run for a fixed window, then stop on a STOP word; what the repetition got from
 *   the machine is recorded (bench/kit/noise.ts). Reported per point: the median
 *   throughput with its interval and noise flags (bench/kit/noise.ts measuredPoint),
 *   per-worker acquisition counts (min, max, Jain's index), parks per acquisition, and
 *   the acquire-latency histogram of every acquisition (uncontended ones counted apart);
 *   `--until-stable W` adds repetitions until each interval is within W of its median
 *   (bench/kit/sample.ts needsMoreReps) or the time budget ends;
 * - validation (bench/locks/validate.ts): a verdict per kind and check, never an abort.
 *
 * Invariants: workers never outlive a point (each task returns after STOP, or the pool is
 * restarted when a run stalls); the pool is destroyed even when a point fails. Nothing
 * here asserts timing; figures are reported.
 *
 * Descheduled holders are the subject, not a problem: with 64 workers on 2 cores most
 * workers are descheduled most of the time, which is what separates the kinds.
 */
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ALL_LOCK_KINDS, LOCK_KINDS } from '../../src/locks/index.js';
import { timerResolution } from '../kit/histogram.js';
import { measureRepetition, measuredPoint, type RepNoise } from '../kit/noise.js';
import { nodeNoiseSources } from '../kit/noise-node.js';
import { needsMoreReps } from '../kit/sample.js';
import { calibrateCs, calibrateOutside, lockPointOf, type LockBenchPoint } from './point.js';
import { isLockModule, modulePolicies } from './modules.js';
import { builtinPolicies, lockEntries, nameOf, type LockEntry, type PolicyChoice } from './entries.js';
import { LockPool, LockStalledError, measureUncontended, runTasks } from './tasks.js';
import { deathRows, deathVerdicts, oneVerdictPerCheck, passVerdicts, sweepVerdicts, validationPasses } from './validate.js';
import { fmtRate, printReport, writeResults } from './report.js';
import type { LockBenchOptions, LockBenchReport } from './types.js';
import { lockThreads } from './threads.js';
import { uniqueStem } from '../cli/args.js';

export type { LockBenchOptions, LockBenchReport } from './types.js';

export { LockValidationError, jainIndex, winners, type LockBenchPoint } from './point.js';
export { fmtRate, textTable } from './report.js';

const FULL = { workers: [1, 2, 4, 8, 16, 32, 64], csWrites: [4, 64, 1024], durationMs: 200, reps: 9 };
const QUICK = { workers: [1, 4, 16, 64], csWrites: [4], durationMs: 100, reps: 3 };
/** --until-stable: never more repetitions than this per point, nor longer than this in all. */
const STABLE_MAX_REPS = 30;
const STABLE_BUDGET_MS = 120_000;
/** kinds whose waiters never block (besides any kind under 'spin'): CPU short of the cores asked means descheduled */
const SPINNING: readonly string[] = ['tas', 'ttas', 'busted'];

function resolveOptions(options: LockBenchOptions): LockBenchReport['options'] {
  const quick = options.quick ?? false;
  const base = quick ? QUICK : FULL;
  const opts = {
    kinds: options.kinds ?? LOCK_KINDS,
    policies: options.policies ?? (['default'] as PolicyChoice[]),
    workers: options.workers ?? base.workers,
    // lengths asked in ns become writes / relax iterations by this thread's calibration
    csWrites: options.csNs ? options.csNs.map((ns) => (ns === 0 ? 0 : Math.max(1, Math.round(ns / (calibrateCs(256) / 256))))) : (options.csWrites ?? base.csWrites),
    outsideWork: options.outsideNs !== undefined ? Math.round(options.outsideNs / (calibrateOutside(1024) / 1024)) : (options.outsideWork ?? 64),
    ...(options.csNs ? { csNs: options.csNs } : {}),
    ...(options.outsideNs !== undefined ? { outsideNs: options.outsideNs } : {}),
    ...(options.jitter ? { jitter: options.jitter } : {}),
    ...(options.stutterMs ? { stutterMs: options.stutterMs } : {}),
    ...(options.longHold ? { longHold: options.longHold } : {}),
    durationMs: options.durationMs ?? base.durationMs,
    reps: options.reps ?? base.reps,
    quick,
    validate: options.validate ?? false,
    uncontended: options.uncontended ?? true,
    name: options.name ?? (quick ? uniqueStem('locks-quick') : 'locks'),
    untilStable: options.untilStable,
    warmupMs: Math.min(50, Math.max(10, (options.durationMs ?? base.durationMs) / 2)),
  };
  if (!(Number.isInteger(opts.reps) && opts.reps >= 1)) throw new RangeError(`bad reps ${opts.reps}`);
  for (const w of opts.workers) if (!(Number.isInteger(w) && w >= 1 && w <= 1024)) throw new RangeError(`bad worker count ${w}`);
  for (const k of opts.kinds) if (!ALL_LOCK_KINDS.includes(k) && !isLockModule(k)) throw new RangeError(`unknown lock kind ${k}`);
  return opts;
}

export async function runLockBench(options: LockBenchOptions = {}): Promise<LockBenchReport> {
  const opts = resolveOptions(options);
  const progress = options.progress ?? ((line: string) => process.stderr.write(line + '\n'));
  const print = options.print ?? true;
  const outDir = options.outDir === undefined ? resolve('bench/results') : options.outDir;
  const report: LockBenchReport = {
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      platform: process.platform,
      // Other processes share this machine; their load is the main source of noise.
      loadAvgStart: loadavg()[0],
    },
    options: opts,
    startedAt: new Date().toISOString(),
    csNs: {},
    outsideNs: calibrateOutside(opts.outsideWork),
    timerResolutionNs: timerResolution().resolutionNs,
    entries: lockEntries(opts.kinds, opts.policies, (k) => (isLockModule(k) ? modulePolicies(k) : builtinPolicies(k))),
    uncontended: [],
    points: [],
    validation: [],
    deaths: [],
    files: [],
  };
  for (const cs of opts.csWrites) report.csNs[cs] = cs === 0 ? 0 : calibrateCs(cs);
  if (opts.uncontended) {
    progress(`uncontended lock+unlock cost (tinybench, main thread) ...`);
    report.uncontended = await measureUncontended(opts.kinds, opts.quick ? 150 : 1000);
  }
  const pool = new LockPool(Math.max(...opts.workers));
  // what broke mutual exclusion, and what stalled, per kind/policy, during the sweep
  const violations = new Map<string, string[]>(report.entries.map((e) => [e.name, []]));
  const stalls = new Map<string, string[]>(report.entries.map((e) => [e.name, []]));
  try {
    progress(`starting ${pool.threads} pool threads ...`);
    await runTasks(pool, 'futex', pool.threads, { iterations: 2000, csWrites: 4, outsideWork: 4, useTryLock: true }, 0);
    await sweep(pool, opts, report, { violations, stalls }, progress);
    if (opts.validate) {
      const counts = opts.workers.filter((w) => w >= 2);
      for (const e of report.entries) report.validation.push(...(await validationPasses(pool, e, counts.length ? counts : [2], options.validateIterations ?? 2000, progress)));
    }
  } finally {
    await pool.destroy();
  }
  if (opts.validate) {
    try {
      for (const e of report.entries) report.deaths.push(...(await deathRows(e, progress, options.deathModes)));
    } finally {
      await lockThreads.close(); // the survivors' threads, reused across every entry's scenarios
    }
    const top = Math.max(...report.points.map((p) => p.workers));
    const passV = passVerdicts(report.validation, new Map(report.points.filter((p) => p.workers === top && p.csWrites === opts.csWrites[0]).map((p) => [nameOf(p), p.tput?.median ?? p.throughput])));
    report.verdicts = report.entries.map((e) => e.name).flatMap((k) =>
      oneVerdictPerCheck([
        ...sweepVerdicts(k, report.points, violations.get(k) ?? []),
        ...passV.filter((v) => v.kind === k).map((v) => (v.check === 'progress' && stalls.get(k)?.length ? { ...v, pass: false, slow: false, detail: `stuck in the sweep: ${stalls.get(k)![0]}` } : v)),
        ...deathVerdicts(k, report.deaths),
      ]),
    );
  }
  report.machine.loadAvgEnd = loadavg()[0];
  if (print) printReport(report, options.targets ?? false);
  if (outDir) report.files = await writeResults(report, outDir, opts.name);
  return report;
}

/** True when a --validate run gave any FAIL (the CLI's exit code). */
export function anyFailed(report: LockBenchReport): boolean {
  return (report.verdicts ?? []).some((v) => !v.pass);
}

interface Reps {
  points: LockBenchPoint[];
  noise: RepNoise[];
  starved: number;
}

/** The sweep: per cs and worker count, a warm-up then interleaved repetitions of every entry (kind/policy). */
async function sweep(
  pool: LockPool,
  opts: LockBenchReport['options'],
  report: LockBenchReport,
  { violations, stalls }: { violations: Map<string, string[]>; stalls: Map<string, string[]> },
  progress: (l: string) => void,
): Promise<void> {
  const src = nodeNoiseSources();
  const started = Date.now();
  const entries = report.entries;
  let done = 0;
  const total = entries.length * opts.workers.length * opts.csWrites.length * opts.reps;
  const width = Math.max(8, ...entries.map((e) => e.name.length));
  for (const cs of opts.csWrites) {
    for (const workers of opts.workers) {
      const modes = { jitter: opts.jitter, stutterMs: opts.stutterMs, longHoldEvery: opts.longHold?.every, longHoldMs: opts.longHold?.ms };
      const task = (e: LockEntry) => ({ iterations: 0, csWrites: cs, outsideWork: opts.outsideWork, useTryLock: false, ...modes, ...(e.policy ? { policy: e.policy } : {}) });
      const reps = new Map<string, Reps>(entries.map((e) => [e.name, { points: [], noise: [], starved: 0 }]));
      for (const e of entries) await runTasks(pool, e.kind, workers, task(e), opts.warmupMs ?? 20).catch(() => undefined);
      const more = (rep: number): boolean => {
        if (rep < opts.reps) return true;
        if (opts.untilStable === undefined || rep >= STABLE_MAX_REPS || Date.now() - started > STABLE_BUDGET_MS) return false;
        return entries.some((e) => needsMoreReps(reps.get(e.name)!.points.map((p) => p.throughput), { maxRelativeWidth: opts.untilStable!, maxReps: STABLE_MAX_REPS }).more);
      };
      for (let rep = 0; more(rep); rep++) {
        // Rotate the starting entry each repetition so no kind always runs first.
        for (let j = 0; j < entries.length; j++) {
          const e = entries[(j + rep) % entries.length]!;
          const r = reps.get(e.name)!;
          const at = `[${++done}/${total}] ${e.name.padEnd(width)} workers=${String(workers).padStart(2)} cs=${cs}`;
          let m;
          try {
            m = await measureRepetition(src, () => runTasks(pool, e.kind, workers, task(e), opts.durationMs));
          } catch (err) {
            if (!(err instanceof LockStalledError)) throw err;
            stalls.get(e.name)!.push(err.message);
            progress(`${at}: STALLED: ${err.message}`);
            continue;
          }
          const p = lockPointOf({ kind: e.kind, name: e.name, policy: e.policy, workers, csWrites: cs, outsideWork: opts.outsideWork }, m.result.results, m.result.stats, report.timerResolutionNs ?? null, m.result.timing, { cs: report.csNs[cs] ?? 0, outside: report.outsideNs ?? 0 });
          if (m.result.violation) {
            p.violation = m.result.violation;
            violations.get(e.name)!.push(m.result.violation);
          }
          r.points.push(p);
          r.noise.push(m.noise);
          if (p.perWorkerMin === 0) r.starved++;
          progress(`${at}: ${fmtRate(p.throughput)} acq/s, jain ${p.jain.toFixed(2)}${p.violation ? ' BROKE MUTUAL EXCLUSION' : ''}`);
        }
      }
      for (const e of entries) {
        const r = reps.get(e.name)!;
        if (r.points.length) report.points.push(medianPoint(r, workers, SPINNING.includes(e.kind) || e.policy === 'spin'));
      }
    }
  }
}

/** The repetition with the median throughput, carrying every repetition, its noise and the Point. */
function medianPoint(r: Reps, workers: number, expectBusy: boolean): LockBenchPoint {
  const sorted = [...r.points].sort((a, b) => a.throughput - b.throughput);
  const values = r.points.map((p) => p.throughput);
  const violation = r.points.find((p) => p.violation)?.violation;
  return {
    ...sorted[(sorted.length - 1) >> 1]!,
    throughputReps: values,
    tput: measuredPoint(values, r.noise, { workers }, { expectBusy }),
    noiseReps: r.noise,
    starvedReps: r.starved,
    ...(violation ? { violation } : {}),
  };
}

/**
 * Re-renders the tables, charts, CSV and JSON of a saved report (e.g. after a chart
 * change) without measuring again.
 */
export async function replotLockBench(jsonPath: string, outDir?: string, name?: string): Promise<LockBenchReport> {
  const report = JSON.parse(readFileSync(jsonPath, 'utf8')) as LockBenchReport;
  printReport(report, false);
  report.files = await writeResults(report, outDir ?? dirname(resolve(jsonPath)), name ?? report.options.name);
  return report;
}
