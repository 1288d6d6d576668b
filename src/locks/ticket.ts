/**
 * FIFO ticket lock: take a ticket with fetch-and-add on NEXT, wait until SERVING equals it.
 *
 * Owns, in its lock block: w+0 NEXT (next ticket to hand out), w+1 SERVING (ticket now
 * allowed in), w+2 OWNER (ownerId of the holder, 0 = none), w+3 PARKED (threads inside
 * Atomics.wait), w+8..w+15 eight wake-up slots (a waiter with ticket t sleeps on slot
 * t & 7, so a release wakes only the sleepers whose ticket could be next).
 * Tickets wrap around int32; distances are computed with `| 0`.
 *
 * Invariants:
 * - Only the holder writes SERVING (unlock: SERVING + 1). Lock is free iff NEXT == SERVING.
 * - OWNER window: the new holder writes OWNER itself right after it sees its ticket
 *   served, and unlock clears OWNER right before advancing SERVING. In these two short
 *   windows holder() reads 0 although a thread is entitled to the lock. A thread that dies
 *   inside the first window (or while queued with a ticket) cannot be identified, and its
 *   ticket blocks everyone behind it: a ticket lock cannot skip a dead waiter.
 * - Sleeper protocol: a waiter increments PARKED, reads the slot's generation, re-checks
 *   SERVING, then waits on the slot; unlock advances SERVING, then, if PARKED > 0, bumps
 *   the slot's generation and notifies it. Either the waiter sees the new SERVING or the
 *   releaser sees its PARKED increment, so no wake-up is lost; the timed wait is a spare.
 *
 * Descheduled holder or waiter: FIFO means a descheduled waiter whose turn comes stalls
 * everybody (the classic weakness under oversubscription). To waste little CPU meanwhile,
 * only the next in line spins (up to SPIN_LIMIT); waiters further back spin FAR_SPIN times
 * and then sleep on their slot (timed, YIELD_MS) until their ticket is near.
 */
import { LockStat, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, now, recordContended } from './common.js';

const NEXT = 0;
const SERVING = 1;
const OWNER = 2;
const PARKED = 3;
const SLOTS = 8;
const SLOT_MASK = 7;
const SPIN_LIMIT = 256;
const FAR_SPIN = 16;
const YIELD_MS = 1;

export class TicketLock extends LockFields implements Lock {
  readonly kind: LockKind = 'ticket';

  constructor(init: LockInit) {
    super(init, 'ticket');
  }

  lock(): void {
    const t = Atomics.add(this.i32, this.w + NEXT, 1);
    if (Atomics.load(this.i32, this.w + SERVING) === t) {
      Atomics.store(this.i32, this.w + OWNER, this.id);
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    this.lockSlow(t);
  }

  private lockSlow(t: number): void {
    const i32 = this.i32;
    const w = this.w;
    const t0 = now();
    let spins = 0;
    let parks = 0;
    let sinceYield = 0;
    for (;;) {
      const serving = Atomics.load(i32, w + SERVING);
      if (serving === t) break;
      spins++;
      sinceYield++;
      const behind = (t - serving) | 0; // tickets ahead of us, including the holder's
      if (sinceYield < (behind > 1 ? FAR_SPIN : SPIN_LIMIT)) continue;
      sinceYield = 0;
      parks++;
      const slot = w + SLOTS + (t & SLOT_MASK);
      Atomics.add(i32, w + PARKED, 1);
      const gen = Atomics.load(i32, slot);
      if (Atomics.load(i32, w + SERVING) !== t) Atomics.wait(i32, slot, gen, YIELD_MS);
      Atomics.sub(i32, w + PARKED, 1);
    }
    Atomics.store(i32, w + OWNER, this.id);
    recordContended(this.s, this.b, t0, spins, parks);
  }

  tryLock(): boolean {
    const serving = Atomics.load(this.i32, this.w + SERVING);
    // Taking ticket `serving` is only possible when nobody else holds or awaits one.
    if (Atomics.compareExchange(this.i32, this.w + NEXT, serving, (serving + 1) | 0) !== serving) return false;
    Atomics.store(this.i32, this.w + OWNER, this.id);
    this.s[this.b + LockStat.acquisitions]++;
    return true;
  }

  unlock(): void {
    const i32 = this.i32;
    const w = this.w;
    Atomics.store(i32, w + OWNER, 0);
    const next = (Atomics.load(i32, w + SERVING) + 1) | 0;
    Atomics.store(i32, w + SERVING, next);
    if (Atomics.load(i32, w + PARKED) !== 0) wakeSlot(i32, w, next, this.s, this.b);
  }

  holder(): number {
    return Atomics.load(this.i32, this.w + OWNER);
  }
}

function wakeSlot(i32: Int32Array, w: number, ticket: number, s: Float64Array, b: number): void {
  const slot = w + SLOTS + (ticket & SLOT_MASK);
  Atomics.add(i32, slot, 1);
  const woken = Atomics.notify(i32, slot);
  if (woken > 0) s[b + LockStat.wakeups] += woken;
}

export function ticketHolder(i32: Int32Array, w: number): number {
  return Atomics.load(i32, w + OWNER);
}

/**
 * Recovery: if the lock is taken (NEXT != SERVING), passes it to the next ticket as the
 * dead holder's unlock would have, and wakes every sleeper.
 */
export function ticketForceUnlock(i32: Int32Array, w: number): void {
  const serving = Atomics.load(i32, w + SERVING);
  Atomics.store(i32, w + OWNER, 0);
  if (Atomics.load(i32, w + NEXT) !== serving) Atomics.store(i32, w + SERVING, (serving + 1) | 0);
  for (let k = 0; k < SLOTS; k++) {
    Atomics.add(i32, w + SLOTS + k, 1);
    Atomics.notify(i32, w + SLOTS + k);
  }
}
