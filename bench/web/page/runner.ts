/**
 * The lab's runs, driven from the page's main thread: contention workloads against a
 * sabmalloc heap, and the lock lab's sweep. The main thread never attaches to a heap and
 * never blocks: it spawns workers (protocol.ts), opens barriers with Atomics.store/notify,
 * polls with timers and reads the shared buffers for the live view.
 *
 * Owns: the workers of the run in progress (terminated when it ends, failed or not).
 *
 * Results are the CLI's records: a heap run yields the RunRecord of
 * bench/contention/suite.ts (the same fields, computed the same way from the same worker
 * outcomes and snapshots; cores used are unknown in a browser, null); a lock point yields
 * the LockBenchPoint of bench/locks/sweep.ts. A run fails loudly (verification, check(), a leak,
 * a lock that broke mutual exclusion) instead of posting a number.
 */
import { LOCK_STAT_SLOTS, LockStat, initLockBlock, summarizeLockStats, type LockKind, type LockStatsSummary } from '../../../src/locks/index.js';
import type { HeapStats } from '../../../src/index.js';
import type { AllocatorSnapshot, MemorySample } from '../../contention/adapters/types.js';
import { allocatorSpec } from '../../contention/allocators.js';
import { ABORTED_MESSAGE, CTL_F64, CTL_I32, PHASE_DONE, PHASE_RUNNING, PHASE_SETUP, abortRun, controlViews, createControl, nowAbs } from '../../kit/control.js';
import type { TouchMode, WorkerOutcome, WorkerTask } from '../../contention/workloads/common.js';
import { workloadByName, type WorkloadDef, type WorkloadParams } from '../../contention/workloads/index.js';
import { runRecordOf, subtractLocks } from '../../contention/record.js';
import type { RunRecord } from '../../contention/types.js';
import { lockPointOf, validateHammerRun, type LockBenchPoint } from '../../locks/point.js';
import { timerResolution } from '../../kit/histogram.js';
import { CTRL, LOCK_WORD, STALL_MS, hammerWords, nodeWordOf, statsBaseOf, timingSlots, windowMayClose, type HammerResult } from '../../locks/hammer.js';
import { COUNT_STRIDE, type FromWorker, type ToWorker } from './protocol.js';

export interface HeapRunConfig {
  workload: string;
  workers: number;
  durationMs: number;
  scale: 'default' | 'quick' | 'small';
  central: LockKind;
  pageHeap: LockKind;
  threadCache: boolean;
  globalLock: boolean;
  preallocate: boolean;
  touch: TouchMode;
  seed: number;
}

export interface LockPointConfig {
  /** a built-in kind, or the name of a lock module loaded from a file (lockModule: its URL) */
  kind: LockKind;
  lockModule?: string;
  workers: number;
  durationMs: number;
  csWrites: number;
  outsideWork: number;
  /** calibrated critical section and outside work, ns (for the overhead per acquisition) */
  sectionsNs?: { cs: number; outside: number };
}

/** One row of the live lock table: a heap tier, or the lock under test in a sweep. */
export interface LockRow extends Omit<LockStatsSummary, 'latencyBuckets'> {
  tier: string;
  kind: string;
  /** contended-wait log2 buckets where the source kept them */
  latencyBuckets?: number[];
}

/** What the page shows while a run goes on. */
export interface LiveSink {
  /** a new measured point starts; `roles` names each thread id of the run */
  begin(title: string, workers: number, roles: ReadonlyMap<number, string>): void;
  /** throughput (operations/s) of each worker and in total over the last interval */
  throughput(tSeconds: number, perWorker: readonly number[]): void;
  locks(rows: readonly LockRow[], caption: string): void;
  /** the heap buffer to draw; `final` once every runner has detached */
  heap(buffer: SharedArrayBuffer, final: boolean): void;
  /** a lock sweep's lock under test, to sample its queue live (parties: the hammers' owner ids and queue nodes) */
  sweepLock?(target: { kind: LockKind; i32: Int32Array; word: number; parties: { ownerId: number; nodeWord: number }[] } | null): void;
  status(text: string): void;
}

export interface CheckOutcome {
  ok: boolean;
  error?: string;
  checkMs: number;
  inUseObjects: number;
  stats: HeapStats;
}

const SAMPLE_MS = 100;
const TICK_MS = 20;

