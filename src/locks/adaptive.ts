/**
 * Spin-then-park lock after WebKit's WTF::Lock: spin briefly while nobody is parked,
 * then park; newcomers may barge; about once per millisecond the unlocker hands the lock
 * directly to a parked waiter so nobody starves.
 *
 * Owns, in its lock block: w+0 STATE, w+1 PARKED (threads in the parking phase, i.e.
 * registered sleepers whether or not inside Atomics.wait right now), w+2 LAST_FAIR (time
 * of the last hand-off, in FAIR_UNIT_MS units of a clock shared by all threads, wrapping
 * int32), w+3 PENDING (1 from a hand-off until its claimer has acquired), w+4 CLAIM_COST
 * (how long the last hand-off left the lock idle, same units). LAST_FAIR, PENDING and
 * CLAIM_COST are only written by the thread that owns the lock (unlocker or claimer).
 * STATE: 0 = free; HANDOFF (1) = free but reserved for a parked waiter; otherwise
 * (ownerId * 2) | P where P (bit 0) says "PARKED may be nonzero, unlock must look".
 * The fast path, tryLock and the spin phase are futex.ts's (FutexFamilyLock: same encoding).
 *
 * Invariants:
 * - Owner is written by the acquiring CAS (0 or HANDOFF -> ownerId*2[|P]); holder() is
 *   exact except during a hand-off, when it reads 0 until a waiter claims the lock.
 * - A thread registers (PARKED++) before it sets P or sleeps, and unregisters only after
 *   it has acquired; so PARKED > 0 guarantees somebody will look at STATE again.
 * - Fast unlock is one CAS ownerId*2 -> 0 (fails only when P is set). Slow unlock:
 *   either HANDOFF + notify one (somebody is registered and the hand-off is due: at least
 *   max(FAIR_MS, IDLE_RATIO * CLAIM_COST) since this lock's last one; the lock stays
 *   taken for newcomers, only a registered waiter may claim HANDOFF), or store 0 and then,
 *   if PARKED > 0, notify one (barging allowed).
 * - P is only cleared by unlock (STATE := 0 or HANDOFF), never by an acquirer: after the
 *   sleepers are gone, one slow unlock (a load of PARKED and a store) brings the fast path
 *   back. (Clearing P on acquisition loses wake-ups: see lockSlow.)
 *
 * - A waiter records the lock it waits for (LockNode WAIT) from entering the slow path
 *   until it holds the lock, and LockNode REG = 1 exactly while it is counted in PARKED
 *   (plain stores right after the add / sub: one terminate-atomic step each). A slow unlock
 *   records WAIT = -(word + 1) ("owes a wake-up or hand-off") until its notify is sent.
 *
 * Descheduled holder: spinners stop after SPIN re-reads, and at once when P shows that
 * others already sleep, then sleep in an untimed Atomics.wait (every slow unlock notifies
 * when PARKED > 0), so a descheduled holder gets the cores. Dead threads (recovery): a
 * dead holder's lock is freed and all sleepers woken; a dead waiter is taken out of
 * PARKED, a hand-off it may have been woken for is cancelled, and all sleepers are woken,
 * so neither a wake-up nor a hand-off dies with it.
 */
import { LockNode, LockStat, type DeadThreadAtLock, type DeadThreadRole, type LockInit, type LockKind } from './lock.js';
import { nodeOfOwner, notifyOne, now, recordContended } from './common.js';
import { FutexFamilyLock, futexHolder, parkUntilAcquired } from './futex.js';

const STATE = 0;
const PARKED = 1;
const LAST_FAIR = 2;
const PENDING = 3;
const CLAIM_COST = 4;
const HANDOFF = 1;
const { WAIT, REG } = LockNode;
/** Spin re-reads before parking while nobody is parked (WebKit spins 40 times). */
const SPIN = 40;
/**
 * Minimum time between two hand-offs of one lock. A hand-off keeps the lock idle until the
 * woken waiter gets a core (milliseconds when 64 workers share 2 cores), so it is the price
 * of the starvation bound and is paid at most once per FAIR_MS per lock, not per thread.
 */
const FAIR_MS = 1;
const FAIR_UNIT_MS = 0.1;
const FAIR_UNITS = FAIR_MS / FAIR_UNIT_MS;
/**
 * A hand-off leaves the lock idle until the woken waiter runs: microseconds with idle
 * cores, milliseconds with 64 workers on 2 cores. Spacing hand-offs at least IDLE_RATIO
 * times the last one's idle time keeps that loss to about 1/(IDLE_RATIO+1) of the lock's
 * time whatever the scheduler does, while keeping the ~1 ms bound when wake-ups are fast.
 */
const IDLE_RATIO = 10;
/**
 * performance.now() counts from each thread's own timeOrigin; adding the origin (made
 * small by a fixed epoch so the sum keeps sub-ms precision) gives a clock all threads
 * share.
 */
const CLOCK_OFFSET_MS = performance.timeOrigin - Date.UTC(2025, 0, 1);
function fairClock(): number {
  return ((performance.now() + CLOCK_OFFSET_MS) / FAIR_UNIT_MS) | 0;
}

