/**
 * Debug mode (HeapOptions.debug): poison, guard bytes and allocation stacks.
 *
 * A debug block carries, after the n bytes asked for, GUARD bytes, then a serial number
 * and n in its last 8 bytes (DEBUG_EXTRA). Freed small blocks are POISONed (the central
 * cache poisons fresh spans too): a reused block must still be poisoned, else something
 * wrote to it while it was free. Guards are checked on free, before the block is released.
 *
 * Owns: the bytes of this thread's debug blocks beyond their first n, and this thread's
 * map of its live allocations (pointer -> serial, size, stack; plain memory, per handle).
 * SharedHeap calls it on its slow paths only (a debug heap never takes the fast path).
 */

import { HeapCorruptionError } from './errors.js';
import { Shadow } from './layout.js';
import type { HeapMemory } from './memory.js';

/** Bytes a debug block carries beyond the request (guard, serial, requested size). */
export const DEBUG_EXTRA = 12;
const POISON = 0xdd;
const GUARD = 0xab;

export interface LeakReportEntry {
  pointer: number;
  size: number;
  stack: string;
}

export class DebugBlocks {
  private readonly mem: HeapMemory;
  private readonly threadSlot: number;
  private readonly allocations = new Map<number, { serial: number; size: number; stack: string }>();
  private serial = 0;

  constructor(mem: HeapMemory, threadSlot: number) {
    this.mem = mem;
    this.threadSlot = threadSlot;
  }

  /**
   * Arms block p (`bytes` long, class cls, 0: large) just allocated for n bytes: checks a
   * reused small block is still poisoned, writes guards, serial and size, records the stack.
   * depthWord: its second word holds the depth a thread cache list gave it (threadcache.ts),
   * so only the bytes after it must be poisoned (any other value there is a write after free).
   */
  armBlock(p: number, n: number, bytes: number, cls: number, depthWord = false): void {
    const mem = this.mem;
    if (cls > 0) {
      for (let k = p + (depthWord ? 8 : 4); k < p + bytes; k++) {
        if (mem.u8[k] !== POISON) {
          throw new HeapCorruptionError(
            `block ${p} (size class ${cls}) was written at offset ${k - p} while it was free (use after free)`,
            p,
          );
        }
      }
    }
    mem.fillBytes(GUARD, p + n, p + bytes - 8);
    const serial = (this.threadSlot * 0x1000000 + (++this.serial & 0xffffff)) >>> 0;
    mem.u32[(p + bytes - 8) >>> 2] = serial;
    mem.u32[(p + bytes - 4) >>> 2] = n;
    this.allocations.set(p, { serial, size: n, stack: new Error('allocated here').stack ?? '' });
  }

  /** The size asked for of debug block p (`bytes` long). */
  requestedSize(p: number, bytes: number): number {
    return this.mem.u32[(p + bytes - 4) >>> 2]!;
  }

  /** Debug free, first half (read only, after the claim): the guard bytes must be intact. */
  checkGuards(p: number, bytes: number): void {
    const mem = this.mem;
    const n = mem.u32[(p + bytes - 4) >>> 2]!;
    if (n > bytes - DEBUG_EXTRA) {
      throw new HeapCorruptionError(`block ${p}: its size record was overwritten (write past its end)`, p);
    }
    for (let k = p + n; k < p + bytes - 8; k++) {
      if (mem.u8[k] !== GUARD) {
        throw new HeapCorruptionError(`block ${p} of ${n} bytes was written past its end, at offset ${k - p}`, p);
      }
    }
  }

  /** Debug free, second half (the block is claimed): forget it, poison it. */
  poison(p: number, bytes: number): void {
    this.allocations.delete(p);
    this.mem.fillBytes(POISON, p, p + bytes);
  }

  /**
   * Blocks this thread allocated that are still allocated, with the stack of their
   * allocation (blocks freed by another thread are recognised by their serial).
   */
  leakReport(blockBytes: (p: number) => number): LeakReportEntry[] {
    const out: LeakReportEntry[] = [];
    const mem = this.mem;
    for (const [p, a] of this.allocations) {
      if (mem.shadow[(p - mem.base) >>> 4] !== Shadow.ALLOCATED) continue;
      if (mem.u32[(p + blockBytes(p) - 8) >>> 2] !== a.serial) continue;
      out.push({ pointer: p, size: a.size, stack: a.stack });
    }
    return out;
  }
}
