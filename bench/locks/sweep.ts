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
 * - contention sweep: for each kind x worker count x critical-section length, all workers
 *   are released together by a barrier word, run for a fixed duration, then stop on a
 *   STOP word. Reported: throughput, per-worker acquisition counts (min, max, Jain's
 *   fairness index), parks per acquisition, and the contended acquire latency p50/p99
 *   (only contended acquisitions are timed; the uncontended fast path is never timed);
 * - validation: every point checks the shared counter (incremented non-atomically under
 *   the lock) and the mutual-exclusion witness; `validate` adds a dedicated pass with
 *   tryLock mixed in, and the dead-thread pass (bench/locks/deaths.ts): for every kind, a
 *   worker is killed holding the lock, queued for it, and as the lock is released to it;
 *   recoverLock runs; the survivors must finish. Any violation or wedge throws
 *   LockValidationError (the CLI exits non-zero).
 *
 * Invariants: workers never outlive a point (each task returns after STOP); the pool is
 * destroyed even when a point fails. Nothing here asserts timing; figures are reported.
 *
 * Descheduled holders are the subject, not a problem: with 64 workers on 2 cores most
 * workers are descheduled most of the time, which is what separates the kinds.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Piscina } from 'piscina';
import { Bench } from 'tinybench';
import {
  LOCK_KINDS,
  LOCK_STAT_SLOTS,
  initLockBlock,
  type LockKind,
} from '../../src/locks/index.js';
import { CTRL, LOCK_WORD, hammerWords, nodeWordOf, statsBaseOf, type HammerResult, type HammerTask } from './hammer.js';
import { DEATH_RUN_ITERATIONS, deadThreadRun, type DeathMode } from './deaths.js';
import { lineChartSvg } from '../kit/charts.js';
import { LockValidationError, calibrateCs, lockPointOf, validateHammerRun, winners, type LockBenchPoint } from './point.js';
import { createBenchLock, isLockModule, lockModuleUrl } from './modules.js';
import { workerUrl } from '../kit/worker-url.js';

export interface LockBenchOptions {
  kinds?: readonly LockKind[];
  workers?: readonly number[];
  /** Critical-section lengths, in shared-memory writes (about 2 ns each here). */
  csWrites?: readonly number[];
  /** Work between critical sections, in cpuRelax iterations (about 2 ns each). */
  outsideWork?: number;
  durationMs?: number;
  /** Repetitions of each point (interleaved across kinds); the median is reported. */
  reps?: number;
  /** Fewer points and short durations: the whole run in well under a minute. */
  quick?: boolean;
  /** Also run the dedicated validation pass (tryLock mixed in, fixed iteration counts). */
  validate?: boolean;
  /** Run the uncontended tinybench part. */
  uncontended?: boolean;
  /** Directory for JSON + SVG results; null writes nothing. */
  outDir?: string | null;
  /** File name stem of the results (default 'locks', or 'locks-quick' with quick). */
  name?: string;
  /** Progress sink (default: stderr). */
  progress?: (line: string) => void;
  /** Print the tables to stdout (default true). */
  print?: boolean;
}

export interface UncontendedRow {
  kind: LockKind | 'reference: CAS + store';
  nsPerLockUnlock: number;
  rmePercent: number;
}

export interface LockBenchReport {
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAvgStart?: number; loadAvgEnd?: number };
  options: Required<Omit<LockBenchOptions, 'progress' | 'outDir' | 'print'>>;
  startedAt: string;
  csNs: Record<number, number>;
  uncontended: UncontendedRow[];
  points: LockBenchPoint[];
  validation: { kind: LockKind; workers: number; acquisitions: number; ok: boolean }[];
  /** Dead-thread pass (validate): what recoverLock found, and that the survivors finished. */
  deaths: { kind: LockKind; mode: DeathMode; role: string; survivorAcquisitions: number; ms: number }[];
  files: string[];
}

export { LockValidationError, jainIndex, winners, type LockBenchPoint } from './point.js';

const FULL = { workers: [1, 2, 4, 8, 16, 32, 64], csWrites: [4, 64, 1024], durationMs: 200, reps: 9 };
const QUICK = { workers: [1, 4, 16, 64], csWrites: [4], durationMs: 250, reps: 1 };