export class AdaptiveLock extends FutexFamilyLock {
  readonly kind: LockKind = 'adaptive';

  constructor(init: LockInit) {
    super(init, 'adaptive');
  }

  protected lockSlow(): void {
    const i32 = this.i32;
    const w = this.w;
    const nodes = this.nodes;
    const n = this.n;
    const t0 = now();
    const spun = this.spinAsWaiter(t0, SPIN);
    if (spun >= 0) return;
    Atomics.add(i32, w + PARKED, 1);
    nodes[n + REG] = 1; // plain, right after the add: no termination point between (lock.ts)
    const parks = parkUntilAcquired(i32, w, this.me);
    // While a hand-off is pending nobody else can acquire, so if one is pending we are its
    // claimer: record how long the lock sat idle, for the spacing of the next one.
    if (Atomics.load(i32, w + PENDING) !== 0) {
      Atomics.store(i32, w + PENDING, 0);
      const idle = (fairClock() - Atomics.load(i32, w + LAST_FAIR)) | 0;
      Atomics.store(i32, w + CLAIM_COST, idle > 0 ? idle : 0);
    }
    // We hold it with P set and leave P set even if we were the last sleeper: clearing it
    // here could race with a newcomer that registered and went to sleep on the value with
    // P (it would never be woken). Our unlock takes the slow path once, stores 0 (P gone)
    // and notifies only if PARKED is still nonzero.
    Atomics.sub(i32, w + PARKED, 1);
    nodes[n + REG] = 0;
    nodes[n + WAIT] = 0;
    recordContended(this.s, this.b, t0, -spun - 1, parks);
  }

  unlock(): void {
    if (Atomics.compareExchange(this.i32, this.w, this.me, 0) !== this.me) this.unlockSlow();
  }

  private unlockSlow(): void {
    const i32 = this.i32;
    const w = this.w;
    // Still held here; from the release (a hand-off or store 0) until its notify, recovery
    // reads this as "owes a wake-up" (a thread killed in between would drop it).
    this.nodes[this.n + WAIT] = -(w + 1);
    if (Atomics.load(i32, w + PARKED) !== 0) {
      const t = fairClock();
      const since = (t - Atomics.load(i32, w + LAST_FAIR)) | 0;
      // since < 0: LAST_FAIR was never set (0 in a fresh block) or is stale by 2^31 units.
      const spacing = Math.max(FAIR_UNITS, IDLE_RATIO * Atomics.load(i32, w + CLAIM_COST));
      if (since >= spacing || since < 0) {
        Atomics.store(i32, w + LAST_FAIR, t);
        Atomics.store(i32, w + PENDING, 1);
        Atomics.store(i32, w, HANDOFF);
        this.s[this.b + LockStat.handoffs]++;
        notifyOne(i32, w, this.s, this.b);
        this.nodes[this.n + WAIT] = 0;
        return;
      }
    }
    Atomics.store(i32, w, 0);
    if (Atomics.load(i32, w + PARKED) !== 0) notifyOne(i32, w, this.s, this.b);
    this.nodes[this.n + WAIT] = 0;
  }

  holder(): number {
    const v = Atomics.load(this.i32, this.w);
    return v === HANDOFF ? 0 : v >>> 1;
  }
}

/** Recovery: frees the lock (also a pending hand-off) and wakes every sleeper. */
export function adaptiveForceUnlock(i32: Int32Array, w: number): void {
  Atomics.store(i32, w + PENDING, 0);
  Atomics.store(i32, w + STATE, 0);
  Atomics.notify(i32, w + STATE);
}

/**
 * Recovery of dead thread `dead`: a dead holder's lock is freed (after `undo`); a dead
 * waiter leaves PARKED, and a pending hand-off (it may have been the one woken for it) is
 * cancelled; either way every sleeper is woken to re-contend. Safe while live threads use
 * the lock: a live claimer that was woken for the hand-off finds STATE 0 and takes it.
 */
export function adaptiveRecover(d: DeadThreadAtLock): DeadThreadRole {
  const { i32, word: w, nodeWord, dead, undo } = d;
  const dn = nodeOfOwner(nodeWord, i32.length, dead, 'adaptive');
  const rec = dn >= 0 ? Atomics.load(i32, dn + WAIT) : 0;
  const waited = rec === w + 1;
  const owed = rec === -(w + 1); // died releasing: a hand-off or wake-up not sent yet
  if (waited) {
    if (Atomics.load(i32, dn + REG) === 1) Atomics.sub(i32, w + PARKED, 1);
    Atomics.store(i32, dn + REG, 0);
  }
  if (waited || owed) Atomics.store(i32, dn + WAIT, 0);
  if (futexHolder(i32, w + STATE) === dead) {
    undo();
    adaptiveForceUnlock(i32, w);
    return 'held';
  }
  if (!waited && !owed) return 'none';
  if (Atomics.compareExchange(i32, w + STATE, HANDOFF, 0) === HANDOFF) Atomics.store(i32, w + PENDING, 0);
  Atomics.notify(i32, w + STATE);
  return waited ? 'waited' : 'none';
}
