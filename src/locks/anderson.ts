/**
 * Anderson's array lock (Anderson 1990): a fetch-and-add hands each arrival a position in
 * a circular array of flags; a waiter watches only its position's slot, and a release
 * writes the next position's slot, so each hand-over touches one waiter's word.
 *
 * Owns, in its lock block: w+0 NEXT (next position to hand out), w+1 HOLDER (ownerId of
 * the holder), w+2 HOLDER_POS (its position), w+3 PARKED (sleepers), w+4..w+15 the array
 * (SLOTS_N = 12 slots). Positions wrap around int32.
 *
 * Invariants: slot (p mod 12) holds the last position granted through it; position p holds
 * the lock once its slot reads p (a fresh, all-zero block grants position 0). The paper's
 * array needs one slot per possible waiter; storing the granted position instead of a
 * boolean lets any number of waiters share the 12 slots (p and p + 12 watch one word, and
 * a grant of p never reads as p + 12's), so a lock block stays 64 bytes.
 *
 * Waiting policy: spin on the slot, then park on it (the release notifies when PARKED is
 * nonzero; the waiter registers, re-reads the slot, then waits on the value read). Default
 * 'spin-then-park'. tryLock takes position NEXT only when that position is already granted.
 *
 * Recovery: a dead holder is released on its behalf (grant HOLDER_POS + 1). A dead WAITER
 * cannot be passed over here: its position will be granted and nobody will release it;
 * passing it over needs the ticket lock's abandoned-position list, and with that the kind
 * is the partitioned ticket lock (also in the lab, and usable as a tier lock). So Anderson
 * is a lab-only kind, refused as a tier lock. Lock order: a leaf lock.
 */
import { LockNode, LockStat, type DeadThreadAtLock, type DeadThreadRole, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, refuseDeadWaiter, now, ownNode, recordContended } from './common.js';

const NEXT = 0;
const HOLDER = 1;
const HOLDER_POS = 2;
const PARKED = 3;
const SLOTS = 4;
const SLOTS_N = 12;
const { WAIT, POSITION } = LockNode;
const slotOf = (w: number, p: number): number => w + SLOTS + (p >>> 0) % SLOTS_N;

export class AndersonLock extends LockFields implements Lock {
  readonly kind: LockKind = 'anderson';
  private readonly nodes: Int32Array;
  private readonly n: number;

  constructor(init: LockInit) {
    super(init, 'anderson');
    const own = ownNode(init, 'anderson');
    this.nodes = own.nodes;
    this.n = own.n;
  }

  lock(): void {
    const i32 = this.i32;
    const w = this.w;
    const p = Atomics.add(i32, w + NEXT, 1);
    this.nodes[this.n + POSITION] = p;
    this.nodes[this.n + WAIT] = w + 1;
    const slot = slotOf(w, p);
    if (Atomics.load(i32, slot) === p) {
      this.acquired(p);
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    const t0 = now();
    const limit = this.spinLimit;
    let spins = 0;
    let parks = 0;
    for (let v = Atomics.load(i32, slot); v !== p; v = Atomics.load(i32, slot)) {
      if (++spins < limit) continue;
      parks++;
      Atomics.add(i32, w + PARKED, 1);
      Atomics.wait(i32, slot, v);
      Atomics.sub(i32, w + PARKED, 1);
    }
    this.acquired(p);
    recordContended(this.s, this.b, t0, spins, parks);
  }

  private acquired(p: number): void {
    this.i32[this.w + HOLDER] = this.id;
    this.i32[this.w + HOLDER_POS] = p;
    this.nodes[this.n + WAIT] = 0;
  }

  tryLock(): boolean {
    const i32 = this.i32;
    const w = this.w;
    const p = Atomics.load(i32, w + NEXT);
    if (Atomics.load(i32, slotOf(w, p)) !== p || Atomics.compareExchange(i32, w + NEXT, p, (p + 1) | 0) !== p) return false;
    this.acquired(p);
    this.s[this.b + LockStat.acquisitions]++;
    return true;
  }

  unlock(): void {
    andersonGrant(this.i32, this.w, (this.i32[this.w + HOLDER_POS]! + 1) | 0, this.s, this.b);
  }

  holder(): number {
    return andersonHolder(this.i32, this.w);
  }
}

function andersonGrant(i32: Int32Array, w: number, next: number, s: Float64Array, b: number): void {
  const slot = slotOf(w, next);
  Atomics.store(i32, slot, next);
  // Every sleeper of the slot: positions p, p + 12, ... share it, only one of them is next.
  if (Atomics.load(i32, w + PARKED) !== 0) {
    const woken = Atomics.notify(i32, slot);
    if (woken > 0) s[b + LockStat.wakeups] += woken;
  }
}

/** Held iff the holder's position was granted and the next one not yet. */
export function andersonHolder(i32: Int32Array, w: number): number {
  const p = Atomics.load(i32, w + HOLDER_POS);
  if (Atomics.load(i32, slotOf(w, p)) !== p || Atomics.load(i32, w + NEXT) === p) return 0;
  const next = (p + 1) | 0;
  if (Atomics.load(i32, slotOf(w, next)) === next) return 0;
  return Atomics.load(i32, w + HOLDER);
}

/** Recovery of a dead holder only (see the header: a dead waiter wedges the array lock). */
export function andersonRecover(d: DeadThreadAtLock): DeadThreadRole {
  const { i32, word: w, nodeWord, dead, undo } = d;
  refuseDeadWaiter(d, 'anderson');
  if (andersonHolder(i32, w) !== dead) return 'none';
  undo();
  const next = (Atomics.load(i32, w + HOLDER_POS) + 1) | 0;
  Atomics.store(i32, slotOf(w, next), next);
  Atomics.notify(i32, slotOf(w, next));
  return 'held';
}