export async function runLockBench(options: LockBenchOptions = {}): Promise<LockBenchReport> {
  const quick = options.quick ?? false;
  const base = quick ? QUICK : FULL;
  const opts = {
    kinds: options.kinds ?? LOCK_KINDS,
    workers: options.workers ?? base.workers,
    csWrites: options.csWrites ?? base.csWrites,
    outsideWork: options.outsideWork ?? 64,
    durationMs: options.durationMs ?? base.durationMs,
    reps: options.reps ?? base.reps,
    quick,
    validate: options.validate ?? false,
    uncontended: options.uncontended ?? true,
    name: options.name ?? (quick ? 'locks-quick' : 'locks'),
  };
  if (!(Number.isInteger(opts.reps) && opts.reps >= 1)) throw new RangeError(`bad reps ${opts.reps}`);
  for (const w of opts.workers) if (!(Number.isInteger(w) && w >= 1 && w <= 1024)) throw new RangeError(`bad worker count ${w}`);
  for (const k of opts.kinds) if (!LOCK_KINDS.includes(k) && !isLockModule(k)) throw new RangeError(`unknown lock kind ${k}`);
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
    uncontended: [],
    points: [],
    validation: [],
    deaths: [],
    files: [],
  };
  for (const cs of opts.csWrites) report.csNs[cs] = calibrateCs(cs);

  if (opts.uncontended) {
    progress(`uncontended lock+unlock cost (tinybench, main thread) ...`);
    report.uncontended = await measureUncontended(opts.kinds, quick ? 150 : 1000);
    if (print) printUncontended(report.uncontended);
  }

  const maxWorkers = Math.max(...opts.workers, opts.validate ? 8 : 1);
  const pool = new Piscina<HammerTask, HammerResult>({
    filename: workerUrl('locks').href,
    minThreads: maxWorkers,
    maxThreads: maxWorkers,
    concurrentTasksPerWorker: 1,
    idleTimeout: 600_000,
    // Node 20.19+ lets piscina's worker require() our ESM task file; with many threads
    // starting at once that path intermittently dies with ERR_INTERNAL_ASSERTION ("module
    // imported again after being required"). Without require(esm) piscina falls back to
    // import(), which is reliable.
    execArgv: [...process.execArgv, '--no-experimental-require-module'],
  });
  try {
    // Bring every pool thread up (the barrier forces one task per thread) so that thread
    // start-up and module loading do not land in the first measured points.
    progress(`starting ${maxWorkers} pool threads ...`);
    await runTasks(pool, 'futex', maxWorkers, { iterations: 2000, csWrites: 4, outsideWork: 4, useTryLock: true }, 0);
    // Repetitions are interleaved across kinds (workers -> rep -> kind) so that a burst of
    // load from other processes on this shared machine hits every kind alike; each point
    // reports its median repetition.
    const total = opts.kinds.length * opts.workers.length * opts.csWrites.length * opts.reps;
    let done = 0;
    for (const cs of opts.csWrites) {
      for (const workers of opts.workers) {
        const reps = new Map<LockKind, LockBenchPoint[]>(opts.kinds.map((k) => [k, []]));
        for (let rep = 0; rep < opts.reps; rep++) {
          // Rotate the starting kind each repetition so no kind always runs first.
          for (let j = 0; j < opts.kinds.length; j++) {
            const kind = opts.kinds[(j + rep) % opts.kinds.length];
            const p = await runPoint(pool, kind, workers, cs, opts.outsideWork, opts.durationMs);
            reps.get(kind)!.push(p);
            done++;
            progress(
              `[${done}/${total}] ${kind.padEnd(8)} workers=${String(workers).padStart(2)} cs=${cs}: ` +
                `${fmtRate(p.throughput)} acq/s, jain ${p.jain.toFixed(2)}, parks/acq ${p.parksPerAcquisition.toFixed(3)}`,
            );
          }
        }
        for (const kind of opts.kinds) report.points.push(medianPoint(reps.get(kind)!));
      }
      if (print) printSweep(report.points.filter((p) => p.csWrites === cs), cs, report.csNs[cs]);
    }
    if (opts.validate) {
      for (const kind of opts.kinds) {
        for (const workers of [2, Math.min(8, maxWorkers), maxWorkers]) {
          const v = await validatePoint(pool, kind, workers);
          report.validation.push(v);
          progress(`validate ${kind} workers=${workers}: ${v.acquisitions} acquisitions ok`);
        }
      }
    }
  } finally {
    await pool.destroy();
  }
  if (opts.validate) {
    for (const kind of opts.kinds) {
      if (!(LOCK_KINDS as readonly string[]).includes(kind)) {
        // A user's lock module has no recoverLock: the dead-thread pass is for built-in kinds.
        progress(`validate ${kind}: no dead-thread pass (a lock module brings no recovery)`);
        continue;
      }
      for (const mode of DEATH_MODES) {
        const d = await validateDeath(kind, mode);
        report.deaths.push(d);
        progress(`validate ${kind}: worker killed ${DEATH_LABEL[mode]}: recoverLock -> ${d.role}; survivors finished`);
      }
    }
    if (print) printDeaths(report.deaths);
  }
  report.machine.loadAvgEnd = loadavg()[0];
  if (print) printWinners(report);
  if (outDir) report.files = await writeResults(report, outDir, opts.name);
  return report;
}

