/**
 * Partitioned ticket lock (Dice, SPAA 2011): the now-serving counter is split into
 * partitions; ticket t is granted by writing t into partition (t / step) mod 4, and its
 * waiter watches only that word, so a release disturbs the waiters of one partition.
 *
 * Owns: its lock block, laid out as the ticket lock's (ticket.ts); the four wake-up slots
 * at w+12..w+15 are the partitions (grant words). SERVING is kept as well (one more store
 * per release) because holder(), tryLock and recovery read the ticket lock's state.
 *
 * Invariants: those of ticket.ts, plus: an unlock stores SERVING := next, then partition
 * (next) := next (the grant). A waiter with ticket t holds the lock once its partition
 * reads t, or SERVING does (recovery's forced release and a pass-over of a dead waiter's
 * ticket move SERVING and bump every partition or store the grant). Grants in one
 * partition only grow (t, t + 8, ...), so a stale grant never reads as a later ticket's.
 * Recovery is the ticket lock's (ticketRecover, ticketHolder).
 *
 * Waiting policy: spin on the partition for the budget, then sleep on it ('spin' never
 * sleeps, 'park' at once). Default 'spin-then-park'. Lock order: a leaf lock.
 */
import type { LockInit, LockKind } from './lock.js';
import { TICKET_SLOT_MASK, TICKET_STEP, TicketFamilyLock, TicketWord, wakeNext } from './ticket.js';

const { SERVING, PARKED, SLOTS } = TicketWord;

export class PartitionedTicketLock extends TicketFamilyLock {
  readonly kind: LockKind = 'partitioned-ticket';

  constructor(init: LockInit) {
    super(init, 'partitioned-ticket');
  }

  protected waitFor(t: number): void {
    const i32 = this.i32;
    const w = this.w;
    const grant = w + SLOTS + ((t >> 1) & TICKET_SLOT_MASK);
    const limit = this.spinLimit;
    let seen = Atomics.load(i32, grant);
    // Every look at SERVING happens when the partition moved, or after a sleep or a
    // pass-over of a dead waiter's turn (missed returns true).
    while (seen !== t && Atomics.load(i32, w + SERVING) !== t) {
      while (Atomics.load(i32, grant) === seen) {
        if (this.waiter.missed(t, 1, limit)) break;
      }
      seen = Atomics.load(i32, grant);
    }
  }

  override unlock(): void {
    const i32 = this.i32;
    const w = this.w;
    const next = (i32[w + SERVING]! + TICKET_STEP) | 0;
    Atomics.store(i32, w + SERVING, next);
    Atomics.store(i32, w + SLOTS + ((next >> 1) & TICKET_SLOT_MASK), next);
    if (Atomics.load(i32, w + PARKED) !== 0) wakeNext(i32, w, next, this.s, this.b, this.spinLimit > 0);
  }
}
