/**
 * `sabmalloc stress`: many workers hammering one heap, every block verified, and a strict
 * audit of the heap at the end of every round.
 *
 * A round:
 *  1. the main thread mallocs a CONTROL block (bench/stress/shared.ts: control words,
 *     per-worker counters, the HAND-OFF array and one LOCAL table per worker);
 *  2. WORK: a fresh piscina pool of `workers` threads; each runs `stress` (seeded from
 *     seed + round + index): malloc / free / realloc / hand-off, verifying every block's
 *     pattern before it is freed or reallocated, and leaves its live blocks in its table;
 *  3. AUDIT (main thread, workers idle): every block named by a table or the hand-off array
 *     must be allocated (else LOST), appear once (else DUPLICATE), not overlap another
 *     (else OVERLAP), carry its pattern (else CORRUPT); the heap's own count of objects in
 *     use must equal the blocks we hold (else LEAK: the heap holds blocks nobody has);
 *     check() must pass while they are live;
 *  4. DRAIN: the same threads free every block, each another worker's (remote frees);
 *  5. the main thread frees the control block, trims, and requires: every worker detached,
 *     check() passes, nothing in use, pageHeapFreeBytes === heapBytes, and the free pages
 *     coalesced into one span.
 * A soak repeats rounds (on the same heap, with fresh workers) until its time is up.
 * Every failure names the block's pointer, size class, who allocated it and who found it.
 *
 * RACING-MISUSE mode (`misuse: true`, runMisuse): instead of correct use, workers misuse
 * the heap on purpose and at the same moment (bench/stress/race.ts): groups of 2..8
 * workers free the same block at once, or race a free against a realloc of it, while a
 * watchdog thread runs check({ quiescent: false }) without pause. It counts the expected
 * typed errors and requires zero undetected races, zero corruption, zero hangs and, at the
 * end, the same clean heap as a normal run.
 */
import { Piscina } from 'piscina';
import { SharedHeap } from '../../src/index.js';
import { POOL_EXEC_ARGV } from '../../src/pool/heappool.js';
import { CW, controlLayout, controlViews, maxSizeOf, statsBase, WS, type ControlLayout, type ControlViews } from './shared.js';
import { deriveSeed, rng32, unit } from '../kit/prng.js';
import type { ControlRef, DrainTask, StressFailure, StressTask, WorkCounts } from './types.js';
import { RACE_SIZES, type RaceSize } from './race.js';
import { workerUrl } from '../kit/worker-url.js';
import { resolveStressOptions, type ResolvedStressOptions, type StressOptions, type StressProgress, type StressSummary } from './options.js';
import { account, emptySummary, finalState, settle } from './phases.js';
import { audit, inFlightBlocks } from './audit.js';
import { runMisuse } from './misuse.js';

export { resolveStressOptions, type MisuseSummary, type ResolvedStressOptions, type StressOptions, type StressProgress, type StressSummary } from './options.js';
export { formatFailure, formatProgress, formatSummary } from './format.js';
export { audit, freeHeld, heldTokens, inFlightBlocks } from './audit.js';
export type { StressFailure } from './types.js';
export { RACE_SIZES, type RaceSize } from './race.js';

/** What every round of a normal run shares. */
interface StressRun {
  readonly heap: SharedHeap;
  readonly o: ResolvedStressOptions;
  readonly options: StressOptions;
  readonly summary: StressSummary;
  readonly threads: Set<number>;
  readonly layout: ControlLayout;
  /** usable bytes each worker may keep in its table */
  readonly liveBudget: number;
  readonly phaseTimeout: number;
  readonly started: number;
  readonly url: URL;
}

/** How a round ended: go on, stop with what was found, or stop with threads killed mid-operation. */
type RoundEnd = 'next' | 'stop' | 'unhealthy';

