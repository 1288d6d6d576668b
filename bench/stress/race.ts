/**
 * The racing-misuse mode of `sabmalloc stress` (bench/stress/run.ts runMisuse): workers misuse
 * the heap on purpose, the way a buggy application would, and at the same moment.
 *
 * Owns: the RACE CONTROL block (a SharedArrayBuffer of its own, not in the heap under test,
 * so a corrupted heap cannot derail the coordination) and the worker side of the mode:
 * `race` (one racing worker) and `watchdog` (check({ quiescent: false }) in a loop).
 *
 * A PHASE (every worker takes part, lock-step):
 *  1. set-up: each group leader mallocs and stamps its group's block (sizes: small
 *     <= 1 KiB, medium <= 256 KiB, large <= 1 MiB, huge <= 6 MiB);
 *  2. global barrier (after the one that opened the phase), then everybody acts at once:
 *     - 'free-free' phase: every member of every group frees its group's block;
 *     - 'free-realloc' phase: one group only; one member reallocs the block to a size that
 *       must move it, the others free it;
 *  3. global barrier; each leader tallies its group: exactly one call may succeed (a free,
 *     or the realloc), every other must throw DoubleFreeError or InvalidPointerError;
 *     the realloc's new block must carry the old contents; then every worker churns
 *     (malloc, stamp, verify, free a few blocks: a block handed out twice breaks a stamp).
 * Why lock-step: between the two barriers no thread allocates anything but the realloc's
 * own new block, and only one group reallocs. So a racing block's memory cannot be handed
 * out again to somebody else while its frees race, and a second success is always the
 * allocator's miss, never an undetectable free of a block reused in between (ABA).
 *
 * Outcomes counted (RaceTotals, Atomics counters in the control block; failures are posted
 * on a BroadcastChannel as they happen, so a run that hangs still reports them): expected
 * typed errors by code; 'undetected' (a block released twice); corruption (HeapCorruptionError from any call, a broken stamp, a
 * realloc that lost the contents, a failed concurrent check()); hangs (a barrier not
 * reached within hangMs: the worker names what the missing ones were doing); unexpected
 * errors (untyped, or the wrong typed error).
 *
 * Invariants: worker 0 writes the phase words before the barrier that opens a phase; a
 * group's leader writes its group words before the barrier that starts the race; a worker
 * writes its own OP/OUTCOME words; leaders read outcomes only after the barrier that ends
 * the race. Any hang or abort sets ABORT, which every wait loop checks.
 */
import { threadId } from 'node:worker_threads';
import { SabmallocError, SharedHeap } from '../../src/index.js';
import { stampBlock, verifyStamp, type Stamp } from '../kit/stamp.js';
import { rng32 } from '../kit/prng.js';
import type { StressFailure } from './types.js';

// ------------------------------------------------------------------- layout

/** Global words of the race control block. */
export const RC = {
  ABORT: 0, // a hang or a stop request: everybody leaves
  BAR_COUNT: 1,
  BAR_GEN: 2,
  PHASE_KIND: 3, // Phase below, written by worker 0 before the first barrier of a phase
  PHASE_GROUP: 4, // the group of a free-realloc phase
  PHASE_NO: 5,
  WD_BEAT: 6, // check() calls the watchdog has completed
  WD_STOP: 7,
  WD_BUSY: 8, // 1 while the watchdog is inside check()
  STOP: 9, // set by the main thread: worker 0 ends the run at the next phase
  FAILURES: 10, // failures posted on the channel (capped at MAX_FAILURES in all)
  WD_FAILED: 11, // concurrent check() calls that threw
} as const;

/**
 * Counters of the run (Atomics.add by whoever counts), in the control block rather than in
 * the task results so that a run that hangs still reports everything counted before.
 */
