/**
 * Test-and-set spinlock: every attempt is a read-modify-write, no read-only spinning.
 *
 * Owns: word 0 of its lock block: 0 = free, else the holder's ownerId. The "set" is a
 * compareExchange 0 -> ownerId rather than an exchange, so the owner is written by the
 * acquiring instruction itself (an exchange would overwrite the holder's id while it is
 * held). For the cache it is the same thing: every attempt takes the line exclusive,
 * which is the ping-pong this kind exists to show. This word and everything but the
 * waiting loop (fast path, tryLock, unlock, holder) also serve ttas: TasFamilyLock.
 *
 * Invariants: holder() is exact while held; unlock is a plain store of 0 and never
 * notifies (nobody registers as a sleeper, so there is nothing to count).
 *
 * Descheduled holder: TAS degrades badly when workers outnumber cores (a spinner burns the
 * core the holder needs). To rule out livelock it does not spin forever: after YIELD_AFTER
 * failed attempts it yields with a timed Atomics.wait of YIELD_MS on the lock word (it
 * returns early only if the word has already changed; unlock sends no notify), then
 * starts spinning again. That bounds the damage, it does not make TAS good.
 */
import { LockStat, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, now, recordContended } from './common.js';

const YIELD_AFTER = 4096; // failed attempts before a yield
const YIELD_MS = 0.1;

/**
 * What tas and ttas share: the word (0 = free, else the holder's ownerId, written by the
 * acquiring CAS), the fast path, tryLock, unlock (one store of 0, never a notify) and
 * holder(). Each kind writes its own waiting loop (lockSlow). The methods here see the
 * objects of two classes only when one thread uses both kinds (the tiers' default uses
 * ttas alone), like TicketFamilyLock's.
 */
export abstract class TasFamilyLock extends LockFields implements Lock {
  lock(): void {
    if (Atomics.compareExchange(this.i32, this.w, 0, this.id) === 0) {
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    this.lockSlow();
  }

  /** Waits until the CAS 0 -> ownerId succeeds, and books the contended acquisition. */
  protected abstract lockSlow(): void;

  tryLock(): boolean {
    if (Atomics.compareExchange(this.i32, this.w, 0, this.id) === 0) {
      this.s[this.b + LockStat.acquisitions]++;
      return true;
    }
    return false;
  }

  unlock(): void {
    Atomics.store(this.i32, this.w, 0);
  }

  holder(): number {
    return Atomics.load(this.i32, this.w);
  }
}

export class TasLock extends TasFamilyLock {
  readonly kind: LockKind = 'tas';

  constructor(init: LockInit) {
    super(init, 'tas');
  }

  protected lockSlow(): void {
    const i32 = this.i32;
    const w = this.w;
    const id = this.id;
    const t0 = now();
    let spins = 0;
    let parks = 0;
    let v: number;
    while ((v = Atomics.compareExchange(i32, w, 0, id)) !== 0) {
      if (++spins % YIELD_AFTER === 0) {
        parks++;
        Atomics.wait(i32, w, v, YIELD_MS);
      }
    }
    recordContended(this.s, this.b, t0, spins, parks);
  }
}
