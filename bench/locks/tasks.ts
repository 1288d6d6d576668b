/**
 * Running hammer tasks for the lock benchmark: the piscina pool, one point's tasks on a
 * fresh lock block (barrier, window, STOP), the progress watchdog, and the uncontended
 * tinybench costs.
 *
 * Owns: the pool it creates (LockPool: replaced when a wedged lock leaves threads stuck,
 * destroyed by its owner), one SharedArrayBuffer and one float64 stats sink per point.
 *
 * Progress is judged by progress: while tasks run, the shared counter (incremented under
 * the lock by every acquisition) is sampled every PROGRESS_POLL_MS; a run whose counter
 * has not moved for STALL_MS is declared stuck (a lost wake-up or a livelock). A slow
 * lock that keeps moving is never stopped, however long it takes. A stuck run leaves its
 * threads spinning, so the pool is terminated and a fresh one started for what follows.
 *
 * Mutual exclusion is reported, not thrown: RunOutcome.violation says what broke, so a
 * broken lock's run still yields its figures and the sweep goes on.
 */
import { Piscina } from 'piscina';
import { Bench } from 'tinybench';
import { LOCK_STAT_SLOTS, initLockBlock, type LockKind } from '../../src/locks/index.js';
import { workerUrl } from '../kit/worker-url.js';
import { CTRL, LOCK_WORD, STALL_MS, hammerWords, nodeWordOf, timingSlots, windowMayClose, type HammerResult, type HammerTask } from './hammer.js';
import { createBenchLock, lockModuleUrl } from './modules.js';
import { LockValidationError, validateHammerRun } from './point.js';

/** How often the watchdog samples the shared counter. */
export const PROGRESS_POLL_MS = 250;
export { STALL_MS };

/** The run made no progress for STALL_MS: the lock wedged. */
export class LockStalledError extends Error {
  override readonly name = 'LockStalledError';
}