export const CN = {
  FREE_FREE: 16,
  FREE_REALLOC: 17,
  SUCCEEDED: 18,
  DOUBLE_FREE: 19,
  INVALID_POINTER: 20,
  UNDETECTED: 21,
  REFUSED: 22,
  CORRUPTION: 23,
  HANGS: 24,
  UNEXPECTED: 25,
  CHURNED: 26,
  OOM: 27,
  /** races by size (RACE_SIZES order), 4 words */
  BY_SIZE: 32,
  /** races by group width (index = width), 65 words */
  BY_WIDTH: 40,
} as const;
const GLOBAL_WORDS = 112;
const WORKER_WORDS = 4; // ARRIVED (phase number), OP (what it is doing), OUTCOME, pad
const GROUP_WORDS = 8; // P, SIZE, REALLOCER (member index), RSIZE, Q, CAT, GEN, pad
const W_ARRIVED = 0;
const W_OP = 1;
const W_OUTCOME = 2;
const G_P = 0;
const G_SIZE = 1;
const G_REALLOCER = 2;
const G_RSIZE = 3;
const G_Q = 4;
const G_CAT = 5;
const G_GEN = 6;

export const Phase = { STOP: 0, FREE_FREE: 1, FREE_REALLOC: 2 } as const;

/** What a worker is doing (W_OP), named in hang reports. */
export const Op = { IDLE: 0, BARRIER: 1, SETUP: 2, FREE: 3, REALLOC: 4, TALLY: 5, CHURN: 6, DONE: 7 } as const;
const OP_NAMES = ['idle', 'waiting at the barrier', 'allocating its group block', 'free()', 'realloc()', 'tallying', 'churning', 'done'];

/** Outcome of a racing call (W_OUTCOME). */
export const Outcome = { NONE: 0, OK: 1, DOUBLE_FREE: 2, INVALID_POINTER: 3, CORRUPTION: 4, OTHER_TYPED: 5, UNTYPED: 6 } as const;

export type RaceSize = 'small' | 'medium' | 'large' | 'huge';
export const RACE_SIZES: readonly RaceSize[] = ['small', 'medium', 'large', 'huge'];
const SIZE_RANGE: Record<RaceSize, [number, number]> = {
  small: [1, 1024],
  medium: [1025, 256 * 1024],
  large: [256 * 1024 + 1, 1024 * 1024],
  huge: [1024 * 1024 + 1, 6 * 1024 * 1024],
};

export interface RaceLayout {
  workers: number;
  /** group of each worker, and its index in the group (0 = leader) */
  groupOf: number[];
  memberOf: number[];
  /** first worker and width of each group */
  groupStart: number[];
  groupWidth: number[];
  words: number;
}

/**
 * Workers in groups of 2, 3, ... maxWidth, 2, 3, ... (a last group of one joins the one
 * before), so every width from 2 to maxWidth races in one run.
 */
export function raceLayout(workers: number, maxWidth: number): RaceLayout {
  if (workers < 2) throw new RangeError('the racing-misuse mode needs at least 2 workers');
  const groupStart: number[] = [];
  const groupWidth: number[] = [];
  let w = 0;
  for (let k = 0; w < workers; k++) {
    let width = Math.min(2 + (k % (maxWidth - 1)), workers - w);
    if (width < 2) {
      groupWidth[groupWidth.length - 1]! += width;
      break;
    }
    groupStart.push(w);
    groupWidth.push(width);
    w += width;
  }
  const groupOf: number[] = [];
  const memberOf: number[] = [];
  groupStart.forEach((start, g) => {
    for (let m = 0; m < groupWidth[g]!; m++) {
      groupOf[start + m] = g;
      memberOf[start + m] = m;
    }
  });
  return { workers, groupOf, memberOf, groupStart, groupWidth, words: GLOBAL_WORDS + workers * WORKER_WORDS + groupStart.length * GROUP_WORDS };
}

const wordOfWorker = (w: number, f: number): number => GLOBAL_WORDS + w * WORKER_WORDS + f;
const wordOfGroup = (L: RaceLayout, g: number, f: number): number => GLOBAL_WORDS + L.workers * WORKER_WORDS + g * GROUP_WORDS + f;

/**
 * For a hang report from outside (the main thread, when racers never return): the phase
 * the run reached and what each worker not waiting at the barrier is doing.
 */
