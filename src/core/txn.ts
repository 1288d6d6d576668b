/**
 * Txn: the undo log that makes every critical section recoverable.
 *
 * Owns: the undo log in its thread's slot (S.LOG_LEN + LOG_ENTRIES entries). While a thread
 * holds a lock, every shared word it changes goes through set(), which first appends
 * (word index, old value) to the log, then counts the entry, then writes. commit() (the
 * last step before unlocking) empties the log. A worker can be terminated between any two
 * of these steps; recovery (recovery.ts) then undoes the log from the newest entry back,
 * which restores exactly the state the structure had when the lock was taken: a prefix of
 * complete entries, the last write done or not, is undone alike (undo is idempotent).
 *
 * Only the PAGECLASS fills are logged as ranges; PageMap interiors of free spans are
 * don't-care and need no undo (see span.ts). setByte logs single bytes (the SHADOW mark of
 * a large block freed under the PageHeap lock).
 *
 * Critical sections: this is also the ONE way every tier (CentralCache, TransferCache,
 * PageHeap, the global-lock mode) runs a critical section, so that no throw (an internal
 * error, a HeapCorruptionError found halfway, a log overflow) can leave a lock held or a
 * transaction open:
 *
 *     txn.enter(lock);
 *     try {
 *       ...txn.set(...)...        // log, then write
 *       txn.commit();             // the last step of a section that completed
 *     } finally {
 *       txn.exit(lock);           // rolls back what was not committed, then unlocks
 *     }
 *
 * A section that leaves by a throw is aborted: exit() undoes its logged writes, so the
 * structure is exactly as it was when the lock was taken, and only then releases the lock.
 * No closures: the hot callers keep their monomorphic try/finally. Sections may nest only
 * around a section that logs nothing itself (the global lock around a tier's NoLock section).
 *
 * Invariant: LOG_LEN is 0 whenever the thread holds no lock.
 */

import type { Lock } from '../locks/lock.js';
import { LOG_ENTRIES, LOG_ENTRY_WORDS, S } from './layout.js';
import type { HeapMemory } from './memory.js';

/** Log entry tags (first word); a plain word entry stores the word index there (>= 0). */
const TAG_PAGECLASS = -1; // entry: tag, start page, (pages << 8) | old class byte
const TAG_BYTE = -2; // entry: tag, u8 index, old byte

export class Txn {
  private readonly mem: HeapMemory;
  private readonly slotWord: number;
  private readonly logOffset: number;
  private readonly lenWord: number;
  private readonly logWord: number;

  constructor(mem: HeapMemory, slotWord: number, logOffset: number) {
    this.mem = mem;
    this.slotWord = slotWord;
    this.logOffset = logOffset;
    this.lenWord = slotWord + S.LOG_LEN;
    this.logWord = slotWord + logOffset;
  }

  /** Enters a critical section: takes `lock` (the log is empty: LOG_LEN is 0 outside locks). */
  enter(lock: Lock): void {
    lock.lock();
  }

  /**
   * Leaves a critical section, from its `finally`: a section that did not commit (it threw)
   * is rolled back, then the lock is released, whatever happened inside.
   */
  exit(lock: Lock): void {
    try {
      if (this.mem.i32[this.lenWord] !== 0) this.rollback();
    } finally {
      lock.unlock();
    }
  }

  /** Index of the next log entry; throws (the caller's section then aborts) when full. */
  private nextEntry(): number {
    const n = this.mem.i32[this.lenWord]!;
    if (n >= LOG_ENTRIES) throw new Error(`sabmalloc internal error: undo log overflow (${n} entries)`);
    return this.logWord + n * LOG_ENTRY_WORDS;
  }

  /** Logs then writes i32[index] = value. */
  set(index: number, value: number): void {
    const i32 = this.mem.i32;
    const n = i32[this.lenWord]!;
    if (n >= LOG_ENTRIES) throw new Error(`sabmalloc internal error: undo log overflow (${n} entries)`);
    const e = this.logWord + n * LOG_ENTRY_WORDS;
    i32[e] = index;
    i32[e + 1] = i32[index]!;
    i32[this.lenWord] = n + 1;
    i32[index] = value;
  }

  /** Logs then sets PAGECLASS of pages [start, start + pages) from `old` to `value`. */
  fillPageClass(start: number, pages: number, value: number, old: number): void {
    const i32 = this.mem.i32;
    const e = this.nextEntry();
    i32[e] = TAG_PAGECLASS;
    i32[e + 1] = start;
    i32[e + 2] = pages * 256 + old;
    i32[this.lenWord]++;
    this.mem.pageClass.fill(value, start, start + pages);
  }

  /** Logs then writes u8[index] = value (a byte no other thread writes meanwhile). */
  setByte(index: number, value: number): void {
    const i32 = this.mem.i32;
    const e = this.nextEntry();
    i32[e] = TAG_BYTE;
    i32[e + 1] = index;
    i32[e + 2] = this.mem.u8[index]!;
    i32[this.lenWord]++;
    this.mem.u8[index] = value;
  }

  commit(): void {
    this.mem.i32[this.lenWord] = 0;
  }

  /** Undoes this thread's open transaction (on an error found halfway through it). */
  rollback(): void {
    undoLog(this.mem, this.slotWord, this.logOffset);
  }

  length(): number {
    return this.mem.i32[this.lenWord]!;
  }
}

/** Rolls back the undo log of a (dead) thread's slot; returns how many entries it undid. */
export function undoLog(mem: HeapMemory, slotWord: number, logOffset: number): number {
  const i32 = mem.i32;
  const lenWord = slotWord + S.LOG_LEN;
  const n = Math.min(i32[lenWord]!, LOG_ENTRIES);
  for (let k = n - 1; k >= 0; k--) {
    const e = slotWord + logOffset + k * LOG_ENTRY_WORDS;
    const tag = i32[e]!;
    if (tag === TAG_PAGECLASS) {
      const packed = i32[e + 2]!;
      const start = i32[e + 1]!;
      mem.pageClass.fill(packed & 255, start, start + Math.floor(packed / 256));
    } else if (tag === TAG_BYTE) {
      mem.u8[i32[e + 1]!] = i32[e + 2]!;
    } else {
      i32[tag] = i32[e + 1]!;
    }
  }
  i32[lenWord] = 0;
  return n;
}
