/**
 * HeapMemory: one thread's views of the shared buffer ("physical memory").
 *
 * Owns: nothing shared; only this thread's typed-array views.
 *
 * The buffer is always a plain (non-growable) SharedArrayBuffer that reserves the whole
 * heap: metadata plus capacityPages pages, i.e. `maxSize`. A growable heap grows a commit
 * watermark (H.COMMITTED_PAGES, raised under the PageHeap lock), not the buffer: the OS
 * makes a page resident only when it is first touched, so the reservation costs address
 * space, not memory. Hence every view here is fixed-length, covers the whole buffer and
 * never changes: no thread ever has to refresh a view after another thread's growth, and
 * `new Uint8Array(heap.buffer)` in user code is an ordinary (fast, non-length-tracking)
 * view.
 *
 * Invariant: pages at or beyond COMMITTED_PAGES belong to no span and have no SHADOW
 * marks; whether a pointer is a block is the SHADOW's business.
 */

import { H, type HeapLayout } from './layout.js';

export class HeapMemory {
  readonly buffer: SharedArrayBuffer;
  readonly layout: HeapLayout;
  /** First byte of the pages region: page index i starts at base + i * pageSize. */
  readonly base: number;
  readonly pageShift: number;
  readonly pageSize: number;
  /** Int32/Uint32/Uint8 views over the whole buffer. */
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly u8: Uint8Array;
  /** Float64 view over the metadata prefix (thread-slot counters). */
  readonly f64: Float64Array;
  /** Uint8 per 16-byte granule of the pages region: index (p - base) >>> 4. */
  readonly shadow: Uint8Array;
  /** Uint8 per page index: size class of the small span holding it. */
  readonly pageClass: Uint8Array;
  /** One past the last byte of the reservation (base + capacityPages * pageSize). */
  readonly limit: number;

  constructor(buffer: SharedArrayBuffer, layout: HeapLayout) {
    this.buffer = buffer;
    this.layout = layout;
    this.base = layout.pages;
    this.pageShift = layout.pageShift;
    this.pageSize = layout.pageSize;
    const len = layout.pages + layout.capacityPages * layout.pageSize;
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

  /** Byte address of page index i. */
  pageAddress(i: number): number {
    return this.base + i * this.pageSize;
  }

  /** Page index of address p (p >= base). */
  pageOf(p: number): number {
    return (p - this.base) >>> this.pageShift;
  }

  /**
   * Writes `byte` over [p, end). A Uint8Array fill over a SharedArrayBuffer stores byte by
   * byte (about 1 ns a byte in V8 11.3); the whole words in the range go four bytes a store.
   * Callers own the range (their block, or a span only they hold).
   */
  fillBytes(byte: number, p: number, end: number): void {
    const a = Math.min(end, Math.ceil(p / 4) * 4);
    const b = Math.max(a, Math.floor(end / 4) * 4);
    if (p < a) this.u8.fill(byte, p, a);
    if (a < b) this.i32.fill((byte & 255) * 0x01010101, a / 4, b / 4);
    if (b < end) this.u8.fill(byte, b, end);
  }
}