export function describeRace(control: SharedArrayBuffer, workers: number, maxWidth: number): string {
  const rc = new Int32Array(control);
  const L = raceLayout(workers, maxWidth);
  const kind = Atomics.load(rc, RC.PHASE_KIND);
  const busy: string[] = [];
  for (let w = 0; w < workers; w++) {
    const op = Atomics.load(rc, wordOfWorker(w, W_OP));
    if (op === Op.BARRIER || op === Op.DONE) continue;
    const g = L.groupOf[w]!;
    const p = Atomics.load(rc, wordOfGroup(L, g, G_P));
    const cat = RACE_SIZES[Atomics.load(rc, wordOfGroup(L, g, G_CAT))] ?? '?';
    busy.push(`worker ${w} (group ${g}): ${OP_NAMES[op] ?? op}${op === Op.FREE || op === Op.REALLOC ? ` of ${p} (${cat})` : ''}`);
  }
  return (
    `phase ${Atomics.load(rc, RC.PHASE_NO)} (${kind === Phase.FREE_REALLOC ? 'free vs realloc' : kind === Phase.FREE_FREE ? 'free vs free' : 'stop'}); ` +
    `${busy.length === 0 ? 'every worker waits at a barrier' : `stuck: ${busy.slice(0, 12).join(', ')}${busy.length > 12 ? ', ...' : ''}`}`
  );
}

// ------------------------------------------------------------------- tasks

export interface RaceTask {
  heap: SharedArrayBuffer;
  control: SharedArrayBuffer;
  worker: number;
  workers: number;
  maxWidth: number;
  /** phases to run (0: until the deadline or STOP) */
  phases: number;
  /** Date.now() deadline (0: none) */
  deadline: number;
  seed: number;
  salt: number;
  sizes: RaceSize[];
  /** share of phases that race a free against a realloc */
  reallocShare: number;
  /** a barrier not reached within this long is a hang */
  hangMs: number;
  /** BroadcastChannel name the failures are posted on (as they happen: a hang loses none) */
  channel: string;
}

export interface RaceCounts {
  worker: number;
  threadId: number;
  phases: number;
}

const MAX_FAILURES = 20;
export const MAX_WATCHDOG_FAILURES = 5;

export function outcomeOf(e: unknown): { outcome: number; code: string; message: string } {
  if (e instanceof SabmallocError) {
    const outcome =
      e.code === 'ERR_SABMALLOC_DOUBLE_FREE'
        ? Outcome.DOUBLE_FREE
        : e.code === 'ERR_SABMALLOC_INVALID_POINTER'
          ? Outcome.INVALID_POINTER
          : e.code === 'ERR_SABMALLOC_HEAP_CORRUPTION'
            ? Outcome.CORRUPTION
            : Outcome.OTHER_TYPED;
    return { outcome, code: e.code, message: e.message };
  }
  return { outcome: Outcome.UNTYPED, code: (e as Error)?.name ?? 'throw', message: (e as Error)?.stack ?? String(e) };
}

/** The run's counts, read from the control block. */
export interface RaceTotals {
  /** races tallied, by kind, group width and block size */
  freeFree: number;
  freeRealloc: number;
  byWidth: Record<string, number>;
  bySize: Record<string, number>;
  /** racing calls that released the block (one per race when all is well) */
  succeeded: number;
  /** the expected typed errors of the other racing calls, by error code */
  typedErrors: Record<string, number>;
  /** races that released a block more than once (must be 0) */
  undetected: number;
  /** races in which no call released the block (must be 0) */
  refused: number;
  /** HeapCorruptionError from any call, broken stamps, lost realloc contents, failed check()s (must be 0) */
  corruption: number;
  /** barriers or check() calls that never finished (must be 0) */
  hangs: number;
  /** untyped or wrong typed errors (must be 0) */
  unexpected: number;
  churned: number;
  oom: number;
}