export async function runStress(options: StressOptions = {}): Promise<StressSummary> {
  const o = resolveStressOptions(options);
  const url = workerUrl('stress');
  const started = Date.now();
  const heap = SharedHeap.create({
    size: o.heapSize,
    maxSize: o.maxHeapSize,
    locks: o.locks,
    maxThreads: Math.max(128, o.workers + 8),
    debug: o.debug,
  });
  const summary = emptySummary(o, heap);
  if (o.preallocate && o.maxHeapSize > o.heapSize) {
    const big = heap.malloc(o.maxHeapSize - o.heapSize);
    heap.free(big);
  }
  if (o.misuse) return runMisuse(heap, o, options, summary, started, url);
  const heapBytes = heap.stats().heapBytes;
  const run: StressRun = {
    heap,
    o,
    options,
    summary,
    threads: new Set<number>(),
    layout: controlLayout(o.workers, o.handoffSlots, o.localCap),
    // Each worker keeps at most its share of half the heap (the hand-off array holds more).
    liveBudget: Math.max(maxSizeOf(o.sizes), Math.floor((heapBytes * 0.4) / o.workers)),
    phaseTimeout: options.phaseTimeoutMs ?? 120_000 + o.durationSec * 1000,
    started,
    url,
  };
  let healthy = true; // false once a hang leaves threads killed mid-operation
  for (let round = 0; ; round++) {
    if (o.soakMinutes > 0 ? Date.now() - started >= o.soakMinutes * 60_000 && round > 0 : round >= o.rounds) break;
    const end = await runRound(run, round);
    if (end === 'unhealthy') healthy = false;
    if (end !== 'next') break;
  }
  return finishSummary(run, healthy);
}

function finishSummary({ heap, summary, threads, started }: StressRun, healthy: boolean): StressSummary {
  summary.elapsedMs = Date.now() - started;
  summary.opsPerSec = summary.workMs > 0 ? summary.ops / (summary.workMs / 1000) : 0;
  summary.threadsUsed = threads.size;
  if (healthy) {
    const s = heap.stats();
    summary.locks = s.locks;
    summary.growCount = s.growCount;
    summary.heapBytes = s.heapBytes;
    summary.maxHeapBytes = s.maxHeapBytes;
  }
  summary.ok = summary.failures.length === 0 && summary.rounds > 0;
  if (healthy) heap.detach();
  return summary;
}

/** The progress figures of a round, read from the workers' counters; keeps the summary's peaks. */
class RoundProgress {
  phase: StressProgress['phase'] = 'start';
  workStart = Date.now();
  opsBefore: number;
  /** workers the killer terminated in this round's WORK phase */
  killed = 0;

  constructor(
    readonly run: StressRun,
    readonly round: number,
    readonly cv: ControlViews,
  ) {
    this.opsBefore = run.summary.ops;
  }

  sample(): StressProgress {
    const { o, summary, heap, layout, started } = this.run;
    let ops = 0;
    let live = 0;
    let done = 0;
    for (let w = 0; w < o.workers; w++) {
      const b = statsBase(w);
      ops += this.cv.f64[b + WS.OPS]!;
      live += this.cv.f64[b + WS.LIVE_BYTES]!;
      done += this.cv.f64[b + WS.DONE]!;
    }
    if (this.phase === 'work') summary.peakLiveBytes = Math.max(summary.peakLiveBytes, live + layout.bytes);
    // What the heap made resident (touched pages + metadata), not the buffer: it reserves maxSize.
    const committed = heap.stats().committedBytes;
    summary.peakCommittedBytes = Math.max(summary.peakCommittedBytes, committed);
    const workMs = this.phase === 'work' ? Date.now() - this.workStart : 0;
    return {
      round: this.round,
      phase: this.phase,
      elapsedMs: Date.now() - started,
      ops: this.opsBefore + ops,
      opsPerSec: workMs > 0 ? ops / (workMs / 1000) : 0,
      liveBytes: live,
      committedBytes: committed,
      workersDone: done,
      workers: o.workers,
    };
  }
}

