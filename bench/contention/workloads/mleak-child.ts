/**
 * mleak's child: the loop one short-lived worker_thread runs (workers/mleak.ts starts it;
 * the supervisor is mleak.ts), and the shared layout both sides read.
 *
 * Owns, in the workload's shared data:
 *   [0, cells * 4)     the mailbox: cells of (state, ptr, size, tag). state EMPTY, FULL,
 *                      SENDING(slot) while a sender fills it, TAKING(slot) while a receiver
 *                      frees its block. Only the slot named in a SENDING/TAKING state moves
 *                      the cell on; a cell is claimed by compareExchange from EMPTY or FULL.
 *   per slot           a header (intent log, counters) and a table of `slots` blocks
 *                      (ptr, size, tag). A slot's words are written by its one live child,
 *                      and by its supervisor only while no child of the slot runs.
 *
 * Invariants (what makes a kill at any instruction recoverable):
 * - Every operation on a block first publishes its intent (kind, table index, pointer,
 *   cell, the counter it will bump), then acts, then bumps the counter, then clears the
 *   intent. The supervisor of a dead child reads the intent and the heap's count of the
 *   child's mallocs minus frees (RecoveryReport.netAllocationsBySlot) and so knows whether
 *   the interrupted call happened (resolveIntent in mleak.ts).
 * - A table entry's size and tag are written before its pointer, and a pointer is cleared
 *   before the block is freed or once it sits published in a cell: a block is never owned
 *   twice; at worst (malloc returned, pointer not yet stored) it is owned by nobody, and
 *   that is counted exactly as lost-on-kill.
 * - Every block is stamped with its tag over its whole request and checked before it is
 *   freed or handed on (by the sender, the receiver and the adopting replacement).
 */
import { shouldStop } from '../../kit/control.js';
import { rng32 } from '../../kit/prng.js';
import type { AllocatorAdapter } from '../adapters/types.js';
import { HeapView, VerificationError, type WorkerTask } from './common.js';
import { TAG_STEP, describeTag, stampTag, tagBase, tagIntact } from '../../kit/stamp.js';

export const CELL_WORDS = 4;
export const EMPTY = 0;
export const FULL = 1;
export const SENDING = 16;
export const TAKING = 4096;

/** slot header words */
export const S = {
  intent: 0,
  k: 1,
  p: 2,
  cell: 3,
  phase: 4,
  mallocs: 5,
  frees: 6,
  counted: 7,
  /** how the child left: 0 not yet (or killed), END_CLEAN, END_EXIT, END_THROW */
  end: 8,
  sends: 9,
  receives: 10,
  /**
   * sabmalloc: the heap's mallocs minus frees of the child's slot when it attached (slots
   * are reused, their counters are not reset), mod 2^32, and 1 once it is written
   */
  base: 11,
  based: 12,
} as const;
export const SLOT_HEADER = 16;
export const I_NONE = 0;
export const I_MALLOC = 1;
export const I_FREE = 2;
export const I_SEND = 3;
export const I_RECV = 4;
export const END_CLEAN = 1;
export const END_EXIT = 2;
export const END_THROW = 3;
export const PLANNED_THROW = 'mleak: planned exit by throw';

export type ExitMode = 'clean' | 'exit' | 'throw' | 'terminate';

export interface MleakLayout {
  cells: number;
  slots: number;
}

export function mleakDataWords(l: MleakLayout, workers: number): number {
  return l.cells * CELL_WORDS + workers * (SLOT_HEADER + 3 * l.slots);
}

export function slotBase(l: MleakLayout, slot: number): number {
  return l.cells * CELL_WORDS + slot * (SLOT_HEADER + 3 * l.slots);
}

/** What the supervisor sends a child (workerData): its run's task fields, and its place. */
export interface ChildData extends Pick<WorkerTask, 'allocator' | 'heap' | 'wasmMemory' | 'ctl' | 'data' | 'workers' | 'params' | 'seed' | 'touch'> {
  slot: number;
  /** allocator worker index (thing owner id, zig stack slot): distinct from every supervisor's */
  index: number;
  life: number;
  mode: ExitMode;
}

/** The child's side: adopt the slot's table, then replace, send and receive blocks. */
export class Child {
  private readonly h: HeapView;
  private readonly base: number;
  private readonly tbl: number;
  private readonly next: () => number;
  private tag: number;

  constructor(
    private readonly a: AllocatorAdapter,
    private readonly d: Int32Array,
    private readonly c: ChildData,
  ) {
    this.h = new HeapView(a.buffer);
    this.base = slotBase(c.params as unknown as MleakLayout, c.slot);
    this.tbl = this.base + SLOT_HEADER;
    this.next = rng32((c.seed * 7919 + c.slot * 104729 + c.life * 31) | 0);
    this.tag = tagBase(c.slot, c.life);
  }

  private fail(what: string, p: number, n: number, t: number): never {
    throw new VerificationError('mleak', `${what} ${describeTag(this.h.h, p, n, t)}`);
  }

  /** Checks every block the slot's earlier children left (the replacement takes them over). */
  adopt(): number {
    const { d, tbl } = this;
    const n = this.c.params.slots;
    let held = 0;
    for (let k = 0; k < n; k++) {
      const p = d[tbl + k];
      if (p === 0) continue;
      if (!tagIntact(this.h.h, p, d[tbl + n + k], d[tbl + 2 * n + k])) this.fail('adopted', p, d[tbl + n + k], d[tbl + 2 * n + k]);
      held++;
    }
    return held;
  }

