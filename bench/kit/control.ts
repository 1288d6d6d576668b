/**
 * The control block one benchmark run shares between its workers: two barriers (start
 * and end of the timed window), an abort flag, and the run's clock marks.
 *
 * Owns: a small SharedArrayBuffer of its own (never the heap under test, so control
 * traffic is not counted as allocator memory), laid out as CTL_I32 int32 words followed
 * by float64 slots (CTL_F64).
 *
 * Invariants:
 * - Every worker of a run calls `barrier(START)` exactly once after its untimed set-up and
 *   `barrier(END)` exactly once after its timed loop; the last arrival runs the release
 *   hook (snapshot, clock marks) before it wakes the others, so the hook sees every
 *   worker parked and nobody inside the allocator.
 * - Times are absolute milliseconds (`nowAbs`: performance.timeOrigin + performance.now())
 *   so marks taken by different threads compare.
 * - Any worker that fails sets ABORT and wakes both barriers; every wait loop and every
 *   timed loop checks ABORT, so one failure ends the whole run instead of hanging it.
 */
import { readFileSync } from 'node:fs';

export const CTL_I32 = {
  startCount: 0,
  startGen: 1,
  endCount: 4,
  endGen: 5,
  abort: 8,
  /** 0 set-up, 1 timed window running, 2 timed window over (written by the releasers) */
  phase: 9,
  /**
   * 1 once the timed window is over: set by the first worker whose clock passes the
   * deadline, by the main thread's timer, or by an abort. Hot loops load it every
   * iteration (a plain load on x86), so a worker stuck behind a slow allocator stops
   * within one operation of the deadline.
   */
  stop: 12,
} as const;

/** float64 slot indices (in the Float64Array view that starts at byte CTL_F64_BYTE). */
export const CTL_F64 = {
  startAbs: 0,
  deadlineAbs: 1,
  endAbs: 2,
  /** process CPU time (user + system, µs, all threads) at the start / end of the window */
  cpuStartUs: 3,
  cpuEndUs: 4,
  /** machine-wide busy and total jiffies (/proc/stat) at the start / end; -1 if unknown */
  busyStart: 5,
  totalStart: 6,
  busyEnd: 7,
  totalEnd: 8,
} as const;

const CTL_F64_BYTE = 64;
const CTL_BYTES = 64 + 16 * 8;

/**
 * Records the process's CPU time (process.cpuUsage covers every thread of the process)
 * and the machine's busy/total jiffies, so the suite can tell how many cores the run got
 * and how many other processes took.
 */
function markCpu(ctl: ControlViews, cpuSlot: number, busySlot: number, totalSlot: number): void {
  const c = process.cpuUsage();
  ctl.f64[cpuSlot] = c.user + c.system;
  const m = machineJiffies();
  ctl.f64[busySlot] = m ? m.busy : -1;
  ctl.f64[totalSlot] = m ? m.total : -1;
}

/** Machine-wide busy and total jiffies from /proc/stat (null off Linux). */
export function machineJiffies(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return null;
  }
}

export const PHASE_SETUP = 0;
export const PHASE_RUNNING = 1;
export const PHASE_DONE = 2;

/** How long a barrier waits for the other workers before failing the run. */
export const BARRIER_TIMEOUT_MS = 180_000;

export interface ControlViews {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
}

export function createControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CTL_BYTES);
}

export function controlViews(sab: SharedArrayBuffer): ControlViews {
  return { i32: new Int32Array(sab, 0, CTL_F64_BYTE / 4), f64: new Float64Array(sab, CTL_F64_BYTE, (CTL_BYTES - CTL_F64_BYTE) / 8) };
}

/** Absolute milliseconds, comparable across worker threads. */
export function nowAbs(): number {
  return performance.timeOrigin + performance.now();
}

export const ABORTED_MESSAGE = 'run aborted because another worker failed';

export class AbortedError extends Error {
  constructor() {
    super(ABORTED_MESSAGE);
    this.name = 'AbortedError';
  }
}

