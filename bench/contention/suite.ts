/**
 * The contention suite's runner: for each workload, worker count and repetition, one run
 * per allocator (in an order rotated every repetition): a fresh heap, all workers set up,
 * meet on the start barrier, run the timed window, meet on the end barrier, verify and
 * free everything; then the heap's consistency check and leak check. Every allocator has
 * its own piscina pool for the whole suite, so every call site in the workers only ever
 * sees one adapter and one lock class.
 *
 * Owns: the pools, the heaps and the per-run control blocks; nothing outlives the call.
 *
 * Invariants:
 * - A run's tasks all go to distinct pool threads (pool size = largest worker count,
 *   one task per thread at a time), so a barrier of n never waits on a queued task.
 * - A failed run (verification, allocator error, leak, failed check, time-out) is
 *   recorded in `failures`, printed at once on stderr, and makes the CLI exit non-zero;
 *   with `failFast` it throws instead. A run that hangs is aborted and its pool replaced.
 * - `onePool` (correctness runs only, never a comparison) shares one pool among all the
 *   allocators: fewer threads to start, and every thread's call sites then see several
 *   adapters and lock classes, which slows them, so the figures compare nothing.
 * - The main thread samples memory and CPU every few ms while a run is in its timed
 *   window and raises STOP at the deadline (workers also do on their own clocks).
 */
import os from 'node:os';
import { inspect } from 'node:util';
import { Piscina } from 'piscina';
import { runRecordOf } from './record.js';
import { availablePeers } from './peers/catalogue.js';
import { HostSampler } from './host.js';
import { runNativeKvmap, type NativeKvResult } from './kvmap-native.js';
import { summarize } from './latency.js';
import { RunTally } from './tally.js';
import { allocatorSpec, DEFAULT_ALLOCATORS, expandAllocatorIds, QUICK_ALLOCATORS } from './allocators.js';
import { createHeap, type AllocatorSpec, type HeapInstance } from './adapters/index.js';
import type { MemoryBreakdown } from './adapters/types.js';
import { ABORTED_MESSAGE, CTL_F64, CTL_I32, PHASE_RUNNING, abortRun, controlViews, createControl, nowAbs, type ControlViews } from '../kit/control.js';
import { computeFigures, evaluateTargets } from './figures.js';
import { ProgressBar } from './progress.js';
import type { ContentionOptions, ContentionResults, ProgressEvent, RunRecord } from './types.js';
import { type ChurnCounts, type TouchMode, type WorkerOutcome, type WorkerTask, type WorkloadDef, type WorkloadParams } from './workloads/common.js';
import { WORKLOADS, WORKLOAD_NAMES, workloadByName } from './workloads/index.js';
import { workerUrl } from '../kit/worker-url.js';

/**
 * Up to 16 workers per core of this 2-core class of machine; 64 (`--workers ...,64`) costs
 * a pool of 64 threads per allocator and most of the run's time without showing more than
 * 32 does (each worker then runs 1/16 of the time).
 */
export const DEFAULT_WORKERS = [1, 2, 4, 8, 16, 32];
export const QUICK_WORKERS = [1, 2, 4];
export const DEFAULT_DURATION_MS = 200;
export const QUICK_DURATION_MS = 100;
export const DEFAULT_REPS = 3;
export const QUICK_REPS = 3;

export interface ContentionFailure {
  allocator: string;
  workload: string;
  workers: number;
  rep: number;
  error: string;
}

export interface SuiteResults extends ContentionResults {
  failures: ContentionFailure[];
  /** kvmap's JS-native alternative (kvmap-native.ts), run next to kvmap at every count and repetition */
  kvmapNative?: (NativeKvResult & { rep: number })[];
}


export function resolveParams(def: WorkloadDef, scale: string, overrides?: WorkloadParams): WorkloadParams {
  const extra = scale === 'quick' ? def.quick : scale === 'small' ? def.small : {};
  return { ...def.defaults, ...extra, ...(overrides ?? {}) };
}