let nextThreadId = 1; // the page's main thread is thread 0

/** A fresh thread id for a worker of the page (ids are never reused within a page). */
export function newThreadId(): number {
  return nextThreadId++;
}

/** A worker running the lab's bundle; one reply per request, in order. */
export class LabWorker {
  private readonly worker: Worker;
  private readonly pending: { expect: FromWorker['type']; resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  private failed: Error | undefined;

  constructor(url: string) {
    this.worker = new Worker(url, { type: 'module', name: 'sabmalloc-lab' });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const p = this.pending.shift();
      if (!p) return;
      const m = e.data;
      if (m.type === 'error') p.reject(new Error(m.code ? `${m.code}: ${m.message}` : m.message));
      else if (m.type !== p.expect) p.reject(new Error(`worker replied ${m.type}, expected ${p.expect}`));
      else p.resolve(m);
    };
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.fail(new Error(`worker failed: ${e.message || 'script error'}`));
    };
  }

  private fail(err: Error): void {
    this.failed = err;
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  request<T extends FromWorker['type']>(msg: ToWorker, expect: T): Promise<Extract<FromWorker, { type: T }>> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.push({ expect, resolve: resolve as (m: FromWorker) => void, reject });
      this.worker.postMessage(msg);
    });
  }

  terminate(): void {
    this.worker.terminate();
    this.fail(new Error('worker terminated'));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const alarm = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, alarm]).finally(() => clearTimeout(timer));
}

/**
 * The CLI's allocator id for the page's options (bench/contention/allocators.ts): the lock
 * kinds apply to the thread-cached heap only, as in the CLI's catalogue.
 */
function allocatorIdOf(c: Pick<HeapRunConfig, 'central' | 'pageHeap' | 'threadCache' | 'globalLock'>): string {
  if (c.globalLock) return 'global-lock';
  if (!c.threadCache) return 'sabmalloc-notc';
  return c.central === 'ttas' && c.pageHeap === 'futex' ? 'sabmalloc' : `sabmalloc-${c.central}-${c.pageHeap}`;
}

export function paramsOf(def: WorkloadDef, scale: HeapRunConfig['scale']): WorkloadParams {
  const extra = scale === 'quick' ? def.quick : scale === 'small' ? def.small : {};
  return { ...def.defaults, ...extra };
}

function lockRowsOf(stats: HeapStats): LockRow[] {
  const rows: LockRow[] = [];
  for (const [tier, l] of Object.entries(stats.locks)) if (l.kind !== 'none') rows.push({ tier, ...l });
  return rows;
}

/** Per-worker rates from cumulative counters (slot k at k * stride). */
class RateMeter {
  private last: Float64Array;
  private lastT: number;
  constructor(
    private readonly read: (worker: number) => number,
    private readonly workers: number,
  ) {
    this.last = new Float64Array(workers);
    for (let w = 0; w < workers; w++) this.last[w] = read(w);
    this.lastT = performance.now();
  }
  sample(): number[] {
    const t = performance.now();
    const dt = (t - this.lastT) / 1000;
    const rates: number[] = [];
    for (let w = 0; w < this.workers; w++) {
      const v = this.read(w);
      rates.push(dt > 0 ? (v - this.last[w]!) / dt : 0);
      this.last[w] = v;
    }
    this.lastT = t;
    return rates;
  }
}

export interface HeapRunResult {
  record: RunRecord;
  check: CheckOutcome;
}

/**
 * The live view of a heap run, one call per TICK_MS on the page's main thread: raises STOP
 * at the deadline; every SAMPLE_MS, throughput per worker (timed window only), the heap
 * (from set-up on, until the window ends) and the lock figures (asked of the monitor).
 */
