/**
 * MCS queue lock (Mellor-Crummey & Scott 1991) with queue nodes found by owner id.
 *
 * Owns, in its lock block: w+0 TAIL (ownerId of the last thread in the queue, 0 = free),
 * w+1 HOLDER (ownerId of the holder), w+2 HOLDER_NODE (i32 index of the holder's queue
 * node, so recovery can release on a dead holder's behalf without knowing the node
 * layout). Each thread's queue node (init.nodeWord(ownerId), LOCK_NODE_WORDS words):
 * n+0 FLAG (0 = granted, 1 = waiting and spinning, 2 = waiting and parked),
 * n+1 NEXT (ownerId of the successor, 0 = none yet), n+2 NEXT_NODE (the successor's node
 * index, written before NEXT, so a releaser or recovery needs no id -> node mapping).
 *
 * Invariants:
 * - A thread enqueues with one exchange on TAIL; it links itself behind its predecessor
 *   by writing the predecessor's NEXT, then waits on its own FLAG only (no shared
 *   spinning, the point of MCS).
 * - HOLDER and HOLDER_NODE are written for a successor by the releaser *before* it grants
 *   FLAG = 0, so a queued thread is recorded as holder the moment it owns the lock. On the
 *   uncontended path the acquirer writes them right after its exchange on TAIL: in that
 *   window (and in unlock between clearing HOLDER and swinging TAIL to 0) holder() reads 0.
 * - unlock notifies the successor's FLAG only if the successor declared itself parked
 *   (FLAG 2), so a release to a spinning successor costs no syscall.
 * - A node serves one held/awaited lock at a time (the allocator never holds two locks).
 *
 * Descheduled holder or waiter: waiters spin SPIN times on their own flag then park
 * (untimed; the grant always notifies a parked flag). A releaser whose successor has
 * swapped TAIL but not yet linked itself (it may be descheduled right there) spins, then
 * yields with timed waits on its NEXT word until the link appears. A dead queued waiter
 * blocks the queue forever (an MCS property); a dead holder is released by forceUnlock.
 */
import { LOCK_NODE_WORDS, LockStat, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, NO_STATS, cpuRelax, now, recordContended, yieldWait } from './common.js';

const TAIL = 0;
const HOLDER = 1;
const HOLDER_NODE = 2;
const FLAG = 0;
const NEXT = 1;
const NEXT_NODE = 2;
const SPIN = 128;
const LINK_SPIN = 64;
const LINK_YIELD_MS = 0.05;

export class McsLock extends LockFields implements Lock {
  readonly kind: LockKind = 'mcs';
  private readonly n: number; // this thread's queue node
  private readonly nodeWord: (ownerId: number) => number;

  constructor(init: LockInit) {
    super(init, 'mcs');
    if (!init.nodeWord) throw new TypeError('mcs lock: init.nodeWord is required');
    this.nodeWord = init.nodeWord;
    this.n = init.nodeWord(init.ownerId);
    if (!(this.n >= 0 && this.n + LOCK_NODE_WORDS <= init.i32.length)) throw new RangeError('mcs lock: queue node out of range');
  }

  lock(): void {
    const i32 = this.i32;
    const n = this.n;
    Atomics.store(i32, n + NEXT, 0);
    Atomics.store(i32, n + FLAG, 1);
    const pred = Atomics.exchange(i32, this.w + TAIL, this.id);
    if (pred === 0) {
      Atomics.store(i32, this.w + HOLDER_NODE, n);
      Atomics.store(i32, this.w + HOLDER, this.id);
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    this.lockSlow(pred);
  }

  private lockSlow(pred: number): void {
    const i32 = this.i32;
    const flag = this.n + FLAG;
    const t0 = now();
    let spins = 0;
    let parks = 0;
    const pn = this.nodeWord(pred);
    Atomics.store(i32, pn + NEXT_NODE, this.n);
    Atomics.store(i32, pn + NEXT, this.id);
    while (Atomics.load(i32, flag) !== 0) {
      if (spins < SPIN) {
        spins++;
        continue;
      }
      // Declare "parked" so the releaser knows to notify, then sleep on our own flag.
      if (Atomics.compareExchange(i32, flag, 1, 2) === 1 || Atomics.load(i32, flag) === 2) {
        parks++;
        Atomics.wait(i32, flag, 2);
      }
    }
    recordContended(this.s, this.b, t0, spins, parks);
  }

  tryLock(): boolean {
    const i32 = this.i32;
    Atomics.store(i32, this.n + NEXT, 0);
    if (Atomics.compareExchange(i32, this.w + TAIL, 0, this.id) !== 0) return false;
    Atomics.store(i32, this.w + HOLDER_NODE, this.n);
    Atomics.store(i32, this.w + HOLDER, this.id);
    this.s[this.b + LockStat.acquisitions]++;
    return true;
  }

  unlock(): void {
    const i32 = this.i32;
    const n = this.n;
    let succ = Atomics.load(i32, n + NEXT);
    if (succ === 0) {
      Atomics.store(i32, this.w + HOLDER, 0);
      if (Atomics.compareExchange(i32, this.w + TAIL, this.id, 0) === this.id) return;
      succ = awaitLink(i32, n);
    }
    grant(i32, this.w, n, succ, this.s, this.b);
  }

  holder(): number {
    return Atomics.load(this.i32, this.w + HOLDER);
  }
}

/** A successor swapped TAIL but has not linked itself into node `n` yet: wait for it. */
function awaitLink(i32: Int32Array, n: number): number {
  let succ: number;
  let k = 0;
  while ((succ = Atomics.load(i32, n + NEXT)) === 0) {
    if (++k < LINK_SPIN) cpuRelax(8);
    else yieldWait(i32, n + NEXT, 0, LINK_YIELD_MS); // the linker may be descheduled
  }
  return succ;
}

/** Records successor `succ` of node `n` as holder, then opens its flag (waking it if parked). */
function grant(i32: Int32Array, w: number, n: number, succ: number, s: Float64Array, b: number): void {
  const sn = Atomics.load(i32, n + NEXT_NODE);
  Atomics.store(i32, w + HOLDER_NODE, sn);
  Atomics.store(i32, w + HOLDER, succ);
  s[b + LockStat.handoffs]++;
  if (Atomics.exchange(i32, sn + FLAG, 0) === 2) {
    const woken = Atomics.notify(i32, sn + FLAG, 1);
    if (woken > 0) s[b + LockStat.wakeups] += woken;
  }
}

export function mcsHolder(i32: Int32Array, w: number): number {
  return Atomics.load(i32, w + HOLDER);
}

/**
 * Recovery: performs the dead holder's unlock on its behalf, using the holder's node
 * index recorded in the lock block (no-op if nobody is recorded as holder).
 */
export function mcsForceUnlock(i32: Int32Array, w: number): void {
  const dead = Atomics.load(i32, w + HOLDER);
  if (dead === 0) return;
  const n = Atomics.load(i32, w + HOLDER_NODE);
  let succ = Atomics.load(i32, n + NEXT);
  if (succ === 0) {
    Atomics.store(i32, w + HOLDER, 0);
    if (Atomics.compareExchange(i32, w + TAIL, dead, 0) === dead) return;
    succ = awaitLink(i32, n);
  }
  grant(i32, w, n, succ, NO_STATS, 0);
}
