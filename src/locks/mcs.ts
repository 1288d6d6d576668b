/**
 * MCS queue lock (Mellor-Crummey & Scott 1991), K42 variant: a thread's queue node is used
 * only while it waits; once it holds the lock, its successor link lives in the lock block.
 * So one node per thread serves any number of locks held at once (nesting is safe), and a
 * waiter killed in the queue can be passed over.
 *
 * Owns, in its lock block: w+0 TAIL (0 = free; -ownerId = held by ownerId with nobody
 * queued; ownerId > 0 = that thread is the last waiter), w+1 HOLDER (ownerId of the holder
 * while TAIL > 0; may be stale while TAIL <= 0), w+2 NEXT (ownerId of the first waiter,
 * linked by that waiter, 0 = none yet), w+3 LINKNODE (ownerId of the node the lock is
 * being handed to, or whose successor link is being moved into NEXT; 0 = none). In each
 * thread's node (LockNode): FLAG, NEXT, PRED, WAIT.
 *
 * Invariants (each "step" is terminate-atomic: one atomic operation, then plain stores):
 * - Holder: -TAIL when TAIL < 0, else HOLDER (when TAIL > 0), except during a hand-off:
 *   from the grant (releaser CASes the successor's FLAG to 0) until the successor writes
 *   HOLDER := itself, HOLDER still names the releaser and LINKNODE the successor, whose
 *   FLAG reads 0 (recovery tells the two apart by that FLAG).
 * - Uncontended: lock = CAS TAIL 0 -> -id, then HOLDER := id; unlock = CAS TAIL -id -> 0
 *   (when NEXT is 0).
 * - Enqueue step: exchange TAIL := id, then record PRED and WAIT and link: into the lock
 *   block's NEXT when the old TAIL was -holder (also writing HOLDER := holder), into the
 *   old tail's node NEXT when it was a waiter, or take the lock when it was 0. Waiters
 *   spin on their own FLAG only (then park on it).
 * - Grant (releaser R to first waiter S): NEXT := 0 and LINKNODE := S, then CAS S's FLAG
 *   {1, 2} -> 0 (and notify if it was parked). S then writes HOLDER := S, moves its node's
 *   NEXT into the lock block (or swings TAIL from S to -S), and clears LINKNODE and WAIT.
 * - Dead waiter: recovery CASes its FLAG {1,2} -> 3 (abandoned). A grant meeting 3 keeps
 *   the lock with R, marks the node 4, moves the dead node's link into the lock block as
 *   the dead thread would have, frees the node (FLAG 0) and releases again. Whichever CAS
 *   on FLAG wins decides whether the dead thread was granted (a dead holder) or abandoned.
 *   A thread reusing the dead owner id waits for its node to leave states 3/4.
 * - Dead holder (also while being granted, moving its link, granting, or passing over a
 *   dead waiter): recovery finishes that step as recorded in LINKNODE and the FLAG of that
 *   node, then runs the release on its behalf (the same code a live unlock runs).
 * - Known gap: if a thread dies releasing (after its TAIL CAS, HOLDER stale = its id), and
 *   at the moment of its recovery a live thread has just taken the lock and a second live
 *   thread has just queued behind it, both preempted before their next plain store,
 *   recovery could take the stale HOLDER for the dead thread's. It needs two live threads
 *   descheduled inside one-instruction windows at that exact moment.
 *
 * Waiting policy (LockInit.policy): 'spin' spins on its own flag and never parks;
 * 'spin-then-park' (default: a descheduled predecessor costs the queue at most one
 * context switch of spinning per waiter) spins the budget when first in line (FAR_SPIN
 * when queued behind another waiter), then parks; 'park' parks at once. A new holder
 * wakes its parked successor ahead of time (wakeAhead), so that it spins, not sleeps,
 * when the grant comes.
 *
 * Descheduled holder or waiter: waiters spin on their own flag then park
 * (untimed; a grant always notifies a parked flag, and recovery re-notifies when the
 * granter died before doing so). A releaser, or a new holder, whose successor has swapped
 * TAIL but not linked yet (descheduled between the two) spins, then yields with timed
 * waits on the link word until it appears. FIFO: a descheduled first waiter stalls the
 * queue until it runs (the price of MCS's fairness).
 */
