/**
 * Span records and the PageMap.
 *
 * A Span is a run of contiguous pages. Its record (SPAN_WORDS Int32 words, see SP in
 * layout.ts) lives at the record slot of its first page index, so a span needs no record
 * allocation and "span id" = first page index. The PageMap maps every page index to the
 * first page index of its span (every page of an in-use span; first and last page of a
 * free span), so free() finds a block's span in O(1) and the PageHeap finds both
 * neighbours of a span it coalesces.
 *
 * Locking: a free span's record and PageMap entries belong to the PageHeap lock holder; a
 * small span's list links, free list and counts belong to its class's central lock
 * holder. This module takes no lock: callers must hold the right one. Every write goes
 * through the caller's undo log (Txn), except mapAllPages: the PageMap entries inside a
 * span only matter while it is in use, so a rolled-back allocation may leave them stale.
 *
 * Invariant: the record of a page that starts no span is all zero.
 */

import { SP, SPAN_WORDS } from './layout.js';
import type { HeapMemory } from './memory.js';
import type { Txn } from './txn.js';

export const NO_SPAN = -1;
/**
 * What PageHeap.allocateSpan(n, cls, w, false) returns when the only span it could give
 * would raise the high-water mark of pages handed out (the caller may free cached memory first).
 */
export const RAISES_MARK = -2;

export class SpanTable {
  private readonly mem: HeapMemory;
  /** Int32 index of span record 0. */
  private readonly spansWord: number;
  /** Int32 index of pageMap[0]. */
  private readonly pageMapWord: number;

  private readonly txn: Txn;

  constructor(mem: HeapMemory, txn: Txn) {
    this.mem = mem;
    this.txn = txn;
    this.spansWord = mem.layout.spans >>> 2;
    this.pageMapWord = mem.layout.pageMap >>> 2;
  }

  /** Int32 index of field `f` of span `s`'s record. */
  w(s: number, f: number): number {
    return this.spansWord + s * SPAN_WORDS + f;
  }

  get(s: number, f: number): number {
    return this.mem.i32[this.spansWord + s * SPAN_WORDS + f]!;
  }

  set(s: number, f: number, v: number): void {
    this.txn.set(this.spansWord + s * SPAN_WORDS + f, v);
  }

  /** First page index of the span holding page index `page` (stale for interiors of free spans). */
  spanOfPage(page: number): number {
    return this.mem.i32[this.pageMapWord + page]!;
  }

  /** Points every page of span [s, s+n) at s. */
  mapAllPages(s: number, n: number): void {
    this.mem.i32.fill(s, this.pageMapWord + s, this.pageMapWord + s + n);
  }

  /** A free span records only its ends: enough for its neighbours to find it. */
  mapEnds(s: number, n: number): void {
    this.txn.set(this.pageMapWord + s, s);
    this.txn.set(this.pageMapWord + s + n - 1, s);
  }

  clearRecord(s: number): void {
    const at = this.spansWord + s * SPAN_WORDS;
    for (let k = 0; k < SPAN_WORDS; k++) if (this.mem.i32[at + k] !== 0) this.txn.set(at + k, 0);
  }

  // Doubly linked span lists; `headWord` is the Int32 index of the list head (NO_SPAN = empty).

  listPush(headWord: number, s: number): void {
    const txn = this.txn;
    const head = this.mem.i32[headWord]!;
    txn.set(this.w(s, SP.PREV), NO_SPAN);
    txn.set(this.w(s, SP.NEXT), head);
    if (head !== NO_SPAN) txn.set(this.w(head, SP.PREV), s);
    txn.set(headWord, s);
  }

  listRemove(headWord: number, s: number): void {
    const txn = this.txn;
    const i32 = this.mem.i32;
    const prev = i32[this.w(s, SP.PREV)]!;
    const next = i32[this.w(s, SP.NEXT)]!;
    if (prev === NO_SPAN) txn.set(headWord, next);
    else txn.set(this.w(prev, SP.NEXT), next);
    if (next !== NO_SPAN) txn.set(this.w(next, SP.PREV), prev);
    txn.set(this.w(s, SP.PREV), NO_SPAN);
    txn.set(this.w(s, SP.NEXT), NO_SPAN);
  }
}