/** One round: a control block, a fresh pool, then WORK, AUDIT, DRAIN and CHECK. */
async function runRound(run: StressRun, round: number): Promise<RoundEnd> {
  const { heap, o, options, summary, layout } = run;
  const failures = summary.failures;
  const salt = deriveSeed(o.seed, round, 0xfffff);
  const ctrl = heap.malloc(layout.bytes);
  new Uint8Array(heap.buffer, ctrl, layout.bytes).fill(0);
  const cv = controlViews(heap.buffer, ctrl, layout);
  cv.i32[CW.WORKERS] = o.workers;
  cv.i32[CW.HANDOFF] = o.handoffSlots;
  cv.i32[CW.LOCAL_CAP] = o.localCap;
  const ref: ControlRef = { buffer: heap.buffer, ctrl, workers: o.workers, handoffSlots: o.handoffSlots, localCap: o.localCap, salt };
  const pool = new Piscina({
    filename: run.url.href,
    execArgv: [...POOL_EXEC_ARGV], // see heappool.ts: piscina start-up on Node 20.19+
    minThreads: o.workers,
    maxThreads: o.workers,
    concurrentTasksPerWorker: 1,
    idleTimeout: 600_000,
    maxQueue: 'auto',
  });
  const progress = new RoundProgress(run, round, cv);
  const timer = setInterval(() => options.onProgress?.(progress.sample()), options.progressIntervalMs ?? 1000);
  try {
    if (!(await workPhase(run, round, pool, ref, cv, progress))) return 'unhealthy';
    // AUDIT
    progress.phase = 'audit';
    const a = audit(heap, cv, salt, round, failures, summary.lostToKills + progress.killed);
    summary.lostToKills += Math.max(0, a.untracked - summary.lostToKills);
    summary.peakLiveBlocks = Math.max(summary.peakLiveBlocks, a.blocks);
    summary.peakLiveBytes = Math.max(summary.peakLiveBytes, a.bytes + heap.usableSize(ctrl));
    if (failures.length > 0) return 'stop';
    progress.phase = 'drain';
    if (!(await drainPhase(run, round, pool, ref, cv))) return 'unhealthy';
    if (failures.length > 0) return 'stop';
    // CHECK
    progress.phase = 'check';
    heap.free(ctrl);
    heap.trim();
    summary.final = finalState(heap, failures, `the end of round ${round}`, summary.lostToKills);
    summary.rounds++;
    if (failures.length > 0) return 'stop';
    options.onProgress?.(progress.sample());
    return 'next';
  } catch (e) {
    failures.push({ kind: 'error', seenBy: 'the main thread', detail: `round ${round}: ${(e as Error).stack ?? String(e)}` });
    return 'stop';
  } finally {
    clearInterval(timer);
    await pool.destroy();
  }
}

/** WORK: every worker runs `stress`, some may be killed; false when a worker hung. */
async function workPhase(run: StressRun, round: number, pool: Piscina, ref: ControlRef, cv: ControlViews, progress: RoundProgress): Promise<boolean> {
  const { heap, o, summary } = run;
  progress.phase = 'work';
  progress.workStart = Date.now();
  progress.opsBefore = summary.ops;
  const workStart = progress.workStart;
  const deadline = o.durationSec > 0 ? workStart + o.durationSec * 1000 : 0;
  const tasks: Promise<WorkCounts | null>[] = [];
  const killer = startKiller(pool, heap, cv, o, round, workStart, summary);
  for (let w = 0; w < o.workers; w++) {
    const t: StressTask = {
      ...ref,
      worker: w,
      ops: o.ops,
      deadline,
      seed: deriveSeed(o.seed, round, w),
      sizes: o.sizes,
      remoteFreeRate: o.remoteFreeRate,
      reallocRate: o.reallocRate,
      liveBudget: run.liveBudget,
      untilKilled: killer.doomed.has(w),
    };
    tasks.push(pool.run(t, { name: 'stress' }).catch((e: unknown) => (killer.killed.has(w) ? null : Promise.reject(e))));
  }
  const worked = await settle(tasks, run.phaseTimeout, `round ${round} work phase`, cv, summary.failures);
  const killed = await killer.stop();
  summary.workMs += Date.now() - workStart;
  progress.sample();
  for (const c of worked) account(summary, c, run.threads, summary.failures);
  if (worked.length + killed.size < o.workers) return false;
  progress.killed = killed.size;
  // The killed workers' interrupted operations: blocks still allocated that nobody holds.
  for (const w of killed) {
    summary.ops += cv.f64[statsBase(w) + WS.OPS]!;
    for (const p of inFlightBlocks(heap, cv, w, ref.salt)) {
      heap.free(p);
      summary.inFlightRecovered++;
    }
  }
  return true;
}

