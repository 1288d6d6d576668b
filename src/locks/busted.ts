/**
 * The negative control (Linux locktorture's lock_busted): a "lock" that excludes nobody.
 * lock() and tryLock() always succeed at once and unlock() does nothing, so a validation
 * that hammers it must report mutual-exclusion failures; a checker that passes it is
 * broken.
 *
 * Owns: word 0 of its lock block, the last thread that "took" it (holder() reports it, so
 * the witness check of a validation sees other threads' ids inside its critical section).
 *
 * Invariants: none on purpose. It is a lab-only kind: createTierLock and HeapOptions refuse
 * it with a LockKindRefusedError. Its only waiting policy is 'spin' (it never waits).
 * Recovery has nothing to do (a dead thread holds nothing).
 */
import { LockStat, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields } from './common.js';

export class BustedLock extends LockFields implements Lock {
  readonly kind: LockKind = 'busted';

  constructor(init: LockInit) {
    super(init, 'busted');
  }

  lock(): void {
    Atomics.store(this.i32, this.w, this.id);
    this.s[this.b + LockStat.acquisitions]++;
  }

  tryLock(): boolean {
    this.lock();
    return true;
  }

  unlock(): void {}

  holder(): number {
    return Atomics.load(this.i32, this.w);
  }
}
