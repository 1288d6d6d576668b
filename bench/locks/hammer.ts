/**
 * The loop one worker runs to hammer a lock: shared by the lock tests (plain
 * worker_threads, workers/lock-deaths.ts) and the lock benchmark (piscina,
 * workers/locks.ts).
 *
 * Owns: nothing; everything lives in the SharedArrayBuffer laid out by `hammerWords`:
 *   [lock block: LOCK_WORDS][control: 16 words][critical-section data: 16 words]
 *   [NESTED_LOCKS x (lock block: LOCK_WORDS, its counter and witness: 16 words)]
 *   [queue nodes: (maxOwnerId + 1) * LOCK_NODE_WORDS]
 * `nested > 0` hammers the nested lock blocks instead (the nesting test): even rounds take
 * all `nested` locks in order and hold them together, odd rounds take one of them, so
 * threads queue on a lock whose holder is queueing on the next one.
 * Control words: READY (workers arrived at the barrier), GO (1 = start), STOP (1 = stop),
 * COUNTER (incremented non-atomically under the lock), WITNESS (mutual-exclusion witness).
 * Each group sits on its own cache line so control traffic does not slow the lock word.
 *
 * Invariants: under a correct lock COUNTER ends equal to the sum of acquisitions and the
 * WITNESS check never fails. Under a broken lock the read-work-write of COUNTER loses
 * increments and the witness records violations, so the validation can fail.
 *
 * Descheduled holder: the loop does nothing special; how long others wait is the lock's
 * business. Workers park on GO in Atomics.wait, so a barrier costs no CPU.
 */
import { LOCK_LATENCY_BUCKETS, LOCK_NODE_WORDS, LOCK_STAT_SLOTS, LOCK_WORDS, LockStat, createLock, type Lock, type LockInit, type LockKind, type WaitPolicy } from '../../src/locks/index.js';
import { cpuRelax } from '../../src/locks/common.js';
import { rng32, unit } from '../kit/prng.js';

export const CTRL = {
  ready: LOCK_WORDS + 0,
  go: LOCK_WORDS + 1,
  stop: LOCK_WORDS + 2,
  held: LOCK_WORDS + 3, // ownerId of a `holdForever` worker once it holds the lock
  counter: LOCK_WORDS + 4,
  witness: LOCK_WORDS + 8,
} as const;
const DATA = LOCK_WORDS * 2;
export const NESTED_LOCKS = 4;
const NESTED = LOCK_WORDS * 3;
const NODES = NESTED + NESTED_LOCKS * 2 * LOCK_WORDS;
export const LOCK_WORD = 0;
/** A run whose counter has not moved for this long is stuck (stated in the output). */
export const STALL_MS = 10_000;

/**
 * Whether a point's window may close: its time is up and the lock has been acquired at
 * least once (COUNTER moves under the lock). On an oversubscribed machine every hammer can
 * be descheduled through a short window (or a preempted queue waiter stall a fair lock
 * that long), and a hammer that sees STOP before its first lock() makes no acquisition:
 * closing the window on time would then report 0 for a lock that works. The point's
 * throughput is acquisitions over the workers' own measured windows
 * (HammerResult.elapsedMs), so a longer window only measures longer.
 */
export function windowMayClose(i32: Int32Array, elapsedMs: number, durationMs: number): boolean {
  return elapsedMs >= durationMs && Atomics.load(i32, CTRL.counter) !== 0;
}

/** Lock block, counter and witness words of nested lock k. */
export const nestedLockWord = (k: number): number => NESTED + k * 2 * LOCK_WORDS;
export const nestedCounterWord = (k: number): number => nestedLockWord(k) + LOCK_WORDS;
const nestedWitnessWord = (k: number): number => nestedLockWord(k) + LOCK_WORDS + 8;

/** Int32 words needed for a hammer SAB serving owner ids 1..maxOwnerId. */
export function hammerWords(maxOwnerId: number): number {
  return NODES + (maxOwnerId + 1) * LOCK_NODE_WORDS;
}
export const nodeWordOf = (ownerId: number): number => NODES + ownerId * LOCK_NODE_WORDS;