/** One sweep point: `workers` tasks released together, stopped after `durationMs`. */
async function runPoint(
  pool: Piscina<HammerTask, HammerResult>,
  kind: LockKind,
  workers: number,
  csWrites: number,
  outsideWork: number,
  durationMs: number,
): Promise<LockBenchPoint> {
  const { results, stats } = await runTasks(pool, kind, workers, { iterations: 0, csWrites, outsideWork, useTryLock: false }, durationMs);
  return lockPointOf({ kind, workers, csWrites, outsideWork }, results, stats);
}

/** The repetition with the median throughput, carrying all repetitions' throughputs. */
function medianPoint(reps: readonly LockBenchPoint[]): LockBenchPoint {
  const sorted = [...reps].sort((a, b) => a.throughput - b.throughput);
  return { ...sorted[(sorted.length - 1) >> 1], throughputReps: reps.map((p) => p.throughput) };
}

/** Fixed iteration counts with tryLock mixed in; throws on any lost update or violation. */
async function validatePoint(pool: Piscina<HammerTask, HammerResult>, kind: LockKind, workers: number) {
  const iterations = 2000;
  await runTasks(pool, kind, workers, { iterations, csWrites: 8, outsideWork: 8, useTryLock: true }, 0);
  return { kind, workers, acquisitions: workers * iterations, ok: true };
}

const DEATH_MODES: readonly DeathMode[] = ['holder', 'queued', 'handoff', 'anywhere'];
const DEATH_LABEL: Record<DeathMode, string> = {
  holder: 'holding the lock',
  queued: 'while queued',
  handoff: 'as the lock is released to it',
  anywhere: 'at a random moment of a busy run',
};

/** One dead-thread scenario (plain worker_threads, so the victim can be terminated). */
async function validateDeath(kind: LockKind, mode: DeathMode) {
  const t0 = performance.now();
  let r;
  try {
    r = await deadThreadRun(kind, mode, mode === 'handoff' ? 0.5 : mode === 'anywhere' ? Math.random() * 3 : 0);
  } catch (e) {
    throw new LockValidationError(`lock ${kind}: a worker killed ${DEATH_LABEL[mode]} was not survived: ${(e as Error).message}`);
  }
  const acquisitions = r.results.map((x) => x.acquisitions);
  const violations = r.results.reduce((a, x) => a + x.violations, 0);
  if (violations !== 0 || acquisitions.some((a, k) => a !== DEATH_RUN_ITERATIONS[k]) || r.holderAfter !== 0) {
    throw new LockValidationError(
      `lock ${kind}: after a worker killed ${DEATH_LABEL[mode]}: ${violations} violations, acquisitions ${acquisitions.join(',')}, holder ${r.holderAfter}`,
    );
  }
  return { kind, mode, role: r.role, survivorAcquisitions: acquisitions.reduce((a, b) => a + b, 0), ms: performance.now() - t0 };
}

function printDeaths(rows: LockBenchReport['deaths']): void {
  console.log('\nDead threads (a worker terminated; recoverLock; survivors and a thread reusing its id must finish)');
  console.log(
    textTable(
      ['kind', 'killed', 'recoverLock found', 'survivor acquisitions', 'ms'],
      rows.map((d) => [d.kind, DEATH_LABEL[d.mode], d.role, String(d.survivorAcquisitions), d.ms.toFixed(0)]),
    ),
  );
}

/**
 * Starts `workers` hammer tasks on one fresh lock, opens the barrier, and (when
 * durationMs > 0) sets STOP after that long. Validates the counter and the witness.
 */