export function raceTotals(control: SharedArrayBuffer): RaceTotals {
  const rc = new Int32Array(control);
  const at = (k: number): number => Atomics.load(rc, k);
  const byWidth: Record<string, number> = {};
  for (let w = 2; w <= 64; w++) if (at(CN.BY_WIDTH + w) > 0) byWidth[w] = at(CN.BY_WIDTH + w);
  const bySize: Record<string, number> = {};
  RACE_SIZES.forEach((z, k) => {
    if (at(CN.BY_SIZE + k) > 0) bySize[z] = at(CN.BY_SIZE + k);
  });
  const typedErrors: Record<string, number> = {};
  if (at(CN.DOUBLE_FREE) > 0) typedErrors.ERR_SABMALLOC_DOUBLE_FREE = at(CN.DOUBLE_FREE);
  if (at(CN.INVALID_POINTER) > 0) typedErrors.ERR_SABMALLOC_INVALID_POINTER = at(CN.INVALID_POINTER);
  return {
    freeFree: at(CN.FREE_FREE),
    freeRealloc: at(CN.FREE_REALLOC),
    byWidth,
    bySize,
    succeeded: at(CN.SUCCEEDED),
    typedErrors,
    undetected: at(CN.UNDETECTED),
    refused: at(CN.REFUSED),
    corruption: at(CN.CORRUPTION),
    hangs: at(CN.HANGS),
    unexpected: at(CN.UNEXPECTED),
    churned: at(CN.CHURNED),
    oom: at(CN.OOM),
  };
}

const OUTCOME_CODE = ['none', 'ok', 'ERR_SABMALLOC_DOUBLE_FREE', 'ERR_SABMALLOC_INVALID_POINTER', 'ERR_SABMALLOC_HEAP_CORRUPTION'];

/**
 * One racing worker's state: its place in the groups, its heap handle, its counts, and the
 * steps of a phase (barrier, setUp, act, tally, churn). Only this worker writes its own
 * control words (W_OP, W_ARRIVED, W_OUTCOME); a group's words are written by its leader
 * between barriers.
 */
class Racer {
  readonly L: RaceLayout;
  readonly rc: Int32Array;
  readonly heap: SharedHeap;
  readonly me: number;
  readonly g: number;
  readonly member: number;
  readonly width: number;
  readonly next: () => number;
  readonly c: RaceCounts;
  readonly where: string;
  readonly channel: InstanceType<typeof BroadcastChannel>;
  u32: Uint32Array;
  gen = 0;

  constructor(readonly t: RaceTask) {
    this.L = raceLayout(t.workers, t.maxWidth);
    this.rc = new Int32Array(t.control);
    this.heap = SharedHeap.attach(t.heap);
    this.me = t.worker;
    this.g = this.L.groupOf[this.me]!;
    this.member = this.L.memberOf[this.me]!;
    this.width = this.L.groupWidth[this.g]!;
    this.next = rng32(t.seed);
    this.c = { worker: this.me, threadId, phases: 0 };
    this.where = `worker ${this.me} (group ${this.g}, member ${this.member} of ${this.width})`;
    this.channel = new BroadcastChannel(t.channel);
    this.u32 = new Uint32Array(t.heap, 0, t.heap.byteLength >>> 2);
  }

  fail(kind: StressFailure['kind'], detail: string, pointer?: number): void {
    const { rc, where, channel } = this;
    if (Atomics.add(rc, RC.FAILURES, 1) < MAX_FAILURES) channel.postMessage({ kind, seenBy: where, detail, ...(pointer === undefined ? {} : { pointer }) });
  }

  count(k: number): void {
    const { rc } = this;
    Atomics.add(rc, k, 1);
  }

  view(end: number): Uint32Array {
    const { t } = this;
    if (end > this.u32.length * 4) this.u32 = new Uint32Array(t.heap, 0, t.heap.byteLength >>> 2);
    return this.u32;
  }

  setOp(op: number): void {
    const { rc, me } = this;
    Atomics.store(rc, wordOfWorker(me, W_OP), op);
  }