/**
 * Main-thread watcher of one round (exported for its test): raises STOP at the deadline (in
 * case every worker is stuck behind a slow allocator) and samples the heap's memory on every tick (~5 ms) of the
 * timed window. The live set peaks mid-window (mstress: large blocks come and go; its
 * rounds are only durationMs / rounds long), while committed memory is a high-water mark
 * that keeps whatever peak it reached: sampling live bytes only every ~100 ms (once per
 * mstress round) missed those peaks and overstated the blowup (measured: 1 worker, peak
 * live 757 KiB at the barriers against 966 KiB within the round).
 */
export class Sampler {
  private readonly timer: NodeJS.Timeout;
  peakCommitted = 0;
  peakLive = 0;
  metadata = 0;
  /** the heap's breakdown (if it has one) read when committed last rose: what the peak is made of */
  atPeak: MemoryBreakdown | undefined;

  constructor(
    private readonly heap: HeapInstance,
    private readonly ctl: ControlViews,
  ) {
    this.timer = setInterval(() => this.tick(), 5);
  }

  private tick(): void {
    const phase = Atomics.load(this.ctl.i32, CTL_I32.phase);
    if (phase === PHASE_RUNNING) {
      if (nowAbs() >= this.ctl.f64[CTL_F64.deadlineAbs]) Atomics.store(this.ctl.i32, CTL_I32.stop, 1);
      this.sample();
    }
  }

  /**
   * The sample is racy (the workers keep running): a batch moving from a central list to a
   * thread cache between stats()'s read of the thread slots and its read of the class
   * counters counts as live. The lower live figure of two back-to-back reads is kept, so a
   * peak is inflated only if both reads catch a refill in flight (any other race makes the
   * figure lower, never higher).
   */
  private sample(): void {
    const m = this.heap.adapter.memory();
    const again = this.heap.adapter.memory();
    const live = Math.min(m.live, again.live);
    const committed = Math.max(m.committed, again.committed);
    if (committed > this.peakCommitted) {
      this.peakCommitted = committed;
      if (this.heap.breakdown) this.atPeak = this.heap.breakdown();
    }
    if (live > this.peakLive) this.peakLive = live;
    if (m.metadata > this.metadata) this.metadata = m.metadata;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

class RunFailure extends Error {}

interface RunSetup {
  spec: AllocatorSpec;
  def: WorkloadDef;
  params: WorkloadParams;
  workers: number;
  rep: number;
  durationMs: number;
  seed: number;
  check: boolean;
  fullCleanup: boolean;
  preallocate: boolean;
  touch: TouchMode;
  latencyEvery: number;
}

/** Generous bound on one round: set-up of big live sets on 2 cores can take a while. */
function roundTimeoutMs(s: RunSetup): number {
  return 120_000 + s.durationMs * 4 + s.workers * 2_000;
}

/** Starts one round: every worker's task for this round, on the pool. */
function startRound(poolRef: { pool: Piscina }, s: RunSetup, heap: HeapInstance, data: SharedArrayBuffer, ctlSab: SharedArrayBuffer, round: number, rounds: number): Promise<WorkerOutcome>[] {
  const { spec, def, params, workers } = s;
  const tasks: Promise<WorkerOutcome>[] = [];
  for (let w = 0; w < workers; w++) {
    const task: WorkerTask = {
      workload: def.name,
      allocator: spec,
      heap: heap.buffer,
      ...(heap.wasmMemory ? { wasmMemory: heap.wasmMemory } : {}),
      ctl: ctlSab,
      data,
      worker: w,
      workers,
      params,
      seed: s.seed,
      round,
      rounds,
      durationMs: s.durationMs / rounds,
      skipCleanupFrees: heap.cheapCleanup && !s.fullCleanup,
      touch: s.touch,
      latencyEvery: s.latencyEvery,
    };
    tasks.push(poolRef.pool.run(task));
  }
  return tasks;
}

/**
 * Waits for a round's workers under the round's time bound. A round that does not finish
 * is aborted; when even the abort does not bring the workers back, some worker is stuck
 * inside the allocator and the pool is replaced, since it cannot be trusted any more.
 */
async function awaitRound(poolRef: { pool: Piscina; make: () => Piscina }, s: RunSetup, ctl: ReturnType<typeof controlViews>, tasks: Promise<WorkerOutcome>[], round: number): Promise<WorkerOutcome[]> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), roundTimeoutMs(s));
  });
  const settled = await Promise.race([Promise.allSettled(tasks), timedOut]);
  clearTimeout(timer);
  if (settled === 'timeout') {
    abortRun(ctl);
    const late = await Promise.race([Promise.allSettled(tasks), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5_000))]);
    if (late === 'timeout') {
      await poolRef.pool.destroy().catch(() => undefined);
      poolRef.pool = poolRef.make();
    }
    throw new RunFailure(`round ${round} did not finish within ${roundTimeoutMs(s)} ms (deadlock or livelock?)`);
  }
  const rejected = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected.length > 0) {
    // Error classes do not survive the trip from the worker (structured clone keeps only
    // the message and stack), so the workers that merely stopped are told by message.
    const real = rejected.find((r) => !String(r.reason?.message ?? r.reason).includes(ABORTED_MESSAGE)) ?? rejected[0];
    // A reason that is not an Error is shown whole: String() of an object says only
    // "[object Object]", which names neither the failure nor the worker.
    const r = real.reason as { stack?: unknown; message?: unknown } | null | undefined;
    const reason = typeof r?.stack === 'string' ? r.stack : typeof r?.message === 'string' ? r.message : inspect(r, { depth: 4 });
    throw new RunFailure(reason);
  }
  return settled.map((r) => (r as PromiseFulfilledResult<WorkerOutcome>).value);
}

