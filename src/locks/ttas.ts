/**
 * Test-and-test-and-set spinlock with exponential backoff (Anderson 1990) that yields.
 *
 * Owns: word 0 of its lock block: 0 = free, else the holder's ownerId (written by the
 * acquiring CAS, so holder() is exact while held). The word, the fast path, tryLock,
 * unlock and holder() are tas.ts's (TasFamilyLock); only the waiting loop is ttas's own.
 *
 * Invariants:
 * - Waiters spin on plain Atomics.load (no stores) until the word reads 0, then try one
 *   CAS 0 -> ownerId; a failed CAS doubles the backoff delay (up to MAX_BACKOFF).
 * - unlock is one store of 0 and never notifies: sleepers only ever sleep with a timeout.
 *   Measured on 2 cores (docs/notes/2026-11-26-locks-results.md): a parked-waiter count plus a notify on
 *   unlock was no better and mostly worse (at 32..64 workers about half the throughput)
 *   than timeout-only, because every wake-up puts one more runnable thread on the two
 *   busy cores; so the cheaper unlock won.
 *
 * Descheduled holder (workers can outnumber the 2 cores): after SPIN_LIMIT spins a waiter
 * YIELDS with a short timed Atomics.wait on the lock word, starting at MIN_YIELD_MS and
 * doubling up to MAX_YIELD_MS, so the descheduled holder can get a core and finish. The
 * wait returns at once if the word has already changed, so yielding costs nothing when
 * the holder is gone; a release while a waiter sleeps costs that waiter at most
 * MAX_YIELD_MS. A holder that dies leaves its id; forceUnlock clears it and wakes all.
 */
import type { LockInit, LockKind } from './lock.js';
import { cpuRelax, now, recordContended } from './common.js';
import { TasFamilyLock } from './tas.js';

const SPIN_LIMIT = 200; // spin iterations (loads) before the first yield
const MAX_BACKOFF = 1024; // cpuRelax iterations, the cap of the exponential backoff
const MIN_YIELD_MS = 0.05;
const MAX_YIELD_MS = 1;

export class TtasLock extends TasFamilyLock {
  readonly kind: LockKind = 'ttas';

  constructor(init: LockInit) {
    super(init, 'ttas');
  }

  protected lockSlow(): void {
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
      Atomics.wait(i32, w, v, yieldMs);
      if (yieldMs < MAX_YIELD_MS) yieldMs = Math.min(MAX_YIELD_MS, yieldMs * 2);
    }
    recordContended(this.s, this.b, t0, spins, parks);
  }
}
