/**
 * TransferCache: per size class, an array of whole batches in flight between thread caches.
 *
 * Owns: the TRANSFER_SLOTS (head, count) pairs of its class (TRANSFER region, slot-major, so
 * the rows no class has reached stay unwritten; CC.TRANSFER_HWM records the rows reached,
 * for stats()) and the objects chained
 * from them (each chain is a safe-linked list of exactly `count` FREE objects ending in 0).
 * Changes go through the lock holder's undo log (Txn).
 * Guarded by the class's central lock (as in gperftools, where the transfer cache shares
 * the central free list's lock): every method here must be called inside that lock's
 * critical section (CentralCache: Txn.enter / try / finally Txn.exit), so a throw from
 * here (a log overflow) is rolled back and the lock released by the caller's exit().
 *
 * Why: a thread releasing a full batch and another fetching one then cost one slot move
 * each, instead of walking objects back into spans and out again.
 */

import { CC, centralWordOf, TRANSFER_SLOTS, transferWordOf } from './layout.js';
import type { HeapMemory } from './memory.js';
import type { Txn } from './txn.js';

export class TransferCache {
  private readonly mem: HeapMemory;
  /** Head of the chain taken by the last successful remove(). */
  removedHead = 0;

  private readonly txn: Txn;

  constructor(mem: HeapMemory, txn: Txn) {
    this.mem = mem;
    this.txn = txn;
  }

  private base(cls: number): number {
    return centralWordOf(this.mem.layout, cls);
  }

  /** Stores a whole batch; false if every slot is full. */
  insert(cls: number, head: number, count: number): boolean {
    const i32 = this.mem.i32;
    const b = this.base(cls);
    const used = i32[b + CC.TRANSFER_USED]!;
    if (used >= TRANSFER_SLOTS) return false;
    // Before the slot's first write, and not undone by a rollback: an over-count at worst.
    if (used >= i32[b + CC.TRANSFER_HWM]!) i32[b + CC.TRANSFER_HWM] = used + 1;
    const w = transferWordOf(this.mem.layout, cls, used);
    this.txn.set(w, head);
    this.txn.set(w + 1, count);
    this.txn.set(b + CC.TRANSFER_USED, used + 1);
    this.txn.set(b + CC.TRANSFER_OBJECTS, i32[b + CC.TRANSFER_OBJECTS]! + count);
    return true;
  }

  /** Takes the most recent batch; returns its count (0: empty) and sets removedHead. */
  remove(cls: number): number {
    const i32 = this.mem.i32;
    const b = this.base(cls);
    const used = i32[b + CC.TRANSFER_USED]!;
    if (used === 0) return 0;
    const slot = transferWordOf(this.mem.layout, cls, used - 1);
    this.removedHead = i32[slot]! >>> 0;
    const count = i32[slot + 1]!;
    this.txn.set(b + CC.TRANSFER_USED, used - 1);
    this.txn.set(b + CC.TRANSFER_OBJECTS, i32[b + CC.TRANSFER_OBJECTS]! - count);
    return count;
  }

  used(cls: number): number {
    return this.mem.i32[this.base(cls) + CC.TRANSFER_USED]!;
  }

  slotHead(cls: number, k: number): number {
    return this.mem.i32[transferWordOf(this.mem.layout, cls, k)]! >>> 0;
  }

  slotCount(cls: number, k: number): number {
    return this.mem.i32[transferWordOf(this.mem.layout, cls, k) + 1]!;
  }
}