export function aborted(ctl: ControlViews): boolean {
  return Atomics.load(ctl.i32, CTL_I32.abort) !== 0;
}

/** Marks the run failed and wakes everybody parked on a barrier. */
export function abortRun(ctl: ControlViews): void {
  Atomics.store(ctl.i32, CTL_I32.abort, 1);
  Atomics.store(ctl.i32, CTL_I32.stop, 1);
  Atomics.notify(ctl.i32, CTL_I32.startGen);
  Atomics.notify(ctl.i32, CTL_I32.endGen);
}

/**
 * Sense-reversing (generation) barrier over `count`/`gen` words for `parties` threads.
 * The last arrival runs `onRelease` and then releases everybody. Returns true in the
 * thread that released. Parks in Atomics.wait (no spinning: with 64 workers on 2 cores a
 * spinning waiter would steal the core of a worker still setting up).
 */
export function barrier(
  ctl: ControlViews,
  countIdx: number,
  genIdx: number,
  parties: number,
  onRelease?: () => void,
): boolean {
  const i32 = ctl.i32;
  const gen = Atomics.load(i32, genIdx);
  if (Atomics.add(i32, countIdx, 1) + 1 === parties) {
    Atomics.store(i32, countIdx, 0);
    try {
      onRelease?.();
    } finally {
      Atomics.add(i32, genIdx, 1);
      Atomics.notify(i32, genIdx);
    }
    return true;
  }
  const giveUp = nowAbs() + BARRIER_TIMEOUT_MS;
  while (Atomics.load(i32, genIdx) === gen) {
    if (aborted(ctl)) throw new AbortedError();
    if (nowAbs() > giveUp) {
      abortRun(ctl);
      throw new Error(`barrier timed out after ${BARRIER_TIMEOUT_MS} ms waiting for ${parties} workers`);
    }
    Atomics.wait(i32, genIdx, gen, 100);
  }
  if (aborted(ctl)) throw new AbortedError();
  return false;
}

/**
 * Start barrier: the releaser stamps the start and the deadline (start + durationMs) and
 * runs `hook` first (e.g. an allocator snapshot). Returns the deadline as a local
 * performance.now() value so timed loops compare against a plain now().
 */
export function startBarrier(ctl: ControlViews, parties: number, durationMs: number, hook?: () => void): number {
  barrier(ctl, CTL_I32.startCount, CTL_I32.startGen, parties, () => {
    hook?.();
    markCpu(ctl, CTL_F64.cpuStartUs, CTL_F64.busyStart, CTL_F64.totalStart);
    const t = nowAbs();
    ctl.f64[CTL_F64.startAbs] = t;
    ctl.f64[CTL_F64.deadlineAbs] = t + durationMs;
    Atomics.store(ctl.i32, CTL_I32.phase, PHASE_RUNNING);
  });
  return ctl.f64[CTL_F64.deadlineAbs] - performance.timeOrigin;
}

/** End barrier: the last worker to finish its timed loop stamps the end and runs `hook`. */
export function endBarrier(ctl: ControlViews, parties: number, hook?: () => void): boolean {
  return barrier(ctl, CTL_I32.endCount, CTL_I32.endGen, parties, () => {
    ctl.f64[CTL_F64.endAbs] = nowAbs();
    markCpu(ctl, CTL_F64.cpuEndUs, CTL_F64.busyEnd, CTL_F64.totalEnd);
    Atomics.store(ctl.i32, CTL_I32.phase, PHASE_DONE);
    hook?.();
  });
}

/**
 * The timed loops' exit test: every `CHECK_EVERY`-th iteration looks at the clock (and
 * raises STOP when the deadline has passed); every iteration loads STOP.
 */
export const CHECK_EVERY = 64;
export function shouldStop(i32: Int32Array, deadline: number, iteration: number): boolean {
  if ((iteration & (CHECK_EVERY - 1)) === 0 && performance.now() >= deadline) Atomics.store(i32, CTL_I32.stop, 1);
  return Atomics.load(i32, CTL_I32.stop) !== 0;
}
