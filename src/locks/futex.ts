/**
 * Futex mutex (Drepper, "Futexes Are Tricky", mutex #2) with the owner in the word.
 *
 * Owns: word 0 of its lock block. Value 0 = free; otherwise (ownerId * 2) | W, where W
 * (bit 0) says "somebody may be parked in Atomics.wait on this word". MAX_OWNER_ID is
 * 2^30-1, so ownerId * 2 + 1 stays a positive int32. The fast path, tryLock and the spin
 * phase (FutexFamilyLock) also serve adaptive.ts, whose word has the same encoding.
 *
 * Invariants:
 * - The owner is written by the acquiring CAS itself: holder() is never stale while held.
 * - W is only ever set while the lock is held, and only cleared by unlock (exchange to 0).
 *   A thread that took the lock after parking acquires with W already set (Drepper's
 *   "lock with c = 2"), because it cannot know whether other sleepers remain; the cost is
 *   one spare notify at its unlock, never a lost wake-up.
 * - unlock notifies exactly when the old value carried W.
 *
 * - A waiter records the lock it waits for (LockNode WAIT) from entering the slow path
 *   until it holds the lock. An unlock's notify goes to one sleeper, which takes on the
 *   duty to set W again if others still sleep: if it dies before doing so, that wake-up
 *   would be lost. So recovery of a dead thread found waiting re-issues it (wakes every
 *   sleeper; they re-check, re-set W and sleep again). Likewise an unlock that found W
 *   records WAIT = -(word + 1) in the exchange's step until its notify is done, so a thread
 *   killed between releasing and notifying has its wake-up re-issued too.
 *
 * Waiting policy: 'spin-then-park' (default, SPIN re-reads, then park), 'park' (no
 * re-read), 'spin' (re-reads forever and never sets W: then unlock never notifies).
 *
 * Descheduled holder: waiters spin only briefly (SPIN re-reads), then park in an untimed
 * Atomics.wait and take no CPU, so a descheduled holder gets the cores back. A holder
 * that dies leaves its id in the word; recovery clears it and wakes all.
 */
import { LockNode, LockStat, type DeadThreadAtLock, type DeadThreadRole, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, nodeOfOwner, notifyOne, now, ownNode, recordContended } from './common.js';

const { WAIT } = LockNode;

/**
 * Default spin budget (re-reads before parking): about the cost of a short critical
 * section on this machine. A barging lock gains nothing from spinning longer: a waiter
 * that misses the release is as well asleep, and a descheduled holder wants the core.
 */
const SPIN = 48;

/**
 * What futex and adaptive share: a word holding ownerId * 2 with a flag in bit 0 (W here,
 * P in adaptive.ts), its fast path and tryLock (one CAS 0 -> ownerId * 2), the waiter's
 * WAIT record and the spin phase. Each kind writes its own park phase, unlock and
 * holder(). The methods here see the objects of two classes only when one thread uses
 * both kinds (the tiers' default uses futex alone), like TicketFamilyLock's.
 */
export abstract class FutexFamilyLock extends LockFields implements Lock {
  protected readonly me: number; // ownerId * 2, the word value while held with the flag clear
  protected readonly nodes: Int32Array; // where this thread records the lock it waits for
  protected readonly n: number;

  constructor(init: LockInit, kind: LockKind, defaultSpin?: number) {
    super(init, kind, defaultSpin);
    this.me = init.ownerId * 2;
    const own = ownNode(init, kind);
    this.nodes = own.nodes;
    this.n = own.n;
  }

  lock(): void {
    if (Atomics.compareExchange(this.i32, this.w, 0, this.me) === 0) {
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    this.lockSlow();
  }

  /** Waits for the word (spin phase, then the kind's own park phase) and books it. */
  protected abstract lockSlow(): void;

  /**
   * Phase 1 as a recorded waiter: records WAIT, then spinForFree up to `limit` re-reads.
   * When that acquires, clears WAIT and books the acquisition (started at t0). Returns
   * spinForFree's result: spins >= 0 if acquired, else -(spins) - 1 with WAIT still set.
   */
  protected spinAsWaiter(t0: number, limit: number): number {
    this.nodes[this.n + WAIT] = this.w + 1;
    const spun = spinForFree(this.i32, this.w, this.me, limit);
    if (spun >= 0) {
      this.nodes[this.n + WAIT] = 0;
      recordContended(this.s, this.b, t0, spun, 0);
    }
    return spun;
  }

  tryLock(): boolean {
    if (Atomics.compareExchange(this.i32, this.w, 0, this.me) === 0) {
      this.s[this.b + LockStat.acquisitions]++;
      return true;
    }
    return false;
  }

  abstract unlock(): void;
  abstract holder(): number;
}

export class FutexLock extends FutexFamilyLock {
  readonly kind: LockKind = 'futex';

