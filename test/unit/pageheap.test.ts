/**
 * PageHeap alone, on a small formatted heap (no SharedHeap, no thread cache, no central
 * cache): carving and splitting, coalescing with both neighbours, exact-length lists,
 * best fit among long spans, growth, and the holder words of the transit protocol. After
 * every step the page heap's own invariants are walked (helpers/tiers.ts): the spans tile
 * the heap, no two free spans are adjacent, each free span is on the list for its length
 * and nothing else is, and the PH counters match.
 */
import { describe, expect, it } from 'vitest';
import { PH, S, SP, SpanState } from '../../src/core/layout.js';
import { NO_SPAN } from '../../src/core/span.js';
import { pageHeapInvariants, smallHeap, type SmallHeap } from '../helpers/tiers.js';

const transit = (h: SmallHeap): number => h.slotWord + S.TRANSIT_SPAN;
const holder = (h: SmallHeap): number => h.slotWord + S.TRANSIT_FREE;

/** Allocates spans of the given lengths (large, class 0) in order; returns their starts. */
function carve(h: SmallHeap, lengths: number[]): number[] {
  return lengths.map((n) => {
    const s = h.pageHeap.allocateSpan(n, 0, transit(h));
    expect(s).not.toBe(NO_SPAN);
    h.mem.i32[transit(h)] = NO_SPAN; // handed out: the caller drops its transit record
    return s;
  });
}

const give = (h: SmallHeap, s: number): void => h.pageHeap.deallocateSpan(s, holder(h));

describe('PageHeap on a small layout', () => {
  it('starts as one free span of every committed page, on the long-span list', () => {
    const h = smallHeap();
    expect(pageHeapInvariants(h)).toEqual([[0, 256]]);
    expect(h.mem.i32[(h.layout.pageHeap >>> 2) + PH.LISTS]).toBe(0);
  });

  it('carves a span from the front and keeps the remainder as one free span', () => {
    const h = smallHeap();
    const s = h.pageHeap.allocateSpan(10, 0, transit(h));
    expect(s).toBe(0);
    expect(h.mem.i32[transit(h)]).toBe(0); // the transit record names the span inside the same transaction
    expect(h.spans.get(0, SP.PAGES)).toBe(10);
    expect(h.spans.get(0, SP.STATE)).toBe(SpanState.LARGE);
    expect(pageHeapInvariants(h)).toEqual([[10, 246]]);
    const ph = h.layout.pageHeap >>> 2;
    expect([h.mem.i32[ph + PH.LARGE_SPANS], h.mem.i32[ph + PH.LARGE_PAGES]]).toEqual([1, 10]);
    const small = h.pageHeap.allocateSpan(3, 5, transit(h));
    expect(small).toBe(10);
    expect(h.spans.get(small, SP.STATE)).toBe(SpanState.SMALL);
    expect([...h.mem.pageClass.subarray(10, 13)]).toEqual([5, 5, 5]);
    expect(h.mem.pageClass[13]).toBe(0);
    expect([h.mem.i32[ph + PH.SMALL_SPANS], h.mem.i32[ph + PH.SMALL_PAGES]]).toEqual([1, 3]);
    expect(pageHeapInvariants(h)).toEqual([[13, 243]]);
  });

  it('coalesces a freed span with its free left and right neighbours', () => {
    const h = smallHeap();
    const [a, b, c, d] = carve(h, [4, 4, 4, 4]);
    give(h, a!);
    give(h, c!);
    expect(pageHeapInvariants(h)).toEqual([[0, 4], [8, 4], [16, 240]]);
    h.mem.i32[holder(h)] = 1234;
    give(h, b!);
    expect(h.mem.i32[holder(h)]).toBe(NO_SPAN); // the giver's record is cleared in the same transaction
    expect(pageHeapInvariants(h)).toEqual([[0, 12], [16, 240]]);
    give(h, d!);
    expect(pageHeapInvariants(h)).toEqual([[0, 256]]);
    const ph = h.layout.pageHeap >>> 2;
    expect([h.mem.i32[ph + PH.LARGE_SPANS], h.mem.i32[ph + PH.LARGE_PAGES]]).toEqual([0, 0]);
  });

  it('serves short spans from the smallest non-empty exact-length list, not the first hole by address', () => {
    const h = smallHeap();
    // holes of 5, 3 and 7 pages at ascending addresses, kept apart by 1-page spans
    const [h5, , h3, , h7] = carve(h, [5, 1, 3, 1, 7, 1]);
    for (const s of [h5!, h3!, h7!]) give(h, s);
    expect(pageHeapInvariants(h)).toEqual([[0, 5], [6, 3], [10, 7], [18, 238]]);
    expect(h.pageHeap.allocateSpan(3, 0, transit(h))).toBe(h3);
    expect(h.pageHeap.allocateSpan(4, 0, transit(h))).toBe(h5); // list 5, split: 1 page stays
    expect(h.pageHeap.allocateSpan(6, 0, transit(h))).toBe(h7);
    expect(pageHeapInvariants(h)).toEqual([[4, 1], [16, 1], [18, 238]]);
  });

  it('serves long spans by best fit, not first fit', () => {
    const h = smallHeap({ size: 4 << 20 }); // 1024 pages
    const [big, , mid] = carve(h, [300, 1, 200, 1]);
    // mid first: the list is LIFO, so the 300-page span is both first by address and first on its list
    give(h, mid!);
    give(h, big!);
    expect(pageHeapInvariants(h)).toEqual([[0, 300], [301, 200], [502, 522]]);
    expect(h.pageHeap.allocateSpan(150, 0, transit(h))).toBe(mid);
    expect(pageHeapInvariants(h)).toEqual([[0, 300], [451, 50], [502, 522]]);
  });

  it('returns NO_SPAN when nothing fits and changes nothing', () => {
    const h = smallHeap();
    carve(h, [200]);
    h.mem.i32[transit(h)] = NO_SPAN;
    expect(h.pageHeap.allocateSpan(57, 0, transit(h))).toBe(NO_SPAN);
    expect(h.mem.i32[transit(h)]).toBe(NO_SPAN);
    expect(pageHeapInvariants(h)).toEqual([[200, 56]]);
  });

  it('grows a growable heap by raising the watermark, merging the free tail', () => {
    const h = smallHeap({ maxSize: 2 << 20 });
    carve(h, [200]);
    expect(h.mem.committedPages()).toBe(256);
    const s = h.pageHeap.allocateSpan(100, 0, transit(h));
    expect(s).toBe(200); // the 56 free tail pages plus new ones, in one span
    expect(h.mem.committedPages()).toBeGreaterThan(256);
    expect(h.mem.committedPages()).toBeLessThanOrEqual(512);
    pageHeapInvariants(h);
  });
});
