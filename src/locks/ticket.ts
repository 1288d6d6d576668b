/**
 * FIFO ticket lock: take a ticket with fetch-and-add on NEXT, wait until SERVING equals it.
 *
 * Owns, in its lock block: w+0 NEXT (next ticket to hand out), w+1 SERVING (ticket now
 * allowed in), w+2 OWNER (ownerId of the last thread served), w+3 PARKED (threads inside
 * Atomics.wait), w+5 OWNER_TICKET (the ticket OWNER was served with), w+8..w+11 ABANDONED (tickets of waiters that died in the queue, stored as
 * ticket + 1; 0 = empty entry), w+12..w+15 four wake-up slots (a waiter with ticket t
 * sleeps on slot (t >> 1) & 3, so a release wakes only the sleepers whose ticket could be
 * next). Tickets step by 2 (always even, so ticket + 1 is never 0) and wrap around int32;
 * distances are computed with `| 0`.
 *
 * Invariants:
 * - Only the holder writes SERVING (unlock: SERVING + 2, its one atomic step), except that
 *   anyone may CAS SERVING from an abandoned ticket to the next one: that ticket has no live
 *   owner. Lock is free iff NEXT == SERVING; held by OWNER iff also OWNER_TICKET == SERVING
 *   (so unlock never has to clear OWNER, and a stale OWNER never reads as holder).
 * - Terminate-atomic steps (see lock.ts): the fetch-and-add that takes ticket t is followed
 *   by plain stores of t and the lock into the taker's node (LockNode TICKET, WAIT); seeing
 *   SERVING == t is followed by plain stores of OWNER, OWNER_TICKET and WAIT := 0. So a dead
 *   thread is either a recorded waiter (its ticket is passed over) or the recorded holder.
 * - Dead waiter: recovery puts its ticket in ABANDONED; when SERVING reaches it, whoever
 *   looks first (recovery itself, a waiter between two sleeps, tryLock) moves SERVING on.
 *   Four entries: a fifth waiter dead at once on one lock makes recovery wait for an entry.
 * - Sleeper protocol: a waiter increments PARKED, reads the slot's generation, re-checks
 *   SERVING, then waits on the slot; unlock advances SERVING, then, if PARKED > 0, bumps
 *   the slot's generation and notifies it. Either the waiter sees the new SERVING or the
 *   releaser sees its PARKED increment, so no wake-up is lost; the timed wait is a spare
 *   (and how a sleeper notices an abandoned ticket in front of it).
 *
 * - Dead waiter whose ticket comes up later: the unlock that reaches it passes it on when
 *   ANY_ABANDONED (w+4, entries in use) is nonzero and sleepers exist; spinners check
 *   ABANDONED every SKIP_EVERY spins, and a sleeper's timed wait (SPARE_MS) is the spare.
 *
 * Waiting policy (LockInit.policy): 'spin' re-reads SERVING and never sleeps; 'park'
 * sleeps on its slot at once; 'spin-then-park' (default) spins about one context switch
 * when next in line, FAR_SPIN re-reads when further back, and then sleeps. A release
 * that finds sleepers wakes one sleeper of the served ticket's slot (passed on if it was
 * the wrong one) and, ahead of time, one of the following ticket's slot, so under
 * oversubscription the next in line is already running when its turn comes.
 * The same slot words, ABANDONED entries and recovery serve the other ticket kinds
 * (ticket-backoff, twa, partitioned-ticket): they differ only in how a waiter waits.
 *
 * Descheduled holder or waiter: FIFO means a descheduled waiter whose turn comes stalls
 * everybody (the classic weakness under oversubscription); parking waiters at least give
 * the cores to the holder and the next in line.
 */
import { LockNode, LockStat, type DeadThreadAtLock, type DeadThreadRole, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, NO_STATS, nodeOfOwner, now, ownNode, recordContended, yieldWait } from './common.js';


const NEXT = 0;
const SERVING = 1;
const OWNER = 2;
const PARKED = 3;
const ANY_ABANDONED = 4;
const OWNER_TICKET = 5;
const ABANDONED = 8;
const ABANDONED_ENTRIES = 4;
const SLOTS = 12;
const SLOT_COUNT = 4;
const SLOT_MASK = 3;
/** Spin budget of a waiter that is not next in line (under 'spin-then-park'). */
const FAR_SPIN = 16;
/** Spins between two looks at ABANDONED by a waiter inside its budget (the ticket kinds' default). */
const SKIP_EVERY = 4096;
/**
 * A sleeper's spare timeout: only a lost pass-over of a dead waiter's ticket needs it. Long,
 * because a sleeper that times out sleeps again behind its slot's other sleepers.
 */