import { LockNode, LockStat, type DeadThreadAtLock, type DeadThreadRole, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, NO_STATS, cpuRelax, nodeGeometry, now, recordContended, yieldWait } from './common.js';

const TAIL = 0;
const HOLDER = 1;
const NEXT = 2;
const LINKNODE = 3;
const { FLAG, NEXT: N_NEXT, PRED, WAIT } = LockNode;
const WAITING = 1;
const PARKED = 2;
const ABANDONED = 3;
const PASSING = 4;
const LINK_SPIN = 64;
/** Spin budget of a waiter queued behind another waiter (under 'spin-then-park'). */
const FAR_SPIN = 16;
const LINK_YIELD_MS = 0.05;
const REUSE_YIELD_MS = 1;

export class McsLock extends LockFields implements Lock {
  readonly kind: LockKind = 'mcs';
  private readonly n: number; // this thread's queue node
  private readonly nb: number; // node of owner id k = nb + k * ns
  private readonly ns: number;
  private readonly neg: number; // -ownerId: TAIL while held with nobody queued

  constructor(init: LockInit, kind: LockKind = 'mcs') {
    super(init, kind);
    if (!init.nodeWord) throw new TypeError(`${kind} lock: init.nodeWord is required`);
    const g = nodeGeometry(init.nodeWord, init.i32.length, kind);
    this.nb = g.base;
    this.ns = g.stride;
    this.n = g.base + init.ownerId * g.stride;
    this.neg = -init.ownerId;
    if (this.n + LockNode.REG >= init.i32.length) throw new RangeError('mcs lock: queue node out of range');
  }