  /** Global barrier; false when the run was aborted (or this wait hung, which aborts it). */
  barrier(): boolean {
    const { rc, me, t } = this;
    this.setOp(Op.BARRIER);
    const barGen = Atomics.load(rc, RC.BAR_GEN);
    Atomics.store(rc, wordOfWorker(me, W_ARRIVED), Atomics.load(rc, RC.PHASE_NO));
    if (Atomics.add(rc, RC.BAR_COUNT, 1) + 1 === t.workers) {
      Atomics.store(rc, RC.BAR_COUNT, 0);
      Atomics.add(rc, RC.BAR_GEN, 1);
      Atomics.notify(rc, RC.BAR_GEN);
      return Atomics.load(rc, RC.ABORT) === 0;
    }
    const giveUp = Date.now() + t.hangMs;
    while (Atomics.load(rc, RC.BAR_GEN) === barGen) {
      if (Atomics.load(rc, RC.ABORT) !== 0) return false;
      if (Date.now() > giveUp) {
        if (Atomics.compareExchange(rc, RC.ABORT, 0, 1) === 0) {
          // The first to give up names the missing workers and what they were doing.
          const missing: string[] = [];
          for (let w = 0; w < t.workers && missing.length < 12; w++) {
            const op = Atomics.load(rc, wordOfWorker(w, W_OP));
            if (op !== Op.BARRIER) missing.push(`worker ${w}: ${OP_NAMES[op] ?? op}`);
          }
          this.count(CN.HANGS);
          this.fail('hang', `phase ${Atomics.load(rc, RC.PHASE_NO)}: a barrier was not reached within ${t.hangMs} ms; not there: ${missing.join(', ') || '(none found)'}`);
        }
        Atomics.notify(rc, RC.BAR_GEN);
        return false;
      }
      Atomics.wait(rc, RC.BAR_GEN, barGen, 50);
    }
    return Atomics.load(rc, RC.ABORT) === 0;
  }

  // Whole words, at least 16 bytes: the stamp then covers exactly the bytes asked for (a
  // debug heap's guard bytes start right after them).
  sizeIn(cat: RaceSize): number {
    const { next } = this;
    const [lo, hi] = SIZE_RANGE[cat];
    return Math.max(16, (lo + (next() % (hi - lo + 1))) & ~3);
  }

  /** Leader: the group's block for this phase (0 when out of memory). */
  setUp(phaseKind: number): void {
    const { L, rc, heap, me, g, width, next, t } = this;
    const gw = (f: number): number => wordOfGroup(L, g, f);
    Atomics.store(rc, gw(G_P), 0);
    if (phaseKind === Phase.FREE_REALLOC && Atomics.load(rc, RC.PHASE_GROUP) !== g) return;
    const cat = t.sizes[next() % t.sizes.length]!;
    const size = this.sizeIn(cat);
    let p: number;
    try {
      p = heap.malloc(size);
    } catch (e) {
      const o = outcomeOf(e);
      if (o.code === 'ERR_SABMALLOC_OOM') this.count(CN.OOM);
      else {
        if (o.outcome === Outcome.CORRUPTION) this.count(CN.CORRUPTION);
        else this.count(CN.UNEXPECTED);
        this.fail(o.outcome === Outcome.CORRUPTION ? 'corrupt' : 'error', `malloc(${size}) for a race threw ${o.code}: ${o.message}`);
      }
      return;
    }
    const usable = heap.usableSize(p);
    this.gen = (this.gen + 1) & 0x7fffff;
    stampBlock(this.view(p + usable), p, { p, gen: this.gen, owner: me + 1, requested: size }, t.salt);
    // A realloc target that cannot stay in place: more than the block's usable size.
    const rsize = Math.min(usable + 1 + (next() % Math.max(16, usable)), 12 * 1024 * 1024);
    Atomics.store(rc, gw(G_SIZE), size);
    Atomics.store(rc, gw(G_REALLOCER), phaseKind === Phase.FREE_REALLOC ? next() % width : -1);
    Atomics.store(rc, gw(G_RSIZE), rsize);
    Atomics.store(rc, gw(G_Q), 0);
    Atomics.store(rc, gw(G_CAT), RACE_SIZES.indexOf(cat));
    Atomics.store(rc, gw(G_GEN), this.gen);
    Atomics.store(rc, gw(G_P), p);
  }