function liveTicker(o: {
  ctl: ReturnType<typeof controlViews>;
  sink: LiveSink;
  buffer: SharedArrayBuffer;
  monitor: LabWorker;
  noteMemory: (m: MemorySample) => void;
  meter: RateMeter;
}): () => void {
  const { ctl, sink, buffer, monitor } = o;
  let statsInFlight = false;
  let lastSample = performance.now();
  let sampledWindow = false;
  return () => {
    const phase = Atomics.load(ctl.i32, CTL_I32.phase);
    if (phase === PHASE_RUNNING && nowAbs() >= ctl.f64[CTL_F64.deadlineAbs]!) Atomics.store(ctl.i32, CTL_I32.stop, 1);
    const now = performance.now();
    // A main thread starved through the whole window (a loaded machine) still takes one
    // live sample right after it, before the workers' clean-up empties the heap.
    const missedWindow = phase === PHASE_DONE && !sampledWindow;
    if (now - lastSample < SAMPLE_MS && !missedWindow) return;
    lastSample = now;
    const rates = o.meter.sample();
    if (phase === PHASE_RUNNING) sink.throughput((nowAbs() - ctl.f64[CTL_F64.startAbs]!) / 1000, rates);
    // The heap from set-up on (the heap fills there: carves and growth), until the window ends.
    if (phase !== PHASE_DONE || missedWindow) sink.heap(buffer, false);
    if (phase !== PHASE_SETUP) sampledWindow = true;
    if (statsInFlight) return;
    statsInFlight = true;
    monitor.request({ type: 'stats' }, 'stats').then(
      (m) => {
        statsInFlight = false;
        o.noteMemory(m.memory);
        sink.locks(lockRowsOf(m.stats), 'live, cumulative since the heap was created');
      },
      () => {
        statsInFlight = false;
      },
    );
  };
}

/** The workers' outcomes summed, their memory peaks noted, the snapshots around the window. */
function sumOutcomes(outs: readonly WorkerOutcome[], noteMemory: (m: MemorySample) => void) {
  let ops = 0;
  let mallocs = 0;
  let frees = 0;
  let units = 0;
  let startSnap: AllocatorSnapshot | undefined;
  let endSnap: AllocatorSnapshot | undefined;
  for (const o of outs) {
    ops += o.ops;
    mallocs += o.mallocs;
    frees += o.frees;
    units += o.units;
    noteMemory({ committed: o.peakCommitted, live: o.peakLive, metadata: o.metadata });
    if (o.startSnapshot) startSnap = o.startSnapshot;
    if (o.endSnapshot) endSnap = o.endSnapshot;
  }
  return { ops, mallocs, frees, units, startSnap, endSnap };
}

function checkOutcomeOf(m: Extract<FromWorker, { type: 'checked' }>): CheckOutcome {
  return { ok: m.ok, ...(m.error ? { error: m.error } : {}), checkMs: m.checkMs, inUseObjects: m.stats.inUseObjects, stats: m.stats };
}

