/**
 * Test-and-test-and-set spinlock with exponential backoff (Anderson 1990) that yields.
 *
 * Owns: two words of its lock block. w+0: 0 = free, else the holder's ownerId (written by
 * the acquiring CAS, so holder() is exact while held). w+1: number of threads currently
 * inside a timed Atomics.wait on w+0 (the "parked" count).
 *
 * Invariants:
 * - Waiters spin on plain Atomics.load (no stores) until the word reads 0, then try one
 *   CAS 0 -> ownerId; a failed CAS doubles the backoff delay (up to MAX_BACKOFF).
 * - unlock stores 0 and notifies one sleeper only if the parked count is nonzero, so an
 *   unlock with nobody asleep costs one store and one load.
 * - A sleeper increments the count before it waits and decrements it after; a notify
 *   that races with a sleeper entering the wait can at worst be missed, and then the
 *   sleeper's timeout (at most MAX_YIELD_MS) bounds the delay.
 *
 * Descheduled holder (workers can outnumber the 2 cores): after SPIN_LIMIT spins a waiter
 * YIELDS with a short timed Atomics.wait on the lock word, starting at MIN_YIELD_MS and
 * doubling up to MAX_YIELD_MS, so the descheduled holder can get a core and finish. The
 * wait returns at once if the word changed, so yielding costs nothing when the holder is
 * already gone. A holder that dies leaves its id; forceUnlock clears it and wakes all.
 */
import { LockStat, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, cpuRelax, notifyOne, now, recordContended } from './common.js';

const SPIN_LIMIT = 200; // spin iterations (loads) before the first yield
const MAX_BACKOFF = 1024; // cpuRelax iterations, the cap of the exponential backoff
const MIN_YIELD_MS = 0.05;
const MAX_YIELD_MS = 1;

export class TtasLock extends LockFields implements Lock {
  readonly kind: LockKind = 'ttas';

  constructor(init: LockInit) {
    super(init, 'ttas');
  }

  lock(): void {
    if (Atomics.compareExchange(this.i32, this.w, 0, this.id) === 0) {
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    this.lockSlow();
  }

  private lockSlow(): void {
    const i32 = this.i32;
    const w = this.w;
    const t0 = now();
    let spins = 0;
    let parks = 0;
    let backoff = 4;
    let sinceYield = 0;
    let yieldMs = MIN_YIELD_MS;
    for (;;) {
      const v = Atomics.load(i32, w);
      if (v === 0) {
        if (Atomics.compareExchange(i32, w, 0, this.id) === 0) break;
        // Lost the race: back off so the winners' cache line settles.
        cpuRelax(backoff);
        if (backoff < MAX_BACKOFF) backoff *= 2;
        continue;
      }
      spins++;
      if (++sinceYield < SPIN_LIMIT) continue;
      // The holder may be descheduled: give the core away for a little while.
      sinceYield = 0;
      parks++;
      Atomics.add(i32, w + 1, 1);
      Atomics.wait(i32, w, v, yieldMs);
      Atomics.sub(i32, w + 1, 1);
      if (yieldMs < MAX_YIELD_MS) yieldMs = Math.min(MAX_YIELD_MS, yieldMs * 2);
    }
    recordContended(this.s, this.b, t0, spins, parks);
  }

  tryLock(): boolean {
    if (Atomics.compareExchange(this.i32, this.w, 0, this.id) === 0) {
      this.s[this.b + LockStat.acquisitions]++;
      return true;
    }
    return false;
  }

  unlock(): void {
    Atomics.store(this.i32, this.w, 0);
    if (Atomics.load(this.i32, this.w + 1) !== 0) notifyOne(this.i32, this.w, this.s, this.b);
  }

  holder(): number {
    return Atomics.load(this.i32, this.w);
  }
}