  /** Every member: its racing call on the group's block. */
  act(): void {
    const { L, rc, heap, me, g, member } = this;
    const p = Atomics.load(rc, wordOfGroup(L, g, G_P));
    Atomics.store(rc, wordOfWorker(me, W_OUTCOME), Outcome.NONE);
    if (p === 0) return;
    const reallocs = Atomics.load(rc, wordOfGroup(L, g, G_REALLOCER)) === member;
    this.setOp(reallocs ? Op.REALLOC : Op.FREE);
    let outcome: number = Outcome.OK;
    try {
      if (reallocs) Atomics.store(rc, wordOfGroup(L, g, G_Q), heap.realloc(p, Atomics.load(rc, wordOfGroup(L, g, G_RSIZE))));
      else heap.free(p);
    } catch (e) {
      const o = outcomeOf(e);
      outcome = o.outcome;
      if (o.outcome === Outcome.CORRUPTION || o.outcome === Outcome.UNTYPED || o.outcome === Outcome.OTHER_TYPED) {
        this.fail(o.outcome === Outcome.CORRUPTION ? 'corrupt' : 'error', `racing ${reallocs ? 'realloc' : 'free'}(${p}) threw ${o.code}: ${o.message}`, p);
      }
    }
    Atomics.store(rc, wordOfWorker(me, W_OUTCOME), outcome);
  }

  /** Leader, after the second barrier: exactly one call released the block. */
  tally(): void {
    const { L, rc, heap, me, g, member, width, t } = this;
    this.setOp(Op.TALLY);
    const gw = (f: number): number => wordOfGroup(L, g, f);
    const p = Atomics.load(rc, gw(G_P));
    if (p === 0) return;
    const realloc = Atomics.load(rc, gw(G_REALLOCER));
    const cat = RACE_SIZES[Atomics.load(rc, gw(G_CAT))]!;
    this.count(realloc >= 0 ? CN.FREE_REALLOC : CN.FREE_FREE);
    this.count(CN.BY_WIDTH + width);
    this.count(CN.BY_SIZE + Atomics.load(rc, gw(G_CAT)));
    let released = 0;
    const calls: string[] = [];
    for (let m = 0; m < width; m++) {
      const o = Atomics.load(rc, wordOfWorker(L.groupStart[g]! + m, W_OUTCOME));
      const what = m === realloc ? 'realloc' : 'free';
      calls.push(`${what} by member ${m}: ${OUTCOME_CODE[o] ?? (o === Outcome.OTHER_TYPED ? 'other typed error' : o === Outcome.UNTYPED ? 'untyped error' : o)}`);
      if (o === Outcome.OK) {
        released++;
        this.count(CN.SUCCEEDED);
      } else if (o === Outcome.DOUBLE_FREE) {
        this.count(CN.DOUBLE_FREE);
      } else if (o === Outcome.INVALID_POINTER) {
        this.count(CN.INVALID_POINTER);
      } else if (o === Outcome.CORRUPTION) {
        this.count(CN.CORRUPTION);
      } else {
        this.count(CN.UNEXPECTED);
      }
    }
    const race = `${realloc >= 0 ? 'free vs realloc' : 'free vs free'} of a ${cat} block (${Atomics.load(rc, gw(G_SIZE))} B) by ${width} workers`;
    if (released > 1) {
      this.count(CN.UNDETECTED);
      this.fail('undetected', `${race}: released ${released} times (${calls.join('; ')})`, p);
    } else if (released === 0) {
      this.count(CN.REFUSED);
      this.fail('error', `${race}: no call released it (${calls.join('; ')})`, p);
    }
    const q = Atomics.load(rc, gw(G_Q));
    if (realloc >= 0 && q !== 0) {
      // The realloc won: its new block holds the old contents; then it goes.
      const size = Atomics.load(rc, gw(G_SIZE));
      const old: Stamp = { p, gen: Atomics.load(rc, gw(G_GEN)), owner: me + 1, requested: size };
      let bad: string | null;
      try {
        bad = verifyStamp(this.view(q + heap.usableSize(q)), q, old, t.salt);
        heap.free(q);
      } catch (e) {
        bad = `${outcomeOf(e).code}: ${(e as Error).message}`;
      }
      if (bad !== null) {
        this.count(CN.CORRUPTION);
        this.fail('corrupt', `${race}: the realloc returned ${q}, which does not hold the old contents (or cannot be freed): ${bad}`, q);
      }
    }
  }