/** One contention run (one workload, one worker count) with its live view. */
export async function runHeapPoint(url: string, cfg: HeapRunConfig, sink: LiveSink): Promise<HeapRunResult> {
  const def = workloadByName(cfg.workload);
  if (def.rounds(def.defaults) !== 1) throw new Error(`${def.name} runs in rounds of fresh workers; the web lab runs single-round workloads`);
  const params = paramsOf(def, cfg.scale);
  const spec = allocatorSpec(allocatorIdOf(cfg));
  const workers = cfg.workers;
  const all: LabWorker[] = [];
  const spawn = (): LabWorker => {
    const w = new LabWorker(url);
    all.push(w);
    return w;
  };
  try {
    sink.status(`${def.name} · ${spec.id} · ${workers} workers: creating the heap`);
    const monitor = spawn();
    const monitorId = nextThreadId++;
    const runnerIds = Array.from({ length: workers }, () => nextThreadId++);
    const roles = new Map<number, string>([[monitorId, 'monitor'], ...runnerIds.map((id, w): [number, string] => [id, `worker ${w}`])]);
    const created = await withTimeout(
      monitor.request(
        { type: 'create', threadId: monitorId, spec, sizing: { liveBytes: def.liveBytes(params, workers), ...(def.maxBlockBytes ? { maxBlockBytes: def.maxBlockBytes(params) } : {}), workers, preallocate: cfg.preallocate } },
        'created',
      ),
      60_000,
      'heap creation',
    );
    const buffer = created.buffer;
    const data = new SharedArrayBuffer(Math.max(16, def.dataWords(params, workers) * 4));
    def.initData?.(new Int32Array(data), params, workers);
    const ctlSab = createControl();
    const ctl = controlViews(ctlSab);
    const counts = new Float64Array(new SharedArrayBuffer(workers * COUNT_STRIDE * 8));
    sink.begin(`${def.name} · ${spec.id} · ${workers} workers`, workers, roles);
    sink.heap(buffer, false);
    const t0 = performance.now();
    const runs: Promise<WorkerOutcome>[] = [];
    for (let w = 0; w < workers; w++) {
      const task: WorkerTask = {
        workload: def.name,
        allocator: spec,
        heap: buffer,
        ctl: ctlSab,
        data,
        worker: w,
        workers,
        params,
        seed: cfg.seed,
        round: 0,
        rounds: 1,
        durationMs: cfg.durationMs,
        skipCleanupFrees: false,
        touch: cfg.touch,
      };
      runs.push(spawn().request({ type: 'run', threadId: runnerIds[w]!, task, counts: counts.buffer as SharedArrayBuffer }, 'done').then((m) => m.outcome));
    }
    sink.status(`${def.name} · ${spec.id} · ${workers} workers: running`);

    // The live view: throughput per worker, lock figures per tier, heap map and caches.
    let peakCommitted = 0;
    let peakLive = 0;
    let metadata = 0;
    const noteMemory = (m: MemorySample): void => {
      peakCommitted = Math.max(peakCommitted, m.committed);
      peakLive = Math.max(peakLive, m.live);
      metadata = Math.max(metadata, m.metadata);
    };
    noteMemory(created.memory);
    const tick = liveTicker({ ctl, sink, buffer, monitor, noteMemory, meter: new RateMeter((w) => counts[w * COUNT_STRIDE]!, workers) });
    const timer = setInterval(tick, TICK_MS);
    let settled: PromiseSettledResult<WorkerOutcome>[];
    try {
      settled = await withTimeout(Promise.allSettled(runs), 120_000 + cfg.durationMs * 4 + workers * 2_000, `${def.name} with ${workers} workers`);
    } catch (e) {
      abortRun(ctl);
      throw e;
    } finally {
      clearInterval(timer);
    }
    const rejected = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected.length > 0) {
      const real = rejected.find((r) => !String((r.reason as Error)?.message ?? r.reason).includes(ABORTED_MESSAGE)) ?? rejected[0]!;
      throw new Error(`${def.name} with ${workers} workers failed: ${(real.reason as Error)?.message ?? String(real.reason)}`);
    }
    const outs = settled.map((r) => (r as PromiseFulfilledResult<WorkerOutcome>).value);
    const seconds = (ctl.f64[CTL_F64.endAbs]! - ctl.f64[CTL_F64.startAbs]!) / 1000;
    if (!(seconds > 0)) throw new Error('no timed window recorded');
    const { ops, mallocs, frees, units, startSnap, endSnap } = sumOutcomes(outs, noteMemory);
    const locks = endSnap ? subtractLocks(endSnap, startSnap) : {};
    const t1 = performance.now();

    sink.status(`${def.name} · ${workers} workers: check() in a worker`);
    const checked = await withTimeout(monitor.request({ type: 'check' }, 'checked'), 120_000, 'check()');
    const t2 = performance.now();
    const check = checkOutcomeOf(checked);
    sink.heap(buffer, true);
    sink.locks(
      [
        ...lockRowsOf(check.stats).map((r) => ({ ...r, tier: `${r.tier} · run` })),
        ...Object.entries(locks).map(([tier, l]) => ({ tier: `${tier} · window`, ...l })),
      ],
      `${def.name}, ${workers} workers. run: set-up, timed window and clean-up; window: the timed window alone (the exported figures)`,
    );
    if (!check.ok) throw new Error(`heap check failed after the run: ${check.error}`);
    if (check.inUseObjects !== 0) throw new Error(`${check.inUseObjects} objects still in use after every block was freed (leak or lost free)`);
    await withTimeout(monitor.request({ type: 'dispose' }, 'disposed'), 30_000, 'detach');
    const record = runRecordOf(
      { spec, def, workers, rep: 0 },
      {
        seconds, ops, mallocs, frees, units, peakCommitted, peakLive, metadata, locks,
        threadCacheHits: endSnap ? endSnap.threadCacheHits - (startSnap?.threadCacheHits ?? 0) : 0,
        threadCacheMisses: endSnap ? endSnap.threadCacheMisses - (startSnap?.threadCacheMisses ?? 0) : 0,
      },
      // A page cannot see CPU time: cores used are unknown, as where /proc/stat is missing.
      { coresUsed: null, otherCores: null, overheadMs: Math.max(0, t1 - t0 - seconds * 1000), checkMs: t2 - t1 },
    );
    return { record, check };
  } finally {
    for (const w of all) w.terminate();
  }
}