export class LockPool {
  private pool: Piscina<HammerTask, HammerResult>;
  constructor(readonly threads: number) {
    this.pool = LockPool.start(threads);
  }
  private static start(threads: number): Piscina<HammerTask, HammerResult> {
    return new Piscina<HammerTask, HammerResult>({
      filename: workerUrl('locks').href,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: 600_000,
      // Node 20.19+ lets piscina's worker require() our ESM task file; with many threads
      // starting at once that path intermittently dies with ERR_INTERNAL_ASSERTION ("module
      // imported again after being required"). Without require(esm) piscina falls back to
      // import(), which is reliable.
      execArgv: [...process.execArgv, '--no-experimental-require-module'],
    });
  }
  run(task: HammerTask): Promise<HammerResult> {
    return this.pool.run(task);
  }
  /** Terminates every thread (stuck ones included) and starts fresh ones. */
  async restart(): Promise<void> {
    const old = this.pool;
    this.pool = LockPool.start(this.threads);
    await old.destroy().catch(() => undefined);
  }
  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

export interface RunOutcome {
  results: HammerResult[];
  stats: Float64Array;
  /** what broke mutual exclusion, or null */
  violation: string | null;
  /** wall time from GO to the last result, ms */
  wallMs: number;
  /** hand-over and wake-up histograms per worker (hammer.ts timing sink) */
  timing: Float64Array;
}

export type TaskShape = Pick<HammerTask, 'iterations' | 'csWrites' | 'outsideWork' | 'useTryLock' | 'policy' | 'jitter' | 'stutterMs' | 'longHoldEvery' | 'longHoldMs'>;

/**
 * Starts `workers` hammer tasks on one fresh lock, opens the barrier, and (when
 * durationMs > 0) sets STOP after that long, once the lock has been acquired at least once
 * (windowMayClose). Throws LockStalledError when the counter stops moving for STALL_MS
 * (the pool is then restarted).
 */
export async function runTasks(pool: LockPool, kind: LockKind, workers: number, shape: TaskShape, durationMs: number): Promise<RunOutcome> {
  const sab = new SharedArrayBuffer(hammerWords(workers) * 4);
  const statsSab = new SharedArrayBuffer(workers * LOCK_STAT_SLOTS * 8);
  const i32 = new Int32Array(sab, 0, hammerWords(workers));
  const timingSab = new SharedArrayBuffer(timingSlots(workers) * 8);
  const timing = new Float64Array(timingSab, 0, timingSlots(workers));
  timing[0] = performance.timeOrigin;
  initLockBlock(i32, LOCK_WORD);
  let finished = false;
  const all = Promise.all(
    Array.from({ length: workers }, (_, k) => pool.run({ sab, statsSab, timingSab, kind, ownerId: k + 1, lockModule: lockModuleUrl(kind), ...shape })),
  ).finally(() => (finished = true));
  all.catch(() => undefined);
  let last = -1;
  let lastMove = Date.now();
  while (Atomics.load(i32, CTRL.ready) < workers) {
    if (finished) break;
    const r = Atomics.load(i32, CTRL.ready);
    if (r !== last) [last, lastMove] = [r, Date.now()];
    if (Date.now() - lastMove > STALL_MS) return stalled(pool, kind, workers, i32, `only ${r}/${workers} workers reached the barrier in ${STALL_MS / 1000} s`);
    await sleep(1);
  }
  const t0 = performance.now();
  Atomics.store(i32, CTRL.go, 1);
  Atomics.notify(i32, CTRL.go);
  if (durationMs > 0) {
    await Promise.race([sleep(durationMs), all.catch(() => undefined)]);
    const due = Date.now();
    while (!finished && !windowMayClose(i32, performance.now() - t0, durationMs)) {
      if (Date.now() - due > STALL_MS) return stalled(pool, kind, workers, i32, `no acquisition in ${(durationMs + STALL_MS) / 1000} s`);
      await Promise.race([sleep(1), all.catch(() => undefined)]);
    }
    Atomics.store(i32, CTRL.stop, 1);
  }
  last = Atomics.load(i32, CTRL.counter);
  lastMove = Date.now();
  while (!finished) {
    await Promise.race([sleep(PROGRESS_POLL_MS), all.catch(() => undefined)]);
    const c = Atomics.load(i32, CTRL.counter);
    if (c !== last) [last, lastMove] = [c, Date.now()];
    else if (!finished && Date.now() - lastMove > STALL_MS) {
      return stalled(pool, kind, workers, i32, `the shared counter stopped at ${c} for ${STALL_MS / 1000} s (lost wake-up or livelock?)`);
    }
  }
  const results = await all;
  const wallMs = performance.now() - t0;
  let violation: string | null = null;
  try {
    validateHammerRun(kind, workers, i32, results);
  } catch (e) {
    if (!(e instanceof LockValidationError)) throw e;
    violation = e.message;
  }
  return { results, stats: new Float64Array(statsSab, 0, workers * LOCK_STAT_SLOTS), violation, wallMs, timing };
}

async function stalled(pool: LockPool, kind: LockKind, workers: number, i32: Int32Array, what: string): Promise<never> {
  const block = Array.from(i32.subarray(LOCK_WORD, LOCK_WORD + 8)).join(',');
  await pool.restart();
  throw new LockStalledError(`lock ${kind} with ${workers} workers: ${what}; lock block words 0..7 = [${block}]`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const REFERENCE = 'reference: CAS + store' as const;

export interface UncontendedRow {
  kind: LockKind | typeof REFERENCE;
  /** median sample, ns per lock+unlock pair */
  nsPerLockUnlock: number;
  /** fastest sample and upper quartile (absent in results saved before they were kept) */
  minNs?: number;
  p75Ns?: number;
  /** relative margin of error of the mean, % */
  rmePercent: number;
}

type PairLoopModule = typeof import('./pair-loop.js');

/** tinybench on the main thread: 1000 lock+unlock pairs per sample, after a warm-up. */
export async function measureUncontended(kinds: readonly LockKind[], timeMs: number): Promise<UncontendedRow[]> {
  const PAIRS = 1000;
  // Every lock (and the reference) gets its own block: kinds encode their words
  // differently, so a block one kind leaves behind is not "free" to another.
  const block = () => new Int32Array(new SharedArrayBuffer(hammerWords(2) * 4), 0, hammerWords(2));
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
    // the median sample: one descheduled sample on a shared machine drags the mean (and
    // its margin of error) but not the median; min and p75 say how much samples vary
    return {
      kind: t.name as UncontendedRow['kind'],
      nsPerLockUnlock: (r.latency.p50 * 1e6) / PAIRS,
      minNs: (r.latency.min * 1e6) / PAIRS,
      p75Ns: (r.latency.p75 * 1e6) / PAIRS,
      rmePercent: r.latency.rme,
    };
  });
}