  /** Every worker: a few blocks malloc'd, stamped, verified, freed (a double hand-out breaks a stamp). */
  churn(): void {
    const { heap, me, next, t } = this;
    this.setOp(Op.CHURN);
    const n = 1 + (next() % 3);
    const ps: number[] = [];
    const stamps: Stamp[] = [];
    try {
      for (let k = 0; k < n; k++) {
        const size = this.sizeIn(next() % 8 === 0 ? 'medium' : 'small');
        const p = heap.malloc(size);
        this.gen = (this.gen + 1) & 0x7fffff;
        const s: Stamp = { p, gen: this.gen, owner: me + 1, requested: size };
        stampBlock(this.view(p + heap.usableSize(p)), p, s, t.salt);
        ps.push(p);
        stamps.push(s);
      }
      for (let k = 0; k < ps.length; k++) {
        const bad = verifyStamp(this.view(ps[k]! + stamps[k]!.requested + 16), ps[k]!, stamps[k]!, t.salt);
        if (bad !== null) {
          this.count(CN.CORRUPTION);
          this.fail('corrupt', `a churn block was changed while this worker held it (handed out twice?): ${bad}`, ps[k]);
        }
        heap.free(ps[k]!);
        this.count(CN.CHURNED);
      }
    } catch (e) {
      const o = outcomeOf(e);
      if (o.code === 'ERR_SABMALLOC_OOM') {
        this.count(CN.OOM);
        for (const p of ps) heap.free(p);
        return;
      }
      if (o.outcome === Outcome.CORRUPTION) this.count(CN.CORRUPTION);
      else this.count(CN.UNEXPECTED);
      this.fail(o.outcome === Outcome.CORRUPTION ? 'corrupt' : 'error', `churn threw ${o.code}: ${o.message}`);
    }
  }

  /** Phases until worker 0 says stop (or a hang aborts the run); then detach. */
  run(): RaceCounts {
    const { L, rc, heap, me, member, next, c, channel, t } = this;
    try {
      for (let phase = 0; ; phase++) {
        if (me === 0) {
          const over =
            Atomics.load(rc, RC.STOP) !== 0 || (t.phases > 0 && phase >= t.phases) || (t.deadline > 0 && Date.now() >= t.deadline);
          const groups = L.groupStart.length;
          const kind = over ? Phase.STOP : next() % 1000 < t.reallocShare * 1000 ? Phase.FREE_REALLOC : Phase.FREE_FREE;
          Atomics.store(rc, RC.PHASE_GROUP, Math.floor(phase / 2) % groups);
          Atomics.store(rc, RC.PHASE_NO, phase);
          Atomics.store(rc, RC.PHASE_KIND, kind);
        }
        // Worker 0 has written the phase before it arrives; the others read it after.
        if (!this.barrier()) break;
        const kind = Atomics.load(rc, RC.PHASE_KIND);
        if (kind === Phase.STOP) break;
        this.setOp(Op.SETUP);
        if (member === 0) this.setUp(kind);
        if (!this.barrier()) break;
        this.act();
        if (!this.barrier()) break;
        if (member === 0) this.tally();
        this.churn();
        c.phases++;
      }
    } catch (e) {
      this.count(CN.UNEXPECTED);
      this.fail('error', `unexpected ${(e as Error).name}: ${(e as Error).stack ?? (e as Error).message}`);
      Atomics.store(rc, RC.ABORT, 1);
      Atomics.notify(rc, RC.BAR_GEN);
    }
    this.setOp(Op.DONE);
    try {
      heap.detach();
    } catch (e) {
      this.count(CN.UNEXPECTED);
      this.fail('error', `detach threw ${(e as Error).name}: ${(e as Error).message}`);
    }
    channel.close();
      return c;
  }
}

/** One racing worker: phases until worker 0 says stop (or a hang aborts the run). */
export function race(t: RaceTask): RaceCounts {
  return new Racer(t).run();
}
