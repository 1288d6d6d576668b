/**
 * MCS queue lock (Mellor-Crummey & Scott 1991), K42 variant: a thread's queue node is used
 * only while it waits; once it holds the lock, its successor link lives in the lock block.
 * So one node per thread serves any number of locks held at once (nesting is safe), and a
 * waiter killed in the queue can be passed over.
 *
 * Owns, in its lock block: w+0 TAIL (0 = free; -ownerId = held by ownerId with nobody
 * queued; ownerId > 0 = that thread is the last waiter), w+1 HOLDER (ownerId of the holder,
 * 0 = none), w+2 NEXT (ownerId of the first waiter, linked by that waiter, 0 = none yet),
 * w+3 LINKNODE (ownerId whose node still carries the holder's successor link while it is
 * being moved into NEXT, 0 = the link is in NEXT). In each thread's node (LockNode): FLAG,
 * NEXT, PRED, WAIT.
 *
 * Invariants:
 * - Uncontended: lock = CAS TAIL 0 -> -id, HOLDER := id; unlock = HOLDER := 0, CAS TAIL
 *   -id -> 0 (when NEXT is 0). HOLDER is never stale: it names the holder or is 0.
 * - Enqueue (one terminate-atomic step): FLAG := 1, exchange TAIL := id, record PRED and
 *   WAIT, link: into the lock block's NEXT when the old TAIL was -holder, into the old
 *   tail's node NEXT when it was a waiter, or take the lock when it was 0. Waiters spin on
 *   their own FLAG only (then park on it).
 * - Grant (releaser R to first waiter S): NEXT := 0, LINKNODE := S, HOLDER := S, then FLAG
 *   of S {1,2} -> 0 by CAS (a notify if it was 2). The new holder moves its node's NEXT
 *   into the lock block (or swings TAIL from itself to -itself), then LINKNODE := 0 and
 *   its WAIT := 0: from then on its node is free for its next wait.
 * - Dead waiter: recovery CASes its FLAG {1,2} -> 3 (abandoned). A releaser whose grant
 *   meets 3 keeps the lock (HOLDER := R), marks the node 4, moves the dead node's link
 *   into the lock block as the dead thread would have, frees the node (FLAG 0) and
 *   releases again. Whichever CAS on FLAG wins decides whether the dead thread was granted
 *   (then it is a dead holder) or abandoned. A thread reusing the dead owner id waits for
 *   its node to leave states 3/4 before it queues with it.
 * - Dead holder (also dead while moving its link, or while passing over a dead waiter):
 *   recovery finishes the link move recorded in LINKNODE, then runs the unlock on its
 *   behalf (the same code a live unlock runs).
 *
 * Descheduled holder or waiter: waiters spin SPIN times on their own flag then park
 * (untimed; a grant always notifies a parked flag). A releaser, or a new holder, whose
 * successor has swapped TAIL but not linked yet (descheduled between the two) spins, then
 * yields with timed waits on the link word until it appears. FIFO: a descheduled first
 * waiter stalls the queue until it runs (the price of MCS's fairness).
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
const SPIN = 128;
const LINK_SPIN = 64;
const LINK_YIELD_MS = 0.05;
const REUSE_YIELD_MS = 1;

export class McsLock extends LockFields implements Lock {
  readonly kind: LockKind = 'mcs';
  private readonly n: number; // this thread's queue node
  private readonly nb: number; // node of owner id k = nb + k * ns
  private readonly ns: number;
  private readonly neg: number; // -ownerId: TAIL while held with nobody queued

  constructor(init: LockInit) {
    super(init, 'mcs');
    if (!init.nodeWord) throw new TypeError('mcs lock: init.nodeWord is required');
    const g = nodeGeometry(init.nodeWord, init.i32.length, 'mcs');
    this.nb = g.base;
    this.ns = g.stride;
    this.n = g.base + init.ownerId * g.stride;
    this.neg = -init.ownerId;
    if (this.n + LockNode.REG >= init.i32.length) throw new RangeError('mcs lock: queue node out of range');
  }

  lock(): void {
    if (Atomics.compareExchange(this.i32, this.w + TAIL, 0, this.neg) === 0) {
      Atomics.store(this.i32, this.w + HOLDER, this.id);
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    this.lockSlow();
  }

  private lockSlow(): void {
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
    Atomics.store(i32, n + N_NEXT, 0);
    Atomics.store(i32, n + FLAG, WAITING);
    // Terminate-atomic enqueue: from the exchange to the link, no call and no loop.
    const pred = Atomics.exchange(i32, w + TAIL, id);
    Atomics.store(i32, n + PRED, pred);
    Atomics.store(i32, n + WAIT, w + 1);
    if (pred === 0) {
      Atomics.store(i32, n + FLAG, 0);
      Atomics.store(i32, w + LINKNODE, id);
      Atomics.store(i32, w + HOLDER, id);
    } else if (pred < 0) {
      Atomics.store(i32, w + NEXT, id);
    } else {
      Atomics.store(i32, this.nb + pred * this.ns + N_NEXT, id);
    }
    const flag = n + FLAG;
    while (Atomics.load(i32, flag) !== 0) {
      if (spins < SPIN) {
        spins++;
        continue;
      }
      // Declare "parked" so the releaser knows to notify, then sleep on our own flag.
      if (Atomics.compareExchange(i32, flag, WAITING, PARKED) === WAITING || Atomics.load(i32, flag) === PARKED) {
        parks++;
        Atomics.wait(i32, flag, PARKED);
      }
    }
    moveLink(i32, w, this.nb, this.ns, id, id);
    Atomics.store(i32, n + WAIT, 0);
    recordContended(this.s, this.b, t0, spins, parks);
  }

  tryLock(): boolean {
    if (Atomics.compareExchange(this.i32, this.w + TAIL, 0, this.neg) !== 0) return false;
    Atomics.store(this.i32, this.w + HOLDER, this.id);
    this.s[this.b + LockStat.acquisitions]++;
    return true;
  }

  unlock(): void {
    const i32 = this.i32;
    const w = this.w;
    if (Atomics.load(i32, w + NEXT) === 0) {
      Atomics.store(i32, w + HOLDER, 0);
      if (Atomics.compareExchange(i32, w + TAIL, this.neg, 0) === this.neg) return;
      Atomics.store(i32, w + HOLDER, this.id); // somebody is queueing behind us: still ours
    }
    release(i32, w, this.nb, this.ns, this.id, this.s, this.b);
  }

  holder(): number {
    return Atomics.load(this.i32, this.w + HOLDER);
  }
}

/**
 * The new holder `holderId` (or whoever acts for it) moves the successor link out of
 * node `x` (the node the lock was granted to) into the lock block. Idempotent at every
 * point a dead thread can stop in it.
 */