  constructor(init: LockInit) {
    super(init, 'futex', SPIN);
  }

  protected lockSlow(): void {
    const t0 = now();
    const spun = this.spinAsWaiter(t0, this.spinLimit);
    if (spun >= 0) return;
    const parks = parkUntilAcquired(this.i32, this.w, this.me);
    this.nodes[this.n + WAIT] = 0;
    recordContended(this.s, this.b, t0, -spun - 1, parks);
  }

  unlock(): void {
    const old = Atomics.exchange(this.i32, this.w, 0);
    if ((old & 1) !== 0) {
      // Plain store in the exchange's step: a thread killed before its notify is known to owe it.
      this.nodes[this.n + WAIT] = -(this.w + 1);
      notifyOne(this.i32, this.w, this.s, this.b);
      this.nodes[this.n + WAIT] = 0;
    }
  }

  holder(): number {
    return Atomics.load(this.i32, this.w) >>> 1;
  }
}

/**
 * Phase 1 of a spin-then-park acquire on a word encoded ownerId*2 | W: re-reads the word
 * (no stores, so no cache-line ping-pong) up to `limit` times and CASes 0 -> `me` when it
 * reads free. Stops early when W is set: others already sleep, and spinning longer only
 * delays joining them. Returns the spins done if it acquired, else -(spins) - 1.
 */
export function spinForFree(i32: Int32Array, w: number, me: number, limit: number): number {
  for (let spins = 0; spins < limit; spins++) {
    const v = Atomics.load(i32, w);
    if (v === 0) {
      if (Atomics.compareExchange(i32, w, 0, me) === 0) return spins;
    } else if ((v & 1) !== 0) {
      return -spins - 1;
    }
  }
  return -limit - 1;
}

/**
 * Phase 2: sets W (announcing a sleeper) and sleeps until the word changes; acquires with
 * W set (me | 1) when the word reads 0, or 1 (adaptive's hand-off value; a futex word is
 * never 1 because ownerId >= 1). Returns the number of Atomics.wait calls.
 */
export function parkUntilAcquired(i32: Int32Array, w: number, me: number): number {
  let parks = 0;
  for (;;) {
    let v = Atomics.load(i32, w);
    if (v === 0 || v === 1) {
      if (Atomics.compareExchange(i32, w, v, me | 1) === v) return parks;
      continue;
    }
    if ((v & 1) === 0) {
      if (Atomics.compareExchange(i32, w, v, v | 1) !== v) continue; // changed: look again
      v |= 1;
    }
    parks++;
    Atomics.wait(i32, w, v);
  }
}

export function futexHolder(i32: Int32Array, word: number): number {
  return Atomics.load(i32, word) >>> 1;
}

/** Recovery: frees the lock whoever holds it and wakes every sleeper to re-contend. */
export function futexForceUnlock(i32: Int32Array, word: number): void {
  Atomics.store(i32, word, 0);
  Atomics.notify(i32, word);
}

/**
 * Recovery of dead thread `dead` on a futex lock: a dead holder's lock is freed (after
 * `undo`) and every sleeper woken; a dead waiter's wake-up, which it may have taken with
 * it, is re-issued to every sleeper. Safe while live threads use the lock.
 */
export function futexRecover(d: DeadThreadAtLock): DeadThreadRole {
  const { i32, word, nodeWord, dead, undo } = d;
  const dn = nodeOfOwner(nodeWord, i32.length, dead, 'futex');
  const rec = dn >= 0 ? Atomics.load(i32, dn + WAIT) : 0;
  if (rec === word + 1 || rec === -(word + 1)) Atomics.store(i32, dn + WAIT, 0);
  if (futexHolder(i32, word) === dead) {
    undo();
    futexForceUnlock(i32, word);
    return 'held';
  }
  if (rec !== word + 1 && rec !== -(word + 1)) return 'none';
  Atomics.notify(i32, word); // the wake-up it took (waiting) or owed (released, not notified yet)
  return rec > 0 ? 'waited' : 'none';
}