async function runTasks(
  pool: Piscina<HammerTask, HammerResult>,
  kind: LockKind,
  workers: number,
  shape: Pick<HammerTask, 'iterations' | 'csWrites' | 'outsideWork' | 'useTryLock'>,
  durationMs: number,
): Promise<{ results: HammerResult[]; stats: Float64Array }> {
  const sab = new SharedArrayBuffer(hammerWords(workers) * 4);
  const statsSab = new SharedArrayBuffer(workers * LOCK_STAT_SLOTS * 8);
  const i32 = new Int32Array(sab);
  initLockBlock(i32, LOCK_WORD);
  const runs: Promise<HammerResult>[] = [];
  for (let id = 1; id <= workers; id++) runs.push(pool.run({ sab, statsSab, kind, ownerId: id, lockModule: lockModuleUrl(kind), ...shape }));
  const deadline = Date.now() + 60_000;
  while (Atomics.load(i32, CTRL.ready) < workers) {
    if (Date.now() > deadline) throw new Error(`lock bench: only ${Atomics.load(i32, CTRL.ready)}/${workers} workers reached the barrier`);
    await sleep(1);
  }
  Atomics.store(i32, CTRL.go, 1);
  Atomics.notify(i32, CTRL.go);
  if (durationMs > 0) {
    await sleep(durationMs);
    Atomics.store(i32, CTRL.stop, 1);
  }
  const results = await withWatchdog(Promise.all(runs), WATCHDOG_MS + (shape.iterations > 0 ? 60_000 : 0), () => {
    const block = Array.from(i32.subarray(LOCK_WORD, LOCK_WORD + 8)).join(',');
    return new LockValidationError(
      `lock ${kind} with ${workers} workers: no progress ${WATCHDOG_MS} ms after STOP (lost wake-up or livelock?); ` +
        `lock block words 0..7 = [${block}]`,
    );
  });
  validateHammerRun(kind, workers, i32, results);
  return { results, stats: new Float64Array(statsSab) };
}

const REFERENCE = 'reference: CAS + store' as const;
type PairLoopModule = typeof import('./pair-loop.js');

async function measureUncontended(kinds: readonly LockKind[], timeMs: number): Promise<UncontendedRow[]> {
  const PAIRS = 1000;
  // Every lock (and the reference) gets its own block: kinds encode their words
  // differently, so a block one kind leaves behind is not "free" to another.
  const block = () => new Int32Array(new SharedArrayBuffer(hammerWords(2) * 4));
  const i32 = block();
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(100, timeMs) });
  bench.add(REFERENCE, () => {
    for (let k = 0; k < PAIRS; k++) {
      Atomics.compareExchange(i32, LOCK_WORD, 0, 1);
      Atomics.store(i32, LOCK_WORD, 0);
    }
  });
  for (const kind of kinds) {
    const lock = createBenchLock(kind, { i32: block(), word: LOCK_WORD, ownerId: 1, nodeWord: nodeWordOf });
    // A private copy of the loop per kind keeps its call site monomorphic (see the module).
    const { lockPairs } = (await import(new URL(`./pair-loop.js?kind=${kind}`, import.meta.url).href)) as PairLoopModule;
    bench.add(kind, () => lockPairs(lock, PAIRS));
  }
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`uncontended bench of ${t.name} did not complete: ${r.state}`);
    return { kind: t.name as UncontendedRow['kind'], nsPerLockUnlock: (r.latency.mean * 1e6) / PAIRS, rmePercent: r.latency.rme };
  });
}

/** How long workers may take to finish after STOP before the run is declared stuck. */
const WATCHDOG_MS = 30_000;