/** One point of the lock sweep: `workers` hammers on one fresh lock for durationMs. */
export async function runLockPoint(url: string, cfg: LockPointConfig, sink: LiveSink): Promise<LockBenchPoint> {
  const { kind, workers } = cfg;
  const sab = new SharedArrayBuffer(hammerWords(workers) * 4);
  const statsSab = new SharedArrayBuffer(workers * LOCK_STAT_SLOTS * 8);
  const i32 = new Int32Array(sab);
  const stats = new Float64Array(statsSab);
  const timingSab = new SharedArrayBuffer(timingSlots(workers) * 8);
  const timing = new Float64Array(timingSab, 0, timingSlots(workers));
  timing[0] = performance.timeOrigin; // the shared epoch of the hand-over stamps (bench/locks/hammer.ts)
  initLockBlock(i32, LOCK_WORD);
  const hammers: LabWorker[] = [];
  try {
    const runs: Promise<HammerResult>[] = [];
    for (let id = 1; id <= workers; id++) {
      const w = new LabWorker(url);
      hammers.push(w);
      const task = { sab, statsSab, timingSab, kind, ownerId: id, iterations: 0, csWrites: cfg.csWrites, outsideWork: cfg.outsideWork, useTryLock: false, ...(cfg.lockModule ? { lockModule: cfg.lockModule } : {}) };
      runs.push(w.request({ type: 'hammer', threadId: nextThreadId++, task }, 'hammered').then((m) => m.result));
    }
    const failed = Promise.all(runs).then(() => undefined);
    failed.catch(() => undefined);
    const deadline = performance.now() + 60_000;
    while (Atomics.load(i32, CTRL.ready) < workers) {
      if (performance.now() > deadline) throw new Error(`lock sweep: only ${Atomics.load(i32, CTRL.ready)}/${workers} workers reached the barrier`);
      await Promise.race([sleep(2), failed]);
    }
    const bases = Array.from({ length: workers }, (_, k) => statsBaseOf(k + 1));
    sink.begin(`lock sweep · ${kind} · ${workers} workers`, workers, new Map());
    sink.sweepLock?.({ kind, i32, word: LOCK_WORD, parties: bases.map((_, k) => ({ ownerId: k + 1, nodeWord: nodeWordOf(k + 1) })) });
    sink.status(`lock sweep: ${kind} with ${workers} workers`);
    const meter = new RateMeter((w) => stats[bases[w]! + LockStat.acquisitions]!, workers);
    const t0 = performance.now();
    Atomics.store(i32, CTRL.go, 1);
    Atomics.notify(i32, CTRL.go);
    const show = (): void => {
      sink.throughput((performance.now() - t0) / 1000, meter.sample());
      sink.locks([{ tier: 'lock under test', kind, ...summarizeLockStats(stats, bases) }], `live: ${kind}, ${workers} workers`);
    };
    // the lock lab's rule (windowMayClose): the window closes once its time is up and the
    // lock has been acquired; no acquisition STALL_MS past it is a wedged lock
    while (!windowMayClose(i32, performance.now() - t0, cfg.durationMs)) {
      if (performance.now() - t0 > cfg.durationMs + STALL_MS) throw new Error(`lock ${kind} with ${workers} workers: no acquisition in ${(cfg.durationMs + STALL_MS) / 1000} s`);
      const left = cfg.durationMs - (performance.now() - t0);
      await Promise.race([sleep(left > 0 ? Math.min(SAMPLE_MS, left) : 2), failed]);
      if (left > 0) show();
    }
    Atomics.store(i32, CTRL.stop, 1);
    const results = await withTimeout(Promise.all(runs), 30_000, `lock ${kind} with ${workers} workers after STOP`);
    sink.sweepLock?.(null);
    validateHammerRun(kind, workers, i32, results);
    const point = lockPointOf({ kind, workers, csWrites: cfg.csWrites, outsideWork: cfg.outsideWork }, results, stats, timerResolution().resolutionNs, timing, cfg.sectionsNs);
    return { ...point, throughputReps: [point.throughput] };
  } finally {
    for (const w of hammers) w.terminate();
  }
}