const SPARE_MS = 200;
const YIELD_MS = 1;
export const TICKET_STEP = 2;
const STEP = TICKET_STEP;
const { WAIT, TICKET } = LockNode;

/** Word offsets of the ticket lock block, for the other ticket kinds. */
export const TicketWord = { NEXT, SERVING, OWNER, PARKED, OWNER_TICKET, SLOTS } as const;
export const TICKET_SLOT_MASK = SLOT_MASK;

/**
 * What every ticket kind shares: taking a ticket (lock's fast path), tryLock, holder(),
 * and the waiting around a look (TicketWaiter). Each kind writes its own look (waitFor:
 * what a waiter watches) and, where it differs, unlock (whom it wakes).
 */
export abstract class TicketFamilyLock extends LockFields implements Lock {
  protected readonly nodes: Int32Array; // where this thread records the ticket it waits with
  protected readonly n: number;

  /** the waiting every kind shares around its own way of watching (one per lock object) */
  protected readonly waiter: TicketWaiter;

  /** `skipEvery`: spins between two looks at ABANDONED by a waiter inside its budget (a power of two) */
  constructor(init: LockInit, kind: LockKind, skipEvery = SKIP_EVERY) {
    super(init, kind);
    const own = ownNode(init, kind);
    this.nodes = own.nodes;
    this.n = own.n;
    this.waiter = new TicketWaiter(this.i32, this.w, this.s, this.b, skipEvery);
  }

  lock(): void {
    const i32 = this.i32;
    const w = this.w;
    const t = Atomics.add(i32, w + NEXT, STEP);
    // Plain stores right after the atomic: no termination point between them (lock.ts).
    this.nodes[this.n + TICKET] = t;
    this.nodes[this.n + WAIT] = w + 1;
    if (Atomics.load(i32, w + SERVING) === t) {
      i32[w + OWNER] = this.id;
      i32[w + OWNER_TICKET] = t;
      this.nodes[this.n + WAIT] = 0;
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    const t0 = now();
    this.waiter.start();
    this.waitFor(t);
    // Plain stores right after the load that saw SERVING == t (inside waitFor's last step).
    i32[w + OWNER] = this.id;
    i32[w + OWNER_TICKET] = t;
    this.nodes[this.n + WAIT] = 0;
    recordContended(this.s, this.b, t0, this.waiter.spins, this.waiter.parks);
  }

  /** Waits until SERVING == t, booking every look that missed with this.waiter.missed. */
  protected abstract waitFor(t: number): void;

  /** Moves SERVING to the next ticket and wakes its slot if anybody sleeps (twa and partitioned-ticket also store a slot). */
  unlock(): void {
    const i32 = this.i32;
    const w = this.w;
    const next = (i32[w + SERVING]! + STEP) | 0; // only the holder moves SERVING now
    Atomics.store(i32, w + SERVING, next);
    if (Atomics.load(i32, w + PARKED) !== 0) wakeNext(i32, w, next, this.s, this.b, this.spinLimit > 0);
  }

  tryLock(): boolean {
    const serving = Atomics.load(this.i32, this.w + SERVING);
    // Taking ticket `serving` is only possible when nobody else holds or awaits one.
    if (Atomics.compareExchange(this.i32, this.w + NEXT, serving, (serving + STEP) | 0) !== serving) {
      // Held, or the only ticket left is a dead waiter's: pass it on and look again.
      if (!skipAbandoned(this.i32, this.w, this.s, this.b)) return false;
      return this.tryLock();
    }
    this.i32[this.w + OWNER] = this.id;
    this.i32[this.w + OWNER_TICKET] = serving;
    this.s[this.b + LockStat.acquisitions]++;
    return true;
  }

  holder(): number {
    return ticketHolder(this.i32, this.w);
  }
}

export class TicketLock extends TicketFamilyLock {
  readonly kind: LockKind = 'ticket';

  constructor(init: LockInit) {
    super(init, 'ticket');
  }

