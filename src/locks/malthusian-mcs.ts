/**
 * Malthusian MCS (Dice, EuroSys 2017): an MCS lock that keeps its queue short under
 * oversubscription. Surplus waiters are culled to a passive set, where they sleep and take
 * no core, and are re-admitted when the active set runs dry (and now and then for
 * long-term fairness). The few active threads circulate the lock among themselves while
 * they are running, so hand-overs rarely wait for a descheduled thread to wake.
 *
 * Owns, in its lock block: w+0..w+3 the MCS lock's words (mcs.ts), w+4 ACTIVE (threads
 * admitted to the slow path and not yet holding), w+5 PASSIVE (threads in the passive
 * set), w+6 GATE (generation passive threads sleep on). In each thread's queue node: the
 * MCS words, and ACTIVE (word + 1 of the lock while counted in its ACTIVE, -(word + 1)
 * while counted in its PASSIVE, 0 otherwise).
 *
 * Invariants:
 * - Culling happens on arrival rather than at release as in the paper (a releaser cannot
 *   excise a waiter from the K42 queue without racing its recovery): a thread whose fast
 *   path fails joins ACTIVE if fewer than MAX_ACTIVE are there, else joins PASSIVE and
 *   sleeps on GATE. An admitted thread queues in the MCS lock; once it holds, it leaves
 *   ACTIVE and, if ACTIVE is now empty (or every FAIR_EVERY of its own acquisitions),
 *   bumps GATE and wakes one passive thread.
 * - No lost re-admission: a passive thread registers in PASSIVE, reads GATE, re-checks
 *   ACTIVE, then waits on the GATE value it read; a leaver decrements ACTIVE, then reads
 *   PASSIVE, so one of the two sees the other.
 * - Every counter step is terminate-atomic (the add or sub, then the plain store of the
 *   node's ACTIVE word), so recovery of a dead thread returns its count and re-issues a
 *   wake-up it may have taken; the MCS part is recovered by mcsRecover. So it is usable
 *   as a tier lock. Not FIFO: newcomers are admitted ahead of passive threads.
 *
 * Waiting policy: the MCS waiters' (LockInit.policy: spin, spin-then-park (default),
 * park); passive threads always sleep (the point of culling). Lock order: a leaf lock.
 */
import { LockNode, type DeadThreadAtLock, type DeadThreadRole, type LockInit, type LockKind } from './lock.js';
import { nodeOfOwner } from './common.js';
import { McsLock, mcsRecover } from './mcs.js';

const ACTIVE = 4;
const PASSIVE = 5;
const GATE = 6;
/** Queued waiters kept active: one to take the lock at once, one to follow it. */
const MAX_ACTIVE = 2;
/** A thread re-admits a passive one after this many of its own slow acquisitions anyway. */
const FAIR_EVERY = 64;
/** Spare timeout of a passive sleeper (only a lost re-admission would need it). */
const PASSIVE_SPARE_MS = 50;
const NODE_ACTIVE = LockNode.ACTIVE;

export class MalthusianMcsLock extends McsLock {
  override readonly kind: LockKind = 'malthusian-mcs';
  private readonly nodeAt: number; // this thread's queue node
  private slowCount = 0;

  constructor(init: LockInit) {
    super(init, 'malthusian-mcs');
    this.nodeAt = init.nodeWord!(init.ownerId);
  }

  protected override lockSlow(): void {
    const i32 = this.i32;
    const w = this.w;
    const node = this.nodeAt + NODE_ACTIVE;
    for (;;) {
      const before = Atomics.add(i32, w + ACTIVE, 1);
      i32[node] = w + 1;
      if (before < MAX_ACTIVE) break;
      Atomics.sub(i32, w + ACTIVE, 1);
      i32[node] = 0;
      // Culled: sleep in the passive set until the active set runs dry.
      Atomics.add(i32, w + PASSIVE, 1);
      i32[node] = -(w + 1);
      const gen = Atomics.load(i32, w + GATE);
      if (Atomics.load(i32, w + ACTIVE) >= MAX_ACTIVE) Atomics.wait(i32, w + GATE, gen, PASSIVE_SPARE_MS);
      Atomics.sub(i32, w + PASSIVE, 1);
      i32[node] = 0;
    }
    super.lockSlow();
    const left = Atomics.sub(i32, w + ACTIVE, 1) - 1;
    i32[node] = 0;
    if ((left === 0 || ++this.slowCount % FAIR_EVERY === 0) && Atomics.load(i32, w + PASSIVE) !== 0) readmit(i32, w);
  }
}

function readmit(i32: Int32Array, w: number): void {
  Atomics.add(i32, w + GATE, 1);
  Atomics.notify(i32, w + GATE, 1);
}

/**
 * Recovery of dead thread `dead`: returns its ACTIVE or PASSIVE count and wakes a passive
 * thread in its place (it may have taken a re-admission with it), then recovers the MCS
 * part (a dead holder released after `undo`, a dead queued waiter passed over).
 */
export function malthusianRecover(d: DeadThreadAtLock): DeadThreadRole {
  const { i32, word: w, nodeWord, dead } = d;
  const dn = nodeOfOwner(nodeWord, i32.length, dead, 'malthusian-mcs');
  const counted = dn >= 0 ? Atomics.load(i32, dn + NODE_ACTIVE) : 0;
  if (counted === w + 1 || counted === -(w + 1)) {
    Atomics.sub(i32, w + (counted > 0 ? ACTIVE : PASSIVE), 1);
    Atomics.store(i32, dn + NODE_ACTIVE, 0);
  }
  const role = mcsRecover(d);
  if (Atomics.load(i32, w + PASSIVE) !== 0) readmit(i32, w);
  return role === 'none' && counted === -(w + 1) ? 'waited' : role;
}
