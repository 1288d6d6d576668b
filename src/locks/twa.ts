/**
 * TWA, the ticket lock with a waiting array (Dice & Kogan, Euro-Par 2019): only the
 * waiter next in line watches SERVING; waiters further back watch a slot of a waiting
 * array chosen by their ticket, and look at SERVING again only when that slot moves, so a
 * release invalidates one cache line for the far waiters instead of all of them.
 *
 * Owns: its lock block, laid out as the ticket lock's (ticket.ts); the four wake-up slots
 * at w+12..w+15 are the waiting array (the paper's array is global and hashed by lock
 * and ticket; here it lives in the lock block, hashed by ticket).
 *
 * Invariants: those of ticket.ts, plus: an unlock that moves SERVING to `next` moves the
 * slot of ticket next + 1 step (the waiter that has just become next in line: TWA's
 * "long-term to short-term" hand-over), always; when somebody sleeps it wakes `next` and
 * the one after (ticket.ts wakeNext). A far waiter reads its slot, then SERVING, then waits for the slot to leave the
 * value it read: an unlock after the SERVING read moves the slot (no lost wake-up).
 * Recovery is the ticket lock's (ticketRecover, ticketHolder): a forced release moves
 * every slot.
 *
 * Waiting policy: the next in line spins on SERVING, far waiters on their slot, both for
 * the spin budget; then both sleep on their slot ('spin' never sleeps, 'park' at once).
 * Default 'spin-then-park'. Lock order: a leaf lock.
 */
import type { LockInit, LockKind } from './lock.js';
import { TICKET_SLOT_MASK, TICKET_STEP, TicketFamilyLock, TicketWord, wakeNext } from './ticket.js';

const { SERVING, PARKED, SLOTS } = TicketWord;
/** Slot re-reads between two looks at SERVING by a far waiter. */
const CHUNK = 256;

export class TwaLock extends TicketFamilyLock {
  readonly kind: LockKind = 'twa';

  constructor(init: LockInit) {
    super(init, 'twa');
  }

  protected waitFor(t: number): void {
    const i32 = this.i32;
    const w = this.w;
    const slot = w + SLOTS + ((t >> 1) & TICKET_SLOT_MASK);
    const limit = this.spinLimit;
    for (;;) {
      const seen = Atomics.load(i32, slot);
      const serving = Atomics.load(i32, w + SERVING);
      if (serving === t) return;
      // Far: watch the waiting-array slot, not SERVING (but look at SERVING every CHUNK
      // re-reads: a pass-over of a dead waiter's ticket does not move our slot).
      let k = 0;
      if (((t - serving) | 0) > TICKET_STEP) while (Atomics.load(i32, slot) === seen && k < CHUNK) k++;
      else while (Atomics.load(i32, w + SERVING) !== t && k < CHUNK) k++;
      this.waiter.missed(t, k + 1, limit);
    }
  }

  override unlock(): void {
    const i32 = this.i32;
    const w = this.w;
    const next = (i32[w + SERVING]! + TICKET_STEP) | 0;
    Atomics.store(i32, w + SERVING, next);
    const near = (next + TICKET_STEP) | 0;
    Atomics.store(i32, w + SLOTS + ((near >> 1) & TICKET_SLOT_MASK), near);
    if (Atomics.load(i32, w + PARKED) !== 0) wakeNext(i32, w, next, this.s, this.b, this.spinLimit > 0); // and `near`, ahead of time
  }
}