  protected waitFor(t: number): void {
    const i32 = this.i32;
    const w = this.w;
    const limit = this.spinLimit;
    const far = Math.min(limit, FAR_SPIN);
    for (;;) {
      const serving = Atomics.load(i32, w + SERVING);
      if (serving === t) return;
      // Only the next in line spins its budget: a waiter further back parks almost at once
      // and leaves the cores to the holder and its successor.
      this.waiter.missed(t, 1, ((t - serving) | 0) > STEP ? far : limit);
    }
  }
}

/**
 * The waiting every ticket kind shares around its own way of watching: the spin budget,
 * the look at ABANDONED every `skipEvery` spins, and once the budget is spent the pass-over
 * of a dead waiter's turn or the sleep on the ticket's slot. The kinds differ only in what
 * one look reads (SERVING, a waiting-array slot, a partition) and in the budget. One per
 * lock object and one class for every kind, so its methods stay monomorphic; the counts
 * are fields, so waiting allocates nothing.
 */
export class TicketWaiter {
  /** re-reads that missed, and sleeps, since start() */
  spins = 0;
  parks = 0;
  /** re-reads since the last sleep (the budget's count) */
  private since = 0;

  constructor(
    private readonly i32: Int32Array,
    private readonly w: number,
    private readonly s: Float64Array,
    private readonly b: number,
    private readonly skipEvery: number,
  ) {}

  start(): void {
    this.spins = 0;
    this.parks = 0;
    this.since = 0;
  }