  lock(): void {
    if (Atomics.compareExchange(this.i32, this.w + TAIL, 0, this.neg) === 0) {
      this.i32[this.w + HOLDER] = this.id;
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    this.lockSlow();
  }

  /** The queueing acquire (after the fast path's CAS failed). */
  protected lockSlow(): void {
    const i32 = this.i32;
    const w = this.w;
    const n = this.n;
    const id = this.id;
    const t0 = now();
    let spins = 0;
    let parks = 0;
    // Our owner id may be a dead thread's, whose node a releaser has not passed over yet.
    for (let f = Atomics.load(i32, n + FLAG); f === ABANDONED || f === PASSING; f = Atomics.load(i32, n + FLAG)) {
      parks++;
      yieldWait(i32, n + FLAG, f, REUSE_YIELD_MS);
    }
    i32[n + N_NEXT] = 0;
    i32[n + FLAG] = WAITING;
    // Enqueue step: the exchange, then only plain stores (no termination point).
    const pred = Atomics.exchange(i32, w + TAIL, id);
    i32[n + PRED] = pred;
    i32[n + WAIT] = w + 1;
    if (pred === 0) {
      i32[n + FLAG] = 0;
      i32[w + LINKNODE] = id;
      i32[w + HOLDER] = id;
    } else if (pred < 0) {
      i32[w + HOLDER] = -pred;
      i32[w + NEXT] = id;
    } else {
      i32[this.nb + pred * this.ns + N_NEXT] = id;
    }
    const flag = n + FLAG;
    // Only the first in line (queued right behind the holder) spins its budget; a waiter
    // further back parks almost at once and leaves the cores to the holder and its
    // successor, until the thread before it takes the lock and wakes it ahead of time.
    let budget = pred <= 0 ? this.spinLimit : Math.min(this.spinLimit, FAR_SPIN);
    let since = 0;
    while (Atomics.load(i32, flag) !== 0) {
      if (since < budget) {
        spins++;
        since++;
        continue;
      }
      // Declare "parked" so the releaser knows to notify, then sleep on our own flag.
      if (Atomics.compareExchange(i32, flag, WAITING, PARKED) === WAITING || Atomics.load(i32, flag) === PARKED) {
        parks++;
        if (Atomics.wait(i32, flag, PARKED) === 'ok') {
          budget = this.spinLimit; // woken: granted, or woken ahead as next in line
          since = 0;
        }
      }
    }
    i32[w + HOLDER] = id;
    moveLink(i32, w, this.nb, this.ns, id, id);
    i32[n + WAIT] = 0;
    wakeAhead(i32, w, this.nb, this.ns, this.s, this.b);
    recordContended(this.s, this.b, t0, spins, parks);
  }

  tryLock(): boolean {
    if (Atomics.compareExchange(this.i32, this.w + TAIL, 0, this.neg) !== 0) return false;
    this.i32[this.w + HOLDER] = this.id;
    this.s[this.b + LockStat.acquisitions]++;
    return true;
  }

  unlock(): void {
    const i32 = this.i32;
    const w = this.w;
    if (Atomics.load(i32, w + NEXT) === 0 && Atomics.compareExchange(i32, w + TAIL, this.neg, 0) === this.neg) return;
    release(i32, w, this.nb, this.ns, this.id, this.s, this.b);
  }

  holder(): number {
    return mcsHolder(this.i32, this.w);
  }
}

/**
 * The holder `holderId` (or whoever acts for it) moves the successor link out of node `x`
 * (the node the lock was granted to) into the lock block; with `free`, x is a dead
 * waiter's node being passed over, released for its owner id's next thread in the same
 * step. Each atomic is followed only by plain stores, so a death anywhere leaves a state
 * recovery can finish (LINKNODE still names x until the link is in place).
 */
function moveLink(i32: Int32Array, w: number, nb: number, ns: number, x: number, holderId: number, free = false): void {
  const xn = nb + x * ns;
  let succ = Atomics.load(i32, xn + N_NEXT);
  if (succ === 0) {
    if (Atomics.compareExchange(i32, w + TAIL, x, -holderId) === x) {
      i32[w + LINKNODE] = 0;
      // Plain stores in the same step (no call): the passed-over node is free for reuse.
      if (free) i32[xn + WAIT] = i32[xn + FLAG] = 0;
      return;
    }
    succ = awaitLink(i32, xn + N_NEXT); // a waiter swapped TAIL past x and links itself now
  }
  i32[w + NEXT] = succ;
  i32[w + LINKNODE] = 0;
  if (free) i32[xn + WAIT] = i32[xn + FLAG] = 0;
}

/**
 * The new holder wakes its parked successor ahead of time (without granting: its flag
 * stays PARKED, it spins its budget, then parks again), so that the successor is running
 * when the release comes and the hand-over does not wait for a wake-up.
 */
function wakeAhead(i32: Int32Array, w: number, nb: number, ns: number, s: Float64Array, b: number): void {
  const succ = Atomics.load(i32, w + NEXT);
  if (succ === 0) return;
  const f = nb + succ * ns + FLAG;
  if (Atomics.load(i32, f) === PARKED) {
    const woken = Atomics.notify(i32, f, 1);
    if (woken > 0) s[b + LockStat.wakeups] += woken;
  }
}

/** A successor swapped TAIL but has not written its link at `at` yet: wait for it. */
function awaitLink(i32: Int32Array, at: number): number {
  let succ: number;
  let k = 0;
  while ((succ = Atomics.load(i32, at)) === 0) {
    if (++k < LINK_SPIN) cpuRelax(8);
    else yieldWait(i32, at, 0, LINK_YIELD_MS); // the linker may be descheduled
  }
  return succ;
}

/**
 * Unlock by `id`, which holds the lock with its link in the lock block: releases it, or
 * grants it to the first waiter, passing over waiters found abandoned (dead).
 */
function release(i32: Int32Array, w: number, nb: number, ns: number, id: number, s: Float64Array, b: number): void {
  for (;;) {
    let succ = Atomics.load(i32, w + NEXT);
    if (succ === 0) {
      if (Atomics.compareExchange(i32, w + TAIL, -id, 0) === -id) return;
      succ = awaitLink(i32, w + NEXT);
    }
    const sn = nb + succ * ns;
    i32[w + NEXT] = 0;
    i32[w + LINKNODE] = succ;
    if (grant(i32, sn, s, b)) return;
    // The successor died in the queue: keep the lock, take its place, release again.
    passOver(i32, w, nb, ns, succ, id);
  }
}

/**
 * Opens the flag at node sn ({1,2} -> 0, waking it if parked): true if granted; false if
 * the node was abandoned (its thread is dead), in which case it is now PASSING.
 */
function grant(i32: Int32Array, sn: number, s: Float64Array, b: number): boolean {
  let f = Atomics.compareExchange(i32, sn + FLAG, WAITING, 0);
  if (f === PARKED) f = Atomics.compareExchange(i32, sn + FLAG, PARKED, 0);
  if (f === WAITING || f === PARKED) {
    s[b + LockStat.handoffs]++;
    if (f === PARKED) {
      const woken = Atomics.notify(i32, sn + FLAG, 1);
      if (woken > 0) s[b + LockStat.wakeups] += woken;
    }
    return true;
  }
  if (f === ABANDONED) Atomics.compareExchange(i32, sn + FLAG, ABANDONED, PASSING);
  return false;
}

/** `holderId` keeps the lock that reached dead waiter `dead` (FLAG PASSING): takes its place. */
function passOver(i32: Int32Array, w: number, nb: number, ns: number, dead: number, holderId: number): void {
  moveLink(i32, w, nb, ns, dead, holderId, true);
}

export function mcsHolder(i32: Int32Array, w: number): number {
  const tail = Atomics.load(i32, w + TAIL);
  if (tail === 0) return 0;
  return tail < 0 ? -tail : Atomics.load(i32, w + HOLDER);
}

/**
 * Recovery of dead thread `dead`: if it waited in this lock's queue and was not granted
 * yet, marks its node abandoned (the next grant passes over it); if it holds the lock (in
 * any step from being granted to the end of its release), calls `undo` and then finishes
 * the step it died in and the release on its behalf. Safe while live threads use the lock.
 */
export function mcsRecover(d: DeadThreadAtLock): DeadThreadRole {
  const { i32, word: w, nodeWord, dead, undo } = d;
  if (!nodeWord) throw new TypeError('mcs recovery: nodeWord is required');
  const { base: nb, stride: ns } = nodeGeometry(nodeWord, i32.length, 'mcs');
  const dn = nb + dead * ns;
  if (Atomics.load(i32, dn + WAIT) === w + 1) {
    let f = Atomics.compareExchange(i32, dn + FLAG, WAITING, ABANDONED);
    if (f === PARKED) f = Atomics.compareExchange(i32, dn + FLAG, PARKED, ABANDONED);
    if (f === WAITING || f === PARKED) {
      Atomics.store(i32, dn + WAIT, 0);
      return 'waited';
    }
    if (f !== 0) return 'waited'; // already abandoned or being passed over
    // f === 0: it was granted (or found the lock free): it is, or is becoming, the holder.
    Atomics.store(i32, w + HOLDER, dead);
  }
  const tail = Atomics.load(i32, w + TAIL);
  const x = Atomics.load(i32, w + LINKNODE);
  const xFlag = x !== 0 && x !== dead ? Atomics.load(i32, nb + x * ns + FLAG) : -1;
  const held = tail < 0 ? tail === -dead : tail > 0 && Atomics.load(i32, w + HOLDER) === dead && xFlag !== 0;
  if (!held) {
    // It may have granted the lock to x and died before waking it.
    if (tail > 0 && xFlag === 0 && Atomics.load(i32, w + HOLDER) === dead) Atomics.notify(i32, nb + x * ns + FLAG);
    return 'none';
  }
  undo();
  if (x === dead) {
    moveLink(i32, w, nb, ns, dead, dead); // it died taking over: finish for it
  } else if (x !== 0) {
    // It died granting the lock to x: finish the grant, or pass x over if x is dead too.
    const xn = nb + x * ns;
    if (Atomics.load(i32, xn + FLAG) === PASSING || !grant(i32, xn, NO_STATS, 0)) passOver(i32, w, nb, ns, x, dead);
    else {
      Atomics.store(i32, dn + WAIT, 0);
      return 'held';
    }
  }
  Atomics.store(i32, dn + WAIT, 0);
  release(i32, w, nb, ns, dead, NO_STATS, 0);
  return 'held';
}