export interface HammerTask {
  sab: SharedArrayBuffer;
  statsSab: SharedArrayBuffer;
  kind: LockKind;
  /** waiting policy (LockInit.policy); undefined: the kind's default */
  policy?: WaitPolicy;
  /** file URL of a user's lock module (bench/locks/modules.ts) when `kind` names one */
  lockModule?: string;
  ownerId: number; // also picks the stats slot: base = (ownerId - 1) * LOCK_STAT_SLOTS
  /** Stop after this many acquisitions (0: run until STOP is set). */
  iterations: number;
  /** Shared writes inside each critical section (besides the counter). */
  csWrites: number;
  /** cpuRelax iterations between critical sections. */
  outsideWork: number;
  /** Also exercise tryLock (every 8th acquisition tries first). */
  useTryLock: boolean;
  /** > 0: hammer that many nested lock blocks (at most NESTED_LOCKS) instead of LOCK_WORD. */
  nested?: number;
  /** Take the lock once, publish CTRL.held, and never release it (a holder to kill). */
  holdForever?: boolean;
  /** Hand-over and wake-up timing sink (timingSlots(workers) float64s); absent: not measured. */
  timingSab?: SharedArrayBuffer;
  /** Randomised lengths: each critical section and outside work uniform in [(1-j)x, (1+j)x] (0: fixed). */
  jitter?: number;
  /** Long-hold mode: one acquisition in longHoldEvery (at random) holds the lock longHoldMs longer. */
  longHoldEvery?: number;
  longHoldMs?: number;
  /** Stutter mode: stutterMs of contention, then stutterMs idle (asleep), and again. */
  stutterMs?: number;
}

export interface HammerResult {
  ownerId: number;
  acquisitions: number;
  violations: number;
  tryLockSuccesses: number;
  elapsedMs: number;
}

/**
 * Hand-over timing sink (float64, optional): [0] the coordinator's performance.timeOrigin
 * (a shared epoch, so stamps from threads with different time origins compare), [1] the
 * release stamp of the last sampled unlock (ms since the epoch; 0 = that release was not
 * sampled), then per worker two log2 histograms (LOCK_LATENCY_BUCKETS each): hand-over
 * (a holder's unlock to a waiting thread holding the lock) and wake-up (the same, for a
 * waiter that slept in Atomics.wait at least once during its lock()). Stamp and read happen
 * under the lock, so the lock orders them; one release in HANDOVER_SAMPLE is stamped, to
 * keep two clock reads off most acquisitions.
 */
export const TIMING_HEAD = 8;
export const HANDOVER_SAMPLE = 8;
export const timingSlots = (workers: number): number => TIMING_HEAD + workers * 2 * LOCK_LATENCY_BUCKETS;
export const timingBaseOf = (ownerId: number): number => TIMING_HEAD + (ownerId - 1) * 2 * LOCK_LATENCY_BUCKETS;

function recordNs(f: Float64Array, base: number, ns: number): void {
  f[base + (ns < 1 ? 0 : Math.min(LOCK_LATENCY_BUCKETS - 1, Math.floor(Math.log2(ns))))]++;
}

export function statsBaseOf(ownerId: number): number {
  return (ownerId - 1) * LOCK_STAT_SLOTS;
}

