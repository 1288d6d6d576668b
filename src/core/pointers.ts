/**
 * Pointer classification: what an offset handed to free/realloc/usableSize really is.
 *
 * Owns nothing; reads SHADOW, PAGECLASS and span records without a lock (a racing free is
 * settled later by the claim: see SharedHeap.claim). Returns the size class of a live block
 * start or throws a typed error naming what p is instead, before anything changes.
 */

import { DoubleFreeError, HeapCorruptionError, InvalidPointerError } from './errors.js';
import { Shadow, SP, SpanState } from './layout.js';
import type { HeapMemory } from './memory.js';
import type { SpanTable } from './span.js';

/**
 * Validates p as the start of a live block; returns its size class (0: large block).
 * Throws InvalidPointerError / DoubleFreeError naming what p really is.
 */
export function classifyPointer(mem: HeapMemory, spans: SpanTable, p: number, op: string): number {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) {
    throw new InvalidPointerError(p, `${op} needs a block offset (a non-negative integer)`);
  }
  if (p < mem.base) throw new InvalidPointerError(p, `${op}: points into the heap's header and metadata`);
  const end = mem.pageAddress(mem.committedPages());
  if (p >= end) throw new InvalidPointerError(p, `${op}: beyond the end of the heap (${end} bytes)`);
  if ((p & 15) !== 0) throw new InvalidPointerError(p, `${op}: not 16-byte aligned, so not a block start`);
  const state = mem.shadow[(p - mem.base) >>> 4];
  if (state === Shadow.ALLOCATED) {
    const cls = mem.pageClass[mem.pageOf(p)]!;
    if (cls === 0 && spans.spanOfPage(mem.pageOf(p)) !== mem.pageOf(p)) {
      throw new HeapCorruptionError(`shadow says ${p} is allocated but no span starts there`, p);
    }
    return cls;
  }
  if (state === Shadow.FREE || state === Shadow.FREED) {
    if (op === 'free') throw new DoubleFreeError(p);
    throw new InvalidPointerError(p, `${op}: the block was already freed (use after free)`);
  }
  const s = spans.spanOfPage(mem.pageOf(p));
  const spanState = s >= 0 ? spans.get(s, SP.STATE) : SpanState.NONE;
  const inSpan = s >= 0 && mem.pageOf(p) < s + spans.get(s, SP.PAGES);
  if (spanState === SpanState.SMALL && inSpan) {
    throw new InvalidPointerError(p, `${op}: inside a block of size class ${spans.get(s, SP.CLASS)}, not at its start`);
  }
  if (spanState === SpanState.LARGE && inSpan) {
    throw new InvalidPointerError(p, `${op}: inside a large block starting at ${mem.pageAddress(s)}`);
  }
  throw new InvalidPointerError(p, `${op}: inside free pages of the heap`);
}
