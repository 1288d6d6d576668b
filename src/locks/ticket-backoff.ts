/**
 * Ticket lock with proportional backoff (Mellor-Crummey & Scott 1991, section 2.2): a
 * waiter whose ticket is k places behind the one being served waits about k times the
 * expected critical section before it looks at SERVING again, so the waiters' re-reads do
 * not keep the holder's cache line busy.
 *
 * Owns: its lock block, laid out and kept exactly as the ticket lock's (ticket.ts: NEXT,
 * SERVING, OWNER, PARKED, ABANDONED entries, wake-up slots); only the waiting differs.
 *
 * Invariants: those of ticket.ts (only the holder moves SERVING; a dead waiter's ticket
 * is passed over through ABANDONED; terminate-atomic steps around taking a ticket and
 * seeing it served). Recovery is the ticket lock's (ticketRecover, ticketHolder).
 *
 * Waiting policy: the spin budget counts re-reads of SERVING, each preceded by a delay of
 * (distance - 1) * BACKOFF_BASE relax iterations (capped at BACKOFF_MAX); 'spin' never
 * parks, 'spin-then-park' (default) parks on its ticket's slot once the budget is spent,
 * 'park' parks at once. Lock order: none of its own (a leaf lock).
 *
 * Descheduled holder: backoff does nothing for it; parking gives its core back.
 */
import type { LockInit, LockKind } from './lock.js';
import { cpuRelax } from './common.js';
import { TicketFamilyLock, TicketWord } from './ticket.js';

const { SERVING } = TicketWord;
/** Relax iterations per waiter ahead: about one short critical section on this machine. */
const BACKOFF_BASE = 32;
const BACKOFF_MAX = 4096;
/** Spins between two looks at ABANDONED: fewer than the ticket lock's, each spin being slower. */
const SKIP_EVERY = 1024;

export class TicketBackoffLock extends TicketFamilyLock {
  readonly kind: LockKind = 'ticket-backoff';

  constructor(init: LockInit) {
    super(init, 'ticket-backoff', SKIP_EVERY);
  }

  protected waitFor(t: number): void {
    const i32 = this.i32;
    const w = this.w;
    const limit = this.spinLimit;
    for (;;) {
      const serving = Atomics.load(i32, w + SERVING);
      if (serving === t) return;
      if (this.waiter.missed(t, 1, limit)) continue; // slept or passed a turn on: look at once
      const ahead = (((t - serving) | 0) >> 1) - 1;
      if (ahead > 0) cpuRelax(Math.min(ahead * BACKOFF_BASE, BACKOFF_MAX));
    }
  }
}