/** `make` builds the lock instead of createLock (a user's lock module). */
export function hammer(t: HammerTask, make?: (init: LockInit) => Lock): HammerResult {
  if ((t.nested ?? 0) > 0) return hammerNested(t);
  const i32 = new Int32Array(t.sab);
  const stats = new Float64Array(t.statsSab);
  const me = t.ownerId;
  const init: LockInit = { i32, word: LOCK_WORD, ownerId: me, nodeWord: nodeWordOf, stats, statsBase: statsBaseOf(me), policy: t.policy };
  const lock = make ? make(init) : createLock(t.kind, init);
  awaitGo(i32);
  if (t.holdForever) {
    lock.lock();
    Atomics.store(i32, CTRL.held, me);
    for (;;) Atomics.wait(i32, CTRL.stop, 0, 1000); // until terminated
  }

  const limit = t.iterations > 0 ? t.iterations : Infinity;
  const csWrites = t.csWrites;
  const outside = t.outsideWork;
  let acquisitions = 0;
  let violations = 0;
  let tries = 0;
  const tf = t.timingSab ? new Float64Array(t.timingSab, 0, t.timingSab.byteLength >> 3) : new Float64Array(timingSlots(1));
  const tb = t.timingSab ? timingBaseOf(me) : TIMING_HEAD;
  const epoch = performance.timeOrigin - tf[0]!;
  const sb = statsBaseOf(me);
  const next = rng32(0x9e3779b9 ^ me);
  const jit = t.jitter ?? 0;
  const spread = (x: number): number => (jit > 0 ? Math.round(x * (1 - jit + 2 * jit * unit(next))) : x);
  const holdEvery = t.longHoldEvery ?? 0;
  const holdMs = t.longHoldMs ?? 0;
  const stutter = t.stutterMs ?? 0;
  const t0 = performance.now();
  while (acquisitions < limit && Atomics.load(i32, CTRL.stop) === 0) {
    if (stutter > 0) {
      const since = performance.now() - t0;
      // odd phases are the idle gaps: sleep to the end of this one (STOP is re-checked after)
      if ((Math.floor(since / stutter) & 1) === 1) {
        Atomics.wait(i32, CTRL.stop, 0, stutter - (since % stutter));
        continue;
      }
    }
    const waits = stats[sb + LockStat.contended]!;
    const parks = stats[sb + LockStat.parks]!;
    if (t.useTryLock && (acquisitions & 7) === 0 && lock.tryLock()) tries++;
    else lock.lock();
    if (stats[sb + LockStat.contended] !== waits && tf[1] !== 0) {
      const ns = (epoch + performance.now() - tf[1]!) * 1e6;
      recordNs(tf, tb, ns);
      if (stats[sb + LockStat.parks] !== parks) recordNs(tf, tb + LOCK_LATENCY_BUCKETS, ns);
    }
    Atomics.store(i32, CTRL.witness, me);
    if (lock.holder() !== me) violations++;
    const c = i32[CTRL.counter];
    const cw = spread(csWrites);
    for (let k = 0; k < cw; k++) i32[DATA + (k & 15)] += k;
    if (holdEvery > 0 && next() % holdEvery === 0) {
      const end = performance.now() + holdMs;
      while (performance.now() < end); // the long hold: on the CPU, the lock held
    }
    i32[CTRL.counter] = c + 1;
    if (Atomics.load(i32, CTRL.witness) !== me) violations++;
    tf[1] = acquisitions % HANDOVER_SAMPLE === 0 ? epoch + performance.now() : 0;
    lock.unlock();
    acquisitions++;
    if (outside > 0) cpuRelax(spread(outside));
  }
  return { ownerId: me, acquisitions, violations, tryLockSuccesses: tries, elapsedMs: performance.now() - t0 };
}

/** Barrier: report, then sleep until the coordinator opens the gate. */
function awaitGo(i32: Int32Array): void {
  Atomics.add(i32, CTRL.ready, 1);
  Atomics.notify(i32, CTRL.ready);
  while (Atomics.load(i32, CTRL.go) === 0) Atomics.wait(i32, CTRL.go, 0, 100);
}

/** The nested variant of `hammer` (see the module comment); counts rounds as acquisitions. */
function hammerNested(t: HammerTask): HammerResult {
  const i32 = new Int32Array(t.sab);
  const stats = new Float64Array(t.statsSab);
  const me = t.ownerId;
  const k = Math.min(t.nested ?? 1, NESTED_LOCKS);
  const locks = Array.from({ length: k }, (_, j) =>
    createLock(t.kind, { i32, word: nestedLockWord(j), ownerId: me, nodeWord: nodeWordOf, stats, statsBase: statsBaseOf(me), policy: t.policy }),
  );
  awaitGo(i32);
  let rounds = 0;
  let violations = 0;
  const t0 = performance.now();
  while (rounds < t.iterations && Atomics.load(i32, CTRL.stop) === 0) {
    const from = (rounds & 1) === 0 ? 0 : (rounds >> 1) % k;
    const to = (rounds & 1) === 0 ? k : from + 1;
    for (let j = from; j < to; j++) {
      locks[j].lock();
      Atomics.store(i32, nestedWitnessWord(j), me);
      if (locks[j].holder() !== me) violations++;
      i32[nestedCounterWord(j)]++;
      if (t.outsideWork > 0) cpuRelax(t.outsideWork); // others queue on j meanwhile
    }
    for (let j = to - 1; j >= from; j--) {
      if (Atomics.load(i32, nestedWitnessWord(j)) !== me || locks[j].holder() !== me) violations++;
      locks[j].unlock();
    }
    rounds++;
  }
  return { ownerId: me, acquisitions: rounds, violations, tryLockSuccesses: 0, elapsedMs: performance.now() - t0 };
}