function withWatchdog<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const alarm = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  return Promise.race([p, alarm]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function fmtRate(x: number): string {
  if (x >= 1e6) return (x / 1e6).toFixed(2) + 'M';
  if (x >= 1e3) return (x / 1e3).toFixed(1) + 'k';
  return x.toFixed(0);
}

function fmtNs(ns: number): string {
  if (ns >= 1e6) return (ns / 1e6).toFixed(1) + 'ms';
  if (ns >= 1e3) return (ns / 1e3).toFixed(1) + 'us';
  return ns.toFixed(0) + 'ns';
}

/** Plain aligned text table (first column left-aligned, the rest right-aligned). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: readonly string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function printUncontended(rows: readonly UncontendedRow[]): void {
  console.log('\nUncontended lock+unlock (main thread)');
  console.log(textTable(['kind', 'ns/pair', '±%'], rows.map((r) => [r.kind, r.nsPerLockUnlock.toFixed(1), r.rmePercent.toFixed(1)])));
}

function printSweep(points: readonly LockBenchPoint[], cs: number, csNs: number): void {
  console.log(`\nContention sweep, critical section = ${cs} shared writes (~${fmtNs(csNs)}), work between = ${points[0]?.outsideWork ?? 0} relax`);
  console.log(
    textTable(
      ['kind', 'workers', 'acq/s', 'min count', 'max count', 'jain', 'contended', 'parks/acq', 'p50', 'p99'],
      points.map((p) => [
        p.kind,
        String(p.workers),
        fmtRate(p.throughput),
        fmtRate(p.perWorkerMin),
        fmtRate(p.perWorkerMax),
        p.jain.toFixed(3),
        (100 * p.contendedFraction).toFixed(1) + '%',
        p.parksPerAcquisition.toFixed(3),
        fmtNs(p.latencyP50Ns),
        fmtNs(p.latencyP99Ns),
      ]),
    ),
  );
}

function printWinners(report: LockBenchReport): void {
  if (report.points.length === 0) return;
  console.log('\nBest kind per point (adaptive as a fraction of the best)');
  console.log(
    textTable(
      ['cs writes', 'workers', 'best', 'acq/s', 'adaptive/best'],
      winners(report.points).map((x) => [
        String(x.csWrites),
        String(x.workers),
        x.best,
        fmtRate(x.bestThroughput),
        x.adaptiveRatio === null ? '-' : x.adaptiveRatio.toFixed(2),
      ]),
    ),
  );
}

/**
 * Re-renders the tables, charts and JSON of a saved report (e.g. after a chart change)
 * without measuring again.
 */
export async function replotLockBench(jsonPath: string, outDir?: string, name?: string): Promise<LockBenchReport> {
  const report = JSON.parse(readFileSync(jsonPath, 'utf8')) as LockBenchReport;
  printUncontended(report.uncontended);
  for (const cs of report.options.csWrites) printSweep(report.points.filter((p) => p.csWrites === cs), cs, report.csNs[cs]);
  printWinners(report);
  report.files = await writeResults(report, outDir ?? dirname(resolve(jsonPath)), name ?? report.options.name);
  return report;
}

async function writeResults(report: LockBenchReport, outDir: string, name: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const o = report.options;
  const sub = `${report.machine.cpus} cores, Node ${report.machine.node}, median of ${o.reps} x ${o.durationMs} ms per point`;
  for (const cs of report.options.csWrites) {
    const pts = report.points.filter((p) => p.csWrites === cs);
    if (pts.length === 0) continue;
    const series = (y: (p: LockBenchPoint) => number) =>
      report.options.kinds.map((kind) => ({
        name: kind,
        points: pts.filter((p) => p.kind === kind).map((p) => [p.workers, y(p)] as const),
      }));
    const csLabel = `critical section ${cs} shared writes (~${fmtNs(report.csNs[cs])})`;
    const throughput = join(outDir, `${name}-throughput-cs${cs}.svg`);
    writeFileSync(
      throughput,
      await lineChartSvg({
        title: `Lock throughput vs workers, ${csLabel}`,
        subtitle: o.reps > 1 ? `${sub}, bars: min..max` : sub,
        xLabel: 'workers',
        yLabel: 'acquisitions / s',
        logX: true,
        logY: true,
        // The spread bar of each point is the min..max over its repetitions.
        series: series((p) => p.throughput).map((s) => ({
          ...s,
          spread: pts
            .filter((p) => p.kind === s.name && p.throughputReps.length > 1)
            .map((p) => [p.workers, Math.min(...p.throughputReps), Math.max(...p.throughputReps)] as const),
        })),
      }),
    );
    const fairness = join(outDir, `${name}-fairness-cs${cs}.svg`);
    writeFileSync(
      fairness,
      await lineChartSvg({
        title: `Lock fairness (Jain's index of per-worker acquisitions), ${csLabel}`,
        subtitle: sub,
        xLabel: 'workers',
        yLabel: "Jain's fairness index",
        logX: true,
        yDomain: [0, 1],
        series: series((p) => p.jain),
      }),
    );
    files.push(throughput, fairness);
  }
  const json = join(outDir, `${name}.json`);
  files.unshift(json);
  writeFileSync(json, JSON.stringify({ ...report, files, winners: winners(report.points) }, null, 2) + '\n');
  return files;
}