  /**
   * Books `looks` re-reads that did not see ticket t served. Inside `budget` (re-reads
   * since the last sleep) it looks at ABANDONED when the spins pass a multiple of
   * skipEvery; once the budget is spent it passes a dead waiter's turn on, or else sleeps
   * on t's slot and starts the budget again. True when SERVING may have moved (a turn
   * passed on, or a sleep): the caller looks again before watching on.
   */
  missed(t: number, looks: number, budget: number): boolean {
    const before = this.spins;
    const spins = before + looks;
    this.spins = spins;
    this.since += looks;
    if (this.since < budget) {
      const every = -this.skipEvery; // the mask of a power of two's multiples
      return (before & every) !== (spins & every) && skipAbandoned(this.i32, this.w, this.s, this.b);
    }
    if (skipAbandoned(this.i32, this.w, this.s, this.b)) return true; // a dead waiter's turn, passed on
    this.parks++;
    parkOnSlot(this.i32, this.w, t);
    this.since = 0;
    return true;
  }
}

/**
 * Sleeps on ticket t's slot until woken (or SPARE_MS): registers in PARKED, reads the
 * slot, re-checks SERVING, then waits on the value read, so an unlock that moved SERVING
 * after the re-check sees PARKED and moves the slot (no lost wake-up). An unlock wakes one
 * sleeper of the slot, the one that has slept longest, which is nearly always the lowest
 * ticket there, i.e. the one served; a sleeper woken for a ticket not its own passes the
 * wake-up on to the next sleeper of the slot while that ticket is not taken yet.
 */
function parkOnSlot(i32: Int32Array, w: number, t: number): void {
  const slot = w + SLOTS + ((t >> 1) & SLOT_MASK);
  Atomics.add(i32, w + PARKED, 1);
  const gen = Atomics.load(i32, slot);
  const r = Atomics.load(i32, w + SERVING) !== t ? Atomics.wait(i32, slot, gen, SPARE_MS) : 'not-equal';
  Atomics.sub(i32, w + PARKED, 1);
  if (r !== 'ok') return;
  const serving = Atomics.load(i32, w + SERVING);
  if (serving !== t && ((serving >> 1) & SLOT_MASK) === ((t >> 1) & SLOT_MASK) && Atomics.load(i32, w + OWNER_TICKET) !== serving) {
    Atomics.notify(i32, slot, 1);
  }
}

/**
 * An unlock that found sleepers: wakes ticket `next` (one sleeper of its slot), wakes the
 * ticket after it ahead of time so that it is spinning, not asleep, when its turn comes
 * (the wake-up's latency overlaps the critical section), and passes on a dead waiter's turn.
 */
export function wakeNext(i32: Int32Array, w: number, next: number, s: Float64Array, b: number, ahead = true): void {
  wakeSlot(i32, w, next, s, b, 1);
  if (ahead) {
    // Not under 'park': a waiter woken early would only sleep again, at the back of its
    // slot's sleepers, which breaks the slot's FIFO order that one-at-a-time waking relies on.
    const woken = Atomics.notify(i32, w + SLOTS + (((next + STEP) >> 1) & SLOT_MASK), 1);
    if (woken > 0) s[b + LockStat.wakeups] += woken;
  }
  if (Atomics.load(i32, w + ANY_ABANDONED) !== 0) skipAbandoned(i32, w, s, b);
}

/**
 * If SERVING is a ticket recorded in ABANDONED, moves SERVING on (CAS: only one of the
 * threads looking wins), frees the entry and wakes the next ticket's slot. Repeats while
 * the next ticket is abandoned too. True if it moved SERVING.
 */
function skipAbandoned(i32: Int32Array, w: number, s: Float64Array, b: number): boolean {
  let moved = false;
  for (let k = 0; k < ABANDONED_ENTRIES; k++) {
    const serving = Atomics.load(i32, w + SERVING);
    const e = w + ABANDONED + k;
    if (Atomics.load(i32, e) !== ((serving + 1) | 0)) continue;
    const next = (serving + STEP) | 0;
    if (Atomics.compareExchange(i32, w + SERVING, serving, next) !== serving) continue;
    Atomics.store(i32, e, 0);
    Atomics.sub(i32, w + ANY_ABANDONED, 1);
    wakeSlot(i32, w, next, s, b);
    moved = true;
    k = -1; // the next ticket may be abandoned too
  }
  return moved;
}

/**
 * Moves ticket `ticket`'s slot to that ticket (the grant value partitioned-ticket waiters
 * watch) and wakes `count` of its sleepers (recovery paths: all of them).
 */
export function wakeSlot(i32: Int32Array, w: number, ticket: number, s: Float64Array, b: number, count = Infinity): void {
  const slot = w + SLOTS + ((ticket >> 1) & SLOT_MASK);
  Atomics.store(i32, slot, ticket);
  const woken = Atomics.notify(i32, slot, count);
  if (woken > 0) s[b + LockStat.wakeups] += woken;
}

export function ticketHolder(i32: Int32Array, w: number): number {
  const serving = Atomics.load(i32, w + SERVING);
  if (Atomics.load(i32, w + NEXT) === serving || Atomics.load(i32, w + OWNER_TICKET) !== serving) return 0;
  return Atomics.load(i32, w + OWNER);
}

/**
 * Recovery of dead thread `dead`: a dead holder's lock is passed to the next ticket as
 * its unlock would have (after `undo`); a dead waiter's ticket is recorded ABANDONED, and
 * passed on at once if it is being served. Safe while live threads use the lock.
 */
export function ticketRecover(d: DeadThreadAtLock): DeadThreadRole {
  const { i32, word: w, nodeWord, dead, undo } = d;
  const dn = nodeOfOwner(nodeWord, i32.length, dead, 'ticket');
  const waited = dn >= 0 && Atomics.load(i32, dn + WAIT) === w + 1;
  if (ticketHolder(i32, w) === dead) {
    undo();
    if (waited) Atomics.store(i32, dn + WAIT, 0);
    ticketForceUnlock(i32, w);
    return 'held';
  }
  if (!waited) return 'none';
  const entry = ((Atomics.load(i32, dn + TICKET) + 1) | 0);
  for (let k = 0; ; k = (k + 1) % ABANDONED_ENTRIES) {
    if (Atomics.compareExchange(i32, w + ABANDONED + k, 0, entry) === 0) {
      Atomics.add(i32, w + ANY_ABANDONED, 1);
      break;
    }
    // All entries hold tickets still queued behind live waiters: wait for one to pass.
    if (k === ABANDONED_ENTRIES - 1 && !skipAbandoned(i32, w, NO_STATS, 0)) yieldWait(i32, w + SERVING, Atomics.load(i32, w + SERVING), YIELD_MS);
  }
  Atomics.store(i32, dn + WAIT, 0);
  skipAbandoned(i32, w, NO_STATS, 0);
  return 'waited';
}

/**
 * Releases the lock on behalf of a dead holder (whoever holds it): clears OWNER, passes
 * the lock to the next ticket as unlock would, wakes every sleeper, and passes on
 * abandoned tickets. Only call it when the holder is known dead.
 */
export function ticketForceUnlock(i32: Int32Array, w: number): void {
  const serving = Atomics.load(i32, w + SERVING);
  if (Atomics.load(i32, w + NEXT) !== serving) Atomics.store(i32, w + SERVING, (serving + STEP) | 0);
  for (let k = 0; k < SLOT_COUNT; k++) {
    Atomics.add(i32, w + SLOTS + k, 1);
    Atomics.notify(i32, w + SLOTS + k);
  }
  skipAbandoned(i32, w, NO_STATS, 0);
}