/** DRAIN: worker w empties the table of worker w + 1 and a slice of the hand-off array. */
async function drainPhase(run: StressRun, round: number, pool: Piscina, ref: ControlRef, cv: ControlViews): Promise<boolean> {
  const { o, summary } = run;
  for (let w = 0; w < o.workers; w++) cv.f64[statsBase(w) + WS.DONE] = 0;
  const per = Math.ceil(o.handoffSlots / o.workers);
  const drains: Promise<WorkCounts>[] = [];
  for (let w = 0; w < o.workers; w++) {
    const t: DrainTask = {
      ...ref,
      worker: w,
      tables: [(w + 1) % o.workers],
      handoffFrom: Math.min(o.handoffSlots, w * per),
      handoffTo: Math.min(o.handoffSlots, (w + 1) * per),
    };
    drains.push(pool.run(t, { name: 'drain' }));
  }
  const drained = await settle(drains, run.phaseTimeout, `round ${round} drain phase`, cv, summary.failures);
  for (const c of drained) account(summary, c, run.threads, summary.failures, true);
  return drained.length === o.workers;
}

interface Killer {
  /** workers terminated so far (their task's rejection is expected) */
  readonly killed: Set<number>;
  /** workers planned to be killed this round (their tasks run until they are) */
  readonly doomed: ReadonlySet<number>;
  /** stops killing, waits for the recoveries; returns the killed workers */
  stop(): Promise<Set<number>>;
}

/**
 * Kill mode: each worker is, with probability killRate, terminated once it has done a
 * random number of its operations (or at a random moment of the duration). Its task runs
 * on past its operations and the deadline until the kill lands (untilKilled), so a busy
 * main thread that polls late still kills it mid-task, never after it detached. Once it has
 * exited and no other termination is still under way, the main thread calls
 * heap.recover(its threadId). Waiting for the other terminations keeps the recoveries from
 * waiting themselves: a killed thread still being torn down answers the liveness probe, so
 * a recovery needing a lock it died holding would wait, re-probing it at spaced intervals,
 * until its teardown ends; and probes of a thread busy in its operations can use up its
 * waiters, after which it is never shown dead (docs/api.md, recover()).
 */
function startKiller(
  pool: Piscina,
  heap: SharedHeap,
  cv: ControlViews,
  o: ResolvedStressOptions,
  round: number,
  workStart: number,
  summary: StressSummary,
): Killer {
  const killed = new Set<number>();
  if (o.killRate === 0) return { killed, doomed: new Set(), stop: async () => killed };
  const rnd = rng32(deriveSeed(o.seed, round, 0xdead));
  const due = new Map<number, { ops: number; at: number }>();
  for (let w = 0; w < o.workers; w++) {
    if (unit(rnd) >= o.killRate) continue;
    due.set(w, o.ops > 0 ? { ops: rnd() % o.ops, at: 0 } : { ops: 0, at: workStart + unit(rnd) * o.durationSec * 1000 });
  }
  const doomed = new Set(due.keys());
  const recoveries: Promise<void>[] = [];
  let terminating = 0;
  const exited: number[] = [];
  const recoverExited = (): void => {
    if (terminating > 0) return;
    for (const tid of exited.splice(0)) if (heap.recover(tid).slots.length > 0) summary.killsMidTask++;
  };
  const timer = setInterval(() => {
    for (const [w, d] of due) {
      const b = statsBase(w);
      const tid = cv.f64[b + WS.THREAD_ID]!;
      if (cv.f64[b + WS.DONE] === 1 && tid !== 0) {
        due.delete(w); // finished before its moment came
        continue;
      }
      if (tid === 0 || cv.f64[b + WS.OPS]! < d.ops || Date.now() < d.at) continue;
      const worker = pool.threads.find((t) => t.threadId === tid);
      if (worker === undefined) continue;
      due.delete(w);
      killed.add(w);
      summary.kills++;
      terminating++;
      recoveries.push(
        worker.terminate().then(() => {
          terminating--;
          exited.push(tid);
          recoverExited();
        }),
      );
    }
  }, 2);
  return {
    killed,
    doomed,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(recoveries);
      return killed;
    },
  };
}