/**
 * After the rounds: the heap's own check and the leak check (every block was freed). Blocks
 * a killed worker got from malloc but never recorded (mleak) stay in use, counted; of the
 * mallocs killed mid slow path, the in-use count says how many returned.
 */
function checkAfterRun(heap: HeapInstance, s: RunSetup, churn: ChurnCounts | undefined): void {
  if (s.check) {
    try {
      heap.check();
    } catch (err) {
      throw new RunFailure(`heap check failed after the run: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!(heap.cheapCleanup && !s.fullCleanup)) {
    const lost = churn?.lostOnKill ?? 0;
    const doubt = churn?.mallocsInDoubt ?? 0;
    const live = heap.liveObjects();
    if (live < lost || live > lost + doubt) {
      throw new RunFailure(`${live} objects still in use after every block was freed (${lost} counted lost-on-kill, ${doubt} in doubt; leak or lost free)`);
    }
    if (churn) churn.lostOnKill = live;
  }
}

async function runOne(poolRef: { pool: Piscina; make: () => Piscina }, s: RunSetup): Promise<RunRecord> {
  const { spec, def, params, workers } = s;
  const rounds = Math.max(1, def.rounds(params));
  const heap = createHeap(spec, {
    liveBytes: def.liveBytes(params, workers),
    ...(def.maxBlockBytes ? { maxBlockBytes: def.maxBlockBytes(params) } : {}),
    workers: def.attachedThreads?.(workers) ?? workers,
    preallocate: s.preallocate,
  });
  const host = new HostSampler();
  try {
    const data = new SharedArrayBuffer(Math.max(16, def.dataWords(params, workers) * 4));
    def.initData?.(new Int32Array(data), params, workers);
    const tally = new RunTally();
    const t0 = performance.now();
    for (let round = 0; round < rounds; round++) {
      const ctlSab = createControl();
      const ctl = controlViews(ctlSab);
      const sampler = new Sampler(heap, ctl);
      const tasks = startRound(poolRef, s, heap, data, ctlSab, round, rounds);
      let outs: WorkerOutcome[];
      try {
        outs = await awaitRound(poolRef, s, ctl, tasks, round);
      } finally {
        sampler.stop();
      }
      if (!((ctl.f64[CTL_F64.endAbs] - ctl.f64[CTL_F64.startAbs]) > 0)) throw new RunFailure(`round ${round}: no timed window recorded`);
      tally.addRound(outs, sampler, ctl);
    }
    // An exact peak replaces the samples (which can only miss peaks, or catch a refill in flight).
    if (tally.exactPeakLive >= 0) tally.peakLive = tally.exactPeakLive;
    const t1 = performance.now();
    checkAfterRun(heap, s, tally.churn);
    const t2 = performance.now();
    disposeChecked(heap);
    const resources = host.stop();
    const t = tally;
    return runRecordOf(
      { spec, def, workers, rep: s.rep },
      { seconds: t.seconds, ops: t.ops, mallocs: t.mallocs, frees: t.frees, units: t.units, peakCommitted: t.peakCommitted, peakLive: t.peakLive, metadata: t.metadata, atPeak: t.atPeak, locks: t.locks, threadCacheHits: t.tcHits, threadCacheMisses: t.tcMisses },
      { ...t.cores(), load1: os.loadavg()[0] ?? null, overheadMs: Math.max(0, t1 - t0 - t.seconds * 1000), checkMs: t2 - t1 },
      { resources, ...(t.latency ? { latency: summarize(t.latency) } : {}), ...(t.churn ? { churn: t.churn } : {}) },
    );
  } catch (err) {
    host.stop();
    try {
      heap.dispose();
    } catch {
      // the run's own failure is the one to report
    }
    throw err;
  }
}

function disposeChecked(heap: HeapInstance): void {
  try {
    heap.dispose();
  } catch (err) {
    throw new RunFailure(`releasing the heap after the run (main thread detach) failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

interface Resolved {
  workers: number[];
  workloads: WorkloadDef[];
  allocators: string[];
  durationMs: number;
  reps: number;
  quick: boolean;
  scale: 'default' | 'quick' | 'small';
  seed: number;
  params: Record<string, WorkloadParams>;
  check: boolean;
  fullCleanup: boolean;
  preallocate: boolean;
  touch: TouchMode;
  latencyEvery: number;
  warmup: boolean;
  failFast: boolean;
  /** worker counts given by the caller (then every workload runs at all of them, up to its maxWorkers) */
  workersGiven: boolean;
}

/** The worker counts a workload runs at: its defaultWorkers unless counts were given, never above maxWorkers. */
export function countsOf(def: WorkloadDef, workers: readonly number[], given: boolean): number[] {
  return workers.filter((n) => (def.maxWorkers === undefined || n <= def.maxWorkers) && (given || !def.defaultWorkers || def.defaultWorkers.includes(n)));
}

export function resolveOptions(o: ContentionOptions & { failFast?: boolean }): Resolved {
  const quick = Boolean(o.quick);
  const workers = [...new Set(o.workers ?? (quick ? QUICK_WORKERS : DEFAULT_WORKERS))].sort((a, b) => a - b);
  for (const n of workers) if (!Number.isInteger(n) || n < 1 || n > 128) throw new RangeError(`worker count ${n} outside 1..128`);
  const workloads = (o.workloads ?? WORKLOAD_NAMES).map(workloadByName);
  const allocators = expandAllocatorIds(o.allocators ?? (quick ? QUICK_ALLOCATORS : DEFAULT_ALLOCATORS));
  const scale = o.scale ?? (quick ? 'quick' : 'default');
  const durationMs = o.durationMs ?? (quick ? QUICK_DURATION_MS : DEFAULT_DURATION_MS);
  if (!(durationMs > 0)) throw new RangeError(`duration ${durationMs} ms must be > 0`);
  const reps = o.reps ?? (quick ? QUICK_REPS : DEFAULT_REPS);
  if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`reps ${reps} must be a positive integer`);
  const params: Record<string, WorkloadParams> = {};
  for (const def of workloads) params[def.name] = resolveParams(def, scale, o.params?.[def.name]);
  return {
    workers,
    workloads,
    allocators,
    durationMs,
    reps,
    quick,
    scale,
    seed: o.seed ?? 1,
    params,
    check: o.check ?? true,
    fullCleanup: o.fullCleanup ?? false,
    preallocate: o.preallocate ?? false,
    touch: o.touch ?? 'sparse',
    latencyEvery: o.latencyEvery ?? 64,
    warmup: o.warmup ?? true,
    failFast: o.failFast ?? false,
    workersGiven: o.workers !== undefined,
  };
}

/** The suite's results: figures and targets computed from the runs, with the run's metadata. */
function assembleResults(
  r: ReturnType<typeof resolveOptions>,
  got: { runs: RunRecord[]; failures: ContentionFailure[]; kvmapNative: (NativeKvResult & { rep: number })[]; started: number; loadStart: number[]; poolRecycles?: number },
): SuiteResults {
  const { runs, failures, kvmapNative, started, loadStart, poolRecycles = 0 } = got;
  const allocatorLabels: Record<string, string> = {};
  for (const id of r.allocators) allocatorLabels[id] = allocatorSpec(id).label;
  const metrics: ContentionResults['meta']['metrics'] = {};
  for (const def of r.workloads) {
    metrics[def.name] = { name: def.metric.name, unit: def.metric.unit, higherIsBetter: def.metric.higherIsBetter, description: def.description };
  }
  const figures = computeFigures(runs, r.allocators, os.cpus().length);
  const targets = evaluateTargets(figures, { workers: r.workers, workloads: r.workloads.map((w) => w.name), allocators: r.allocators });
  const cpus = os.cpus();
  return {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      totalMemoryBytes: os.totalmem(),
      loadAverageStart: loadStart,
      loadAverageEnd: os.loadavg(),
      wallSeconds: (Date.now() - started) / 1000,
      poolRecycles,
      options: {
        workers: r.workers,
        workloads: r.workloads.map((w) => w.name),
        allocators: r.allocators,
        durationMs: r.durationMs,
        reps: r.reps,
        quick: r.quick,
        scale: r.scale,
        seed: r.seed,
        preallocate: r.preallocate,
        touch: r.touch,
        params: r.params,
      },
      allocatorLabels,
      metrics,
    },
    runs,
    figures,
    targets,
    failures,
    ...(kvmapNative.length ? { kvmapNative } : {}),
  };
}

/**
 * Resident bytes past which the suite closes its worker pools between workloads: a quarter
 * of the machine's memory, at most 4 GiB (SABMALLOC_POOL_BUDGET_MIB overrides it).
 */
export function poolMemoryBudget(env: NodeJS.ProcessEnv = process.env): number {
  const mib = Number(env.SABMALLOC_POOL_BUDGET_MIB);
  if (Number.isFinite(mib) && mib > 0) return mib * 2 ** 20;
  return Math.min(os.totalmem() / 4, 4 * 2 ** 30);
}

/**
 * Runs the whole matrix and returns every figure: raw runs, aggregated figures and the
 * target evaluation. Rejects only on bad options or (with failFast) a failed run.
 */
export async function runContentionSuite(options: ContentionOptions & { failFast?: boolean; onePool?: boolean } = {}): Promise<SuiteResults> {
  const r = resolveOptions(options);
  const bar = options.progress === false ? null : typeof options.progress === 'function' ? null : options.progress === true || process.stderr.isTTY ? new ProgressBar() : null;
  const onProgress = typeof options.progress === 'function' ? options.progress : (e: ProgressEvent) => bar?.update(e);
  const note = (msg: string): void => {
    if (bar) bar.note(msg);
    else if (options.progress !== false) process.stderr.write(`${msg}\n`);
  };
  // A real peer that cannot run here (not built, not installed) is skipped with one line.
  const peers = availablePeers(r.allocators);
  if (peers.line) process.stderr.write(`${peers.line}\n`);
  r.allocators = peers.runnable;
  const filename = workerUrl('contention').href;
  const maxWorkers = Math.max(...r.workers);
  const started = Date.now();
  const loadStart = os.loadavg();
  const runs: RunRecord[] = [];
  const failures: ContentionFailure[] = [];
  const kvmapNative: (NativeKvResult & { rep: number })[] = [];
  const total = r.allocators.length * r.workloads.reduce((n, def) => n + countsOf(def, r.workers, r.workersGiven).length * r.reps + (r.warmup ? 1 : 0), 0);
  let done = 0;

  // One pool per allocator, all alive for the whole suite, so the allocators can take
  // turns at every (workload, worker count, repetition): load from other processes then
  // falls on all of them alike instead of on whichever allocator ran while it lasted.
  const make = (): Piscina =>
    new Piscina({ filename, minThreads: maxWorkers, maxThreads: maxWorkers, idleTimeout: 3_600_000, maxQueue: 'auto', concurrentTasksPerWorker: 1 });
  const pools = new Map<string, { pool: Piscina; make: () => Piscina }>();
  const poolOf = (id: string): { pool: Piscina; make: () => Piscina } => {
    const key = options.onePool ? '' : id;
    let p = pools.get(key);
    if (!p) pools.set(key, (p = { pool: make(), make }));
    return p;
  };
  // Every pool thread keeps its isolate (modules, compiled code, feedback) for the whole
  // suite: tens of MiB each, times maxWorkers, times the allocators. Past the budget the
  // pools are closed between workloads and the next workload starts fresh threads.
  const recycleBudget = poolMemoryBudget();
  let poolRecycles = 0;
  const recyclePools = async (): Promise<void> => {
    if (pools.size === 0 || process.memoryUsage.rss() <= recycleBudget) return;
    await Promise.all([...pools.values()].map((p) => p.pool.destroy().catch(() => undefined)));
    pools.clear();
    poolRecycles++;
  };
  const attempt = async (id: string, def: WorkloadDef, workers: number, rep: number, run: () => Promise<RunRecord>): Promise<void> => {
    try {
      const rec = await run();
      if (rep >= 0) runs.push(rec);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      failures.push({ allocator: id, workload: def.name, workers, rep, error: rep < 0 ? `warm-up: ${msg}` : msg });
      note(`\n!!! FAILED ${rep < 0 ? 'warm-up ' : ''}${def.name} / ${id} / ${workers} workers${rep < 0 ? '' : ` / rep ${rep + 1}`}:\n${msg}\n`);
      if (r.failFast) throw err;
    }
    done++;
  };
  try {
    for (const def of r.workloads) {
      await recyclePools();
      const params = r.params[def.name];
      const base = (id: string) => ({ spec: allocatorSpec(id), def, check: r.check, fullCleanup: r.fullCleanup, preallocate: r.preallocate, touch: r.touch, latencyEvery: r.latencyEvery });
      if (r.warmup) {
        for (const id of r.allocators) {
          onProgress({ done, total, allocator: id, workload: def.name, workers: Math.max(1, ...countsOf(def, r.workers, r.workersGiven)), rep: 0, reps: r.reps, elapsedMs: Date.now() - started, warmup: true });
          await attempt(id, def, Math.max(1, ...countsOf(def, r.workers, r.workersGiven)), -1, () =>
            runOne(poolOf(id), {
              ...base(id),
              params: resolveParams(def, 'small', options.params?.[def.name]),
              workers: Math.max(1, ...countsOf(def, r.workers, r.workersGiven)),
              rep: -1,
              durationMs: Math.min(100, r.durationMs),
              seed: r.seed + 999,
            }),
          );
        }
      }
      for (const workers of countsOf(def, r.workers, r.workersGiven)) {
        for (let rep = 0; rep < r.reps; rep++) {
          // rotate the order each repetition so no allocator always runs first or last
          const order = r.allocators.map((_, i) => r.allocators[(i + rep) % r.allocators.length]);
          for (const id of order) {
            onProgress({ done, total, allocator: id, workload: def.name, workers, rep, reps: r.reps, elapsedMs: Date.now() - started, warmup: false });
            await attempt(id, def, workers, rep, () => runOne(poolOf(id), { ...base(id), params, workers, rep, durationMs: r.durationMs, seed: r.seed + rep }));
          }
          if (def.name === 'kvmap') {
            try {
              kvmapNative.push({ ...(await runNativeKvmap({ workers, params, seed: r.seed + rep, durationMs: r.durationMs })), rep });
            } catch (err) {
              failures.push({ allocator: 'postMessage', workload: 'kvmap', workers, rep, error: err instanceof Error ? err.message : String(err) });
              note(`\n!!! FAILED kvmap / postMessage Map / ${workers} workers: ${err instanceof Error ? err.message : String(err)}\n`);
            }
          }
        }
      }
    }
  } finally {
    await Promise.all([...pools.values()].map((p) => p.pool.destroy()));
  }
  onProgress({ done, total, allocator: '', workload: '', workers: 0, rep: 0, reps: r.reps, elapsedMs: Date.now() - started, warmup: false });
  bar?.done();

  return assembleResults(r, { runs, failures, kvmapNative, started, loadStart, poolRecycles });
}

/**
 * Recomputes figures and targets of saved results from their raw runs (so a report can be
 * re-rendered with the current figure and target logic without running again).
 */
export function recomputeResults(r: SuiteResults): SuiteResults {
  const o = r.meta.options;
  const figures = computeFigures(r.runs, o.allocators, r.meta.cpus);
  const targets = evaluateTargets(figures, { workers: o.workers, workloads: o.workloads, allocators: o.allocators });
  return { ...r, figures, targets };
}

export { WORKLOADS };
