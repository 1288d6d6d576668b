/**
 * CLH queue lock (Craig 1993; Magnussen, Landin & Hagersten 1994): an implicit queue. A
 * thread swaps its node into TAIL and waits on its predecessor's node; on release it
 * clears its own node, which its successor then adopts as its next node (nodes migrate
 * between threads).
 *
 * Owns, in its lock block: w+0 TAIL (word index + 1 of the tail node's flag; 0 = the lock's
 * own dummy node), w+1 HOLDER (ownerId of the holder while held), w+2 HOLDER_NODE (word
 * index + 1 of the holder's node flag), w+4 DUMMY (the dummy node's flag). A node is one
 * flag word: 0 released, 1 locked, 2 locked and its successor parked on it. In each
 * thread's queue node: CLH_OWN (word index + 1 of the node the thread owns now; 0 = its
 * own flag word at CLH_FLAG), WAIT (the lock it waits for), PRED (the flag it watches).
 *
 * Invariants: a node is owned by exactly one thread or queued in exactly one lock; the
 * holder's node stays queued until its release clears it; a thread owns one free node
 * whenever it is outside lock() (it gives one to the queue and adopts its predecessor's),
 * so nesting and several locks work: each lock brings its dummy node into circulation.
 *
 * Waiting policy: spin on the predecessor's flag, then park on it (flag 1 -> 2, wait on
 * 2; the release exchanges the flag to 0 and notifies when it read 2). Default
 * 'spin-then-park'. tryLock: enqueue only when the tail node is released (CAS on TAIL);
 * it waits only if the tail node was recycled into the queue again between its look and
 * its CAS (ABA: nodes migrate), which keeps exclusion at the price of a rare wait.
 *
 * Recovery: a dead holder is released on its behalf (HOLDER and HOLDER_NODE name it). A
 * dead WAITER cannot be passed over: its successor waits on the dead thread's node, whose
 * release is the dead thread's duty after it would have held the lock, and the node it
 * waits on belongs to the thread before it; skipping it needs every waiter to be able to
 * re-target its wait (CLH-try's abandoned markers), which this lab kind does not do. So
 * CLH is a lab-only kind, refused as a tier lock. Lock order: a leaf lock.
 */
import { LockNode, LockStat, type DeadThreadAtLock, type DeadThreadRole, type Lock, type LockInit, type LockKind } from './lock.js';
import { LockFields, refuseDeadWaiter, now, ownNode, recordContended } from './common.js';

const TAIL = 0;
const HOLDER = 1;
const HOLDER_NODE = 2;
const DUMMY = 4;
const { WAIT, PRED, CLH_FLAG, CLH_OWN } = LockNode;
const LOCKED = 1;
const PARKED = 2;

export class ClhLock extends LockFields implements Lock {
  readonly kind: LockKind = 'clh';
  private readonly nodes: Int32Array;
  private readonly n: number;

  constructor(init: LockInit) {
    super(init, 'clh');
    if (!init.nodeWord) throw new TypeError('clh lock: init.nodeWord is required');
    const own = ownNode(init, 'clh');
    this.nodes = own.nodes;
    this.n = own.n;
  }

  /** Word index of the flag of the node this thread owns now. */
  private mine(): number {
    const o = this.i32[this.n + CLH_OWN]!;
    return o === 0 ? this.n + CLH_FLAG : o - 1;
  }

  lock(): void {
    const i32 = this.i32;
    const w = this.w;
    const my = this.mine();
    Atomics.store(i32, my, LOCKED);
    const tail = Atomics.exchange(i32, w + TAIL, my + 1);
    this.await(my, tail === 0 ? w + DUMMY : tail - 1);
  }

  /** Queued with node `my` behind `pred`: waits for its release, then holds the lock. */
  private await(my: number, pred: number): void {
    const i32 = this.i32;
    i32[this.n + PRED] = pred;
    i32[this.n + WAIT] = this.w + 1;
    if (Atomics.load(i32, pred) === 0) {
      this.acquired(my, pred);
      this.s[this.b + LockStat.acquisitions]++;
      return;
    }
    const t0 = now();
    const limit = this.spinLimit;
    let spins = 0;
    let parks = 0;
    for (let v = Atomics.load(i32, pred); v !== 0; v = Atomics.load(i32, pred)) {
      if (++spins < limit) continue;
      if (v === LOCKED && Atomics.compareExchange(i32, pred, LOCKED, PARKED) !== LOCKED) continue;
      parks++;
      Atomics.wait(i32, pred, PARKED);
    }
    this.acquired(my, pred);
    recordContended(this.s, this.b, t0, spins, parks);
  }

  /** Holds the lock through node `my`; adopts the released predecessor node. */
  private acquired(my: number, pred: number): void {
    const i32 = this.i32;
    i32[this.w + HOLDER] = this.id;
    i32[this.w + HOLDER_NODE] = my + 1;
    i32[this.n + CLH_OWN] = pred + 1;
    i32[this.n + WAIT] = 0;
  }

  tryLock(): boolean {
    const i32 = this.i32;
    const w = this.w;
    const tail = Atomics.load(i32, w + TAIL);
    const pred = tail === 0 ? w + DUMMY : tail - 1;
    if (Atomics.load(i32, pred) !== 0) return false;
    const my = this.mine();
    Atomics.store(i32, my, LOCKED);
    if (Atomics.compareExchange(i32, w + TAIL, tail, my + 1) !== tail) {
      Atomics.store(i32, my, 0);
      return false;
    }
    // Queued now. Almost always `pred` is still released; but between the look and the
    // CAS its node may have been adopted, re-locked and swapped in again (ABA on TAIL),
    // so wait for it like lock() (the rare case where tryLock waits).
    this.await(my, pred);
    return true;
  }

  unlock(): void {
    const i32 = this.i32;
    const node = i32[this.w + HOLDER_NODE]! - 1;
    if (Atomics.exchange(i32, node, 0) === PARKED) {
      const woken = Atomics.notify(i32, node, 1);
      if (woken > 0) this.s[this.b + LockStat.wakeups] += woken;
    }
  }

  holder(): number {
    return clhHolder(this.i32, this.w);
  }
}

export function clhHolder(i32: Int32Array, w: number): number {
  const hn = Atomics.load(i32, w + HOLDER_NODE);
  if (hn === 0 || Atomics.load(i32, hn - 1) === 0) return 0;
  return Atomics.load(i32, w + HOLDER);
}

/** Recovery of a dead holder only (see the header: a dead waiter wedges CLH). */
export function clhRecover(d: DeadThreadAtLock): DeadThreadRole {
  const { i32, word: w, nodeWord, dead, undo } = d;
  refuseDeadWaiter(d, 'clh');
  if (clhHolder(i32, w) !== dead) return 'none';
  undo();
  const node = Atomics.load(i32, w + HOLDER_NODE) - 1;
  Atomics.store(i32, node, 0);
  Atomics.notify(i32, node);
  return 'held';
}