function moveLink(i32: Int32Array, w: number, nb: number, ns: number, x: number, holderId: number): void {
  const xn = nb + x * ns;
  let succ = Atomics.load(i32, xn + N_NEXT);
  if (succ === 0) {
    if (Atomics.compareExchange(i32, w + TAIL, x, -holderId) === x) {
      Atomics.store(i32, w + LINKNODE, 0);
      return;
    }
    succ = awaitLink(i32, xn + N_NEXT); // a waiter swapped TAIL past x and links itself now
  }
  Atomics.store(i32, w + NEXT, succ);
  Atomics.store(i32, w + LINKNODE, 0);
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
 * Unlock by `id`, which holds the lock with the link in the lock block: releases it, or
 * grants it to the first waiter, passing over waiters found abandoned (dead).
 */
function release(i32: Int32Array, w: number, nb: number, ns: number, id: number, s: Float64Array, b: number): void {
  for (;;) {
    let succ = Atomics.load(i32, w + NEXT);
    if (succ === 0) {
      Atomics.store(i32, w + HOLDER, 0);
      if (Atomics.compareExchange(i32, w + TAIL, -id, 0) === -id) return;
      Atomics.store(i32, w + HOLDER, id);
      succ = awaitLink(i32, w + NEXT);
    }
    const sn = nb + succ * ns;
    // Terminate-atomic grant: from NEXT := 0 to the flag CAS, no call and no loop.
    Atomics.store(i32, w + NEXT, 0);
    Atomics.store(i32, w + LINKNODE, succ);
    Atomics.store(i32, w + HOLDER, succ);
    let f = Atomics.compareExchange(i32, sn + FLAG, WAITING, 0);
    if (f === PARKED) f = Atomics.compareExchange(i32, sn + FLAG, PARKED, 0);
    if (f !== ABANDONED) {
      s[b + LockStat.handoffs]++;
      if (f === PARKED) {
        const woken = Atomics.notify(i32, sn + FLAG, 1);
        if (woken > 0) s[b + LockStat.wakeups] += woken;
      }
      return;
    }
    // The successor died in the queue: keep the lock, take its place, release again.
    Atomics.store(i32, w + HOLDER, id);
    Atomics.store(i32, sn + FLAG, PASSING);
    passOver(i32, w, nb, ns, succ, id);
  }
}

/** `holderId` holds the lock granted to dead waiter `dead` (FLAG PASSING): take its place. */
function passOver(i32: Int32Array, w: number, nb: number, ns: number, dead: number, holderId: number): void {
  moveLink(i32, w, nb, ns, dead, holderId);
  const dn = nb + dead * ns;
  Atomics.store(i32, dn + WAIT, 0);
  Atomics.store(i32, dn + FLAG, 0); // the node is free for the owner id's next thread
}

export function mcsHolder(i32: Int32Array, w: number): number {
  return Atomics.load(i32, w + HOLDER);
}

/**
 * Recovery of dead thread `dead`: if it waited in this lock's queue and was not granted
 * yet, marks its node abandoned (the next grant passes over it); if it holds the lock (in
 * any step from being granted to the end of its unlock), calls `undo` and then finishes
 * its link move and unlock on its behalf. Safe while live threads use the lock.
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
    // f === 0: it was granted (or found the lock free): it is the holder.
  }
  if (Atomics.load(i32, w + HOLDER) !== dead) return 'none';
  undo();
  const x = Atomics.load(i32, w + LINKNODE);
  if (x === dead) moveLink(i32, w, nb, ns, dead, dead);
  else if (x !== 0) passOver(i32, w, nb, ns, x, dead); // it died passing over dead waiter x
  Atomics.store(i32, dn + WAIT, 0);
  release(i32, w, nb, ns, dead, NO_STATS, 0);
  return 'held';
}
