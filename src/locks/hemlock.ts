/**
 * Hemlock (Dice & Kogan, SPAA 2021): FIFO, one word per lock (TAIL) plus one word per
 * thread (its Grant word), exchange and CAS only, no per-lock queue nodes. A waiter swaps
 * its id into TAIL and watches its predecessor's Grant word until it names this lock; it
 * acknowledges by clearing it; a releaser with a successor publishes the lock in its own
 * Grant word and waits for that acknowledgement before it returns. (It cannot leave
 * earlier: once it has re-queued as the tail, a newcomer behind it would read the grant
 * meant for its old successor as its own.)
 *
 * Owns, in its lock block: w+0 TAIL (ownerId of the last arrival; 0 = free), w+1 HOLDER
 * (ownerId of the holder, valid while TAIL != 0). In each thread's queue node: GRANT
 * (word + 1 of the lock this thread has granted and whose successor has not acknowledged
 * yet; 0 = none), WAIT (the lock it waits for), PRED (the predecessor's ownerId).
 *
 * Invariants: a Grant word is nonzero only inside its owner's unlock (published, not yet
 * acknowledged); only the successor clears it. One Grant word serves all locks:
 * each waiter compares it with its own lock's word + 1.
 *
 * Waiting policy: waiters spin on the predecessor's Grant then park on it; a releaser
 * awaiting the acknowledgement likewise on its own (so a descheduled successor stalls its
 * predecessor's release as well: the price of one word per thread). Every store to a Grant word is followed
 * by a notify (a waiter cannot announce itself in another thread's word without a second
 * word, and notify with nobody waiting is cheap next to a park). Default 'spin-then-park'.
 *
 * Recovery: a dead holder is released on its behalf (its Grant published, or TAIL cleared).
 * A dead WAITER cannot be passed over: it is known only to its successor (by the TAIL value
 * that successor swapped), and its duties are to acknowledge its predecessor's grant and
 * later grant its successor, which recovery could only do by taking the lock itself and
 * waiting for it. So Hemlock is a lab-only kind, refused as a tier lock. Lock order: leaf.
 */
import { LockNode, LockStat, type DeadThreadAtLock, type DeadThreadRole, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, refuseDeadWaiter, nodeGeometry, now, recordContended } from './common.js';

const TAIL = 0;
const HOLDER = 1;
const { WAIT, PRED, GRANT } = LockNode;

export class HemlockLock extends LockFields implements Lock {
  readonly kind: LockKind = 'hemlock';
  private readonly n: number;
  private readonly nb: number;
  private readonly ns: number;

  constructor(init: LockInit) {
    super(init, 'hemlock');
    if (!init.nodeWord) throw new TypeError('hemlock lock: init.nodeWord is required');
    const g = nodeGeometry(init.nodeWord, init.i32.length, 'hemlock');
    this.nb = g.base;
    this.ns = g.stride;
    this.n = g.base + init.ownerId * g.stride;
  }

  lock(): void {
    const i32 = this.i32;
    const w = this.w;
    const pred = Atomics.exchange(i32, w + TAIL, this.id);
    if (pred === 0) {
      i32[w + HOLDER] = this.id;
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    i32[this.n + PRED] = pred;
    i32[this.n + WAIT] = w + 1;
    const t0 = now();
    const g = this.nb + pred * this.ns + GRANT;
    const parks = waitUntil(i32, g, w + 1, this.spinLimit);
    Atomics.store(i32, g, 0); // acknowledge: the predecessor's Grant word is free again
    Atomics.notify(i32, g);
    i32[w + HOLDER] = this.id;
    i32[this.n + WAIT] = 0;
    recordContended(this.s, this.b, t0, parks.spins, parks.parks);
  }

  tryLock(): boolean {
    if (Atomics.compareExchange(this.i32, this.w + TAIL, 0, this.id) !== 0) return false;
    this.i32[this.w + HOLDER] = this.id;
    this.s[this.b + LockStat.acquisitions]++;
    return true;
  }

  unlock(): void {
    const i32 = this.i32;
    if (Atomics.compareExchange(i32, this.w + TAIL, this.id, 0) === this.id) return;
    hemlockGrant(i32, this.n + GRANT, this.w, this.spinLimit);
  }

  holder(): number {
    return hemlockHolder(this.i32, this.w);
  }
}

const counts = { spins: 0, parks: 0 };
/** Spins (up to `limit`) and then parks on i32[at] until it reads `target`; returns the counts (reused object). */
function waitUntil(i32: Int32Array, at: number, target: number, limit: number): typeof counts {
  let spins = 0;
  let parks = 0;
  for (let v = Atomics.load(i32, at); v !== target; v = Atomics.load(i32, at)) {
    if (++spins < limit) continue;
    parks++;
    Atomics.wait(i32, at, v);
  }
  counts.spins = spins;
  counts.parks = parks;
  return counts;
}

/** Publishes lock `w` in Grant word `g` and waits for the successor's acknowledgement. */
function hemlockGrant(i32: Int32Array, g: number, w: number, limit: number): void {
  Atomics.store(i32, g, w + 1);
  Atomics.notify(i32, g);
  waitUntil(i32, g, 0, limit);
}

export function hemlockHolder(i32: Int32Array, w: number): number {
  return Atomics.load(i32, w + TAIL) === 0 ? 0 : Atomics.load(i32, w + HOLDER);
}

/** Recovery of a dead holder only (see the header: a dead waiter wedges Hemlock). */
export function hemlockRecover(d: DeadThreadAtLock): DeadThreadRole {
  const { i32, word: w, nodeWord, dead, undo } = d;
  if (!nodeWord) throw new TypeError('hemlock recovery: nodeWord is required');
  refuseDeadWaiter(d, 'hemlock');
  if (hemlockHolder(i32, w) !== dead) return 'none';
  undo();
  if (Atomics.compareExchange(i32, w + TAIL, dead, 0) !== dead) hemlockGrant(i32, nodeWord(dead) + GRANT, w, 0);
  return 'held';
}
