/**
 * HeapMemory: one thread's views of the shared buffer ("physical memory").
 *
 * Owns: nothing shared; only this thread's typed-array views and the cached bounds.
 * Views have a fixed length (length-tracking views over a growable SharedArrayBuffer are
 * about 5x slower on Node 20), so after the PageHeap grows the buffer each thread refreshes
 * its views lazily: the first time it meets a pointer at or beyond its `limit`.
 *
 * Invariant: `limit` is the length of the views, nothing else: every pointer below it is
 * covered by `i32`/`u32`. (It must not depend on COMMITTED_PAGES: a thread that refreshed
 * between another's buffer.grow() and its COMMITTED_PAGES store would keep a limit below
 * its own views and take valid new objects for wild pointers.) Whether a pointer is a
 * block is the SHADOW's business; pages beyond COMMITTED_PAGES have no block marks.
 * The metadata views (shadow, pageClass, f64) cover the fixed prefix and never change.
 */

import { H, type HeapLayout } from './layout.js';

export class HeapMemory {
  readonly buffer: SharedArrayBuffer;
  readonly layout: HeapLayout;
  /** First byte of the pages region: page index i starts at base + i * pageSize. */
  readonly base: number;
  readonly pageShift: number;
  readonly pageSize: number;
  /** Int32/Uint32 views over the whole buffer as this thread last saw it. */
  i32: Int32Array;
  u32: Uint32Array;
  u8: Uint8Array;
  /** Float64 view over the metadata prefix (thread-slot counters). */
  readonly f64: Float64Array;
  /** Uint8 per 16-byte granule of the pages region: index (p - base) >>> 4. */
  readonly shadow: Uint8Array;
  /** Uint8 per page index: size class of the small span holding it. */
  readonly pageClass: Uint8Array;
  /** One past the last byte of the pages this thread's views cover. */
  limit: number;

  constructor(buffer: SharedArrayBuffer, layout: HeapLayout) {
    this.buffer = buffer;
    this.layout = layout;
    this.base = layout.pages;
    this.pageShift = layout.pageShift;
    this.pageSize = layout.pageSize;
    const len = buffer.byteLength;
    this.i32 = new Int32Array(buffer, 0, len >>> 2);
    this.u32 = new Uint32Array(buffer, 0, len >>> 2);
    this.u8 = new Uint8Array(buffer, 0, len);
    this.f64 = new Float64Array(buffer, 0, layout.pages >>> 3);
    this.shadow = new Uint8Array(buffer, layout.shadow, (layout.capacityPages * layout.pageSize) >>> 4);
    this.pageClass = new Uint8Array(buffer, layout.pageClass, layout.capacityPages);
    this.limit = len;
  }

  /** Pages currently in the heap (the PageHeap lock holder may be raising it). */
  committedPages(): number {
    return Atomics.load(this.i32, H.COMMITTED_PAGES);
  }

  /** Re-creates the views if another thread grew the buffer. True if the views changed. */
  refresh(): boolean {
    const len = this.buffer.byteLength;
    if (len === this.u8.length) return false;
    this.i32 = new Int32Array(this.buffer, 0, len >>> 2);
    this.u32 = new Uint32Array(this.buffer, 0, len >>> 2);
    this.u8 = new Uint8Array(this.buffer, 0, len);
    this.limit = len;
    return true;
  }

  /** Byte address of page index i. */
  pageAddress(i: number): number {
    return this.base + i * this.pageSize;
  }

  /** Page index of address p (p >= base). */
  pageOf(p: number): number {
    return (p - this.base) >>> this.pageShift;
  }
}