  private intend(kind: number, k: number, p: number, cell: number, counter: number): void {
    const d = this.d;
    const b = this.base;
    d[b + S.k] = k;
    d[b + S.p] = p;
    d[b + S.cell] = cell;
    d[b + S.phase] = 0;
    d[b + S.counted] = d[b + counter];
    Atomics.store(d, b + S.intent, kind);
  }

  private done(counter: number): void {
    const b = this.base;
    Atomics.store(this.d, b + counter, this.d[b + counter] + 1);
    Atomics.store(this.d, b + S.intent, I_NONE);
  }

  private allocate(k: number): void {
    const { d, tbl } = this;
    const slots = this.c.params.slots;
    const n = (this.c.params.minSize + (this.next() % (this.c.params.maxSize - this.c.params.minSize + 1))) & ~7;
    this.tag = (this.tag + TAG_STEP) | 0;
    d[tbl + slots + k] = n;
    d[tbl + 2 * slots + k] = this.tag;
    this.intend(I_MALLOC, k, 0, -1, S.mallocs);
    d[tbl + k] = this.a.malloc(n);
    stampTag(this.h.h, d[tbl + k], n, this.tag);
    this.done(S.mallocs);
  }

  private release(k: number, p: number): void {
    this.intend(I_FREE, k, p, -1, S.frees);
    this.d[this.tbl + k] = 0;
    this.a.free(p);
    this.done(S.frees);
  }

  /** Publishes block k in an empty cell; false when none was found (the caller frees it). */
  private send(k: number, p: number): boolean {
    const { d, tbl } = this;
    const slots = this.c.params.slots;
    const cells = this.c.params.cells;
    const c0 = this.next() % cells;
    for (let i = 0; i < 4; i++) {
      const c = ((c0 + i) % cells) * CELL_WORDS;
      if (Atomics.load(d, c) !== EMPTY) continue;
      this.intend(I_SEND, k, p, c, S.sends);
      if (Atomics.compareExchange(d, c, EMPTY, SENDING + this.c.slot) !== EMPTY) continue;
      d[this.base + S.phase] = 1;
      d[c + 1] = p;
      d[c + 2] = d[tbl + slots + k];
      d[c + 3] = d[tbl + 2 * slots + k];
      Atomics.store(d, c, FULL);
      d[tbl + k] = 0;
      this.done(S.sends);
      return true;
    }
    Atomics.store(d, this.base + S.intent, I_NONE);
    return false;
  }

  /** Takes one block some child published, checks it and frees it. */
  private receive(): boolean {
    const d = this.d;
    const cells = this.c.params.cells;
    const c0 = this.next() % cells;
    for (let i = 0; i < 4; i++) {
      const c = ((c0 + i) % cells) * CELL_WORDS;
      if (Atomics.load(d, c) !== FULL) continue;
      this.intend(I_RECV, -1, 0, c, S.frees);
      if (Atomics.compareExchange(d, c, FULL, TAKING + this.c.slot) !== FULL) continue;
      const p = d[c + 1];
      if (!tagIntact(this.h.h, p, d[c + 2], d[c + 3])) this.fail('received', p, d[c + 2], d[c + 3]);
      this.intend(I_FREE, -1, p, c, S.frees);
      this.a.free(p);
      Atomics.store(d, this.base + S.frees, d[this.base + S.frees] + 1);
      Atomics.store(d, c, EMPTY);
      Atomics.store(d, this.base + S.receives, d[this.base + S.receives] + 1);
      Atomics.store(d, this.base + S.intent, I_NONE);
      return true;
    }
    Atomics.store(d, this.base + S.intent, I_NONE);
    return false;
  }

  /**
   * Runs until STOP, or until `lifeOps` iterations for the modes that leave on their own.
   * Returns true when the run's STOP ended it. A child whose turn is terminate runs until
   * its kill, STOP or not (the supervisor kills it within lifeMs of its start), so that turn
   * always ends in a termination, also for a child started after the window (minLives).
   */
  run(ctl: Int32Array): boolean {
    const { d, tbl } = this;
    const p = this.c.params;
    const slots = p.slots;
    const killed = this.c.mode === 'terminate';
    const life = killed ? Infinity : p.lifeOps;
    const crossBelow = Math.floor((p.cross / 100) * 65536);
    for (let k = 0; k < slots; k++) if (d[tbl + k] === 0) this.allocate(k);
    for (let it = 0; it < life; it++) {
      if (!killed && shouldStop(ctl, Infinity, 1)) return true;
      const r = this.next();
      const k = r % slots;
      const q = d[tbl + k];
      if (q !== 0) {
        const n = d[tbl + slots + k];
        const t = d[tbl + 2 * slots + k];
        if (!tagIntact(this.h.h, q, n, t)) this.fail('held', q, n, t);
        if ((r >>> 16) >= crossBelow || !this.send(k, q)) this.release(k, q);
      }
      this.allocate(k);
      if ((it & 3) === 0) this.receive();
    }
    return false;
  }
}
