/**
 * CentralCache alone, on a small formatted heap, against a recording page heap (a
 * SpanSource that forwards to a real PageHeap and logs each call) or a fake one that has
 * nothing to give: batch refill from a fresh span, batches through the TransferCache, a
 * span returned to the page heap when its last object comes back, refills that span
 * several spans, drain, and an empty page heap. The class's own invariants are checked
 * after each step: per span FREE_COUNT + IN_USE = objects per span, on NONEMPTY exactly
 * when FREE_COUNT > 0, CC.SPANS / CC.FREE_IN_SPANS match the spans, every free object is
 * SHADOW FREE.
 */
import { describe, expect, it } from 'vitest';
import type { SpanSource } from '../../src/core/centralcache.js';
import { CC, S, Shadow, SP } from '../../src/core/layout.js';
import { decodeLink } from '../../src/core/safelink.js';
import { NO_SPAN } from '../../src/core/span.js';
import { centralOn, listObjects, pageHeapInvariants, smallHeap, type SmallHeap } from '../helpers/tiers.js';

class RecordingPageHeap implements SpanSource {
  readonly calls: string[] = [];
  constructor(private readonly below: SpanSource) {}
  allocateSpan(n: number, cls: number, transitWord: number): number {
    const s = this.below.allocateSpan(n, cls, transitWord);
    this.calls.push(`allocate ${n} pages class ${cls} -> ${s}`);
    return s;
  }
  deallocateSpan(s: number, holderWord: number): void {
    this.calls.push(`deallocate ${s}`);
    this.below.deallocateSpan(s, holderWord);
  }
  clearShadow(s: number, pages: number): void {
    this.below.clearShadow(s, pages);
  }
  markShadowObjects(s: number, size: number, count: number): void {
    this.below.markShadowObjects(s, size, count);
  }
}

/** A page heap with no memory at all. */
const emptyPageHeap: SpanSource = {
  allocateSpan: () => NO_SPAN,
  deallocateSpan: () => {
    throw new Error('nothing was handed out');
  },
  clearShadow: () => {
    throw new Error('nothing was handed out');
  },
  markShadowObjects: () => {
    throw new Error('nothing was handed out');
  },
};

function setup(size = 64) {
  const h = smallHeap();
  const rec = new RecordingPageHeap(h.pageHeap);
  const central = centralOn(h, rec);
  const cls = h.table.classOf[(size + 15) >>> 4]!;
  const info = h.table.classes[cls]!;
  const headWord = h.slotWord + h.layout.slot.heads + cls;
  return { h, rec, central, cls, info, batch: h.table.batchOf[cls]!, headWord };
}

/** Class cls's invariants; returns its spans (walking NONEMPTY). */
function classInvariants(h: SmallHeap, cls: number, classWord: number): number[] {
  const i32 = h.mem.i32;
  const info = h.table.classes[cls]!;
  const listed: number[] = [];
  let freeInSpans = 0;
  for (let s = i32[classWord + CC.NONEMPTY]!; s !== NO_SPAN; s = h.spans.get(s, SP.NEXT)) {
    listed.push(s);
    const free = h.spans.get(s, SP.FREE_COUNT);
    expect(free, `span ${s} on NONEMPTY`).toBeGreaterThan(0);
    expect(free + h.spans.get(s, SP.IN_USE), `span ${s}`).toBe(info.objectsPerSpan);
    let p = h.spans.get(s, SP.FREE_HEAD) >>> 0;
    for (let k = 0; k < free; k++) {
      expect(h.mem.shadow[(p - h.mem.base) >>> 4], `object ${p}`).toBe(Shadow.FREE);
      p = decodeLink(h.mem.u32[p >>> 2]!, p, h.layout.key);
    }
    expect(p).toBe(0);
    freeInSpans += free;
  }
  expect(i32[classWord + CC.FREE_IN_SPANS]).toBe(freeInSpans);
  expect(i32[h.slotWord + S.LOG_LEN]).toBe(0);
  return listed;
}

describe('CentralCache on a small layout', () => {
  it('refills a batch with the first objects of one fresh span, all FREE', () => {
    const { h, rec, central, cls, info, batch, headWord } = setup();
    expect(central.removeRange(cls, batch, headWord)).toBe(batch);
    expect(rec.calls).toEqual([`allocate ${info.pages} pages class ${cls} -> 0`]);
    expect(h.mem.i32[h.slotWord + S.TRANSIT_SPAN]).toBe(NO_SPAN); // linked into the class: no longer in transit
    const objs = listObjects(h, headWord);
    expect(objs).toHaveLength(batch);
    // the span hands out ascending addresses (pushed onto the caller's list one by one)
    const start = h.mem.pageAddress(0);
    expect([...objs].sort((a, b) => a - b)).toEqual(Array.from({ length: batch }, (_, k) => start + k * info.size));
    for (const p of objs) {
      expect(h.spans.spanOfPage(h.mem.pageOf(p))).toBe(0);
      expect(h.mem.shadow[(p - h.mem.base) >>> 4]).toBe(Shadow.FREE);
    }
    const b = central.classWord(cls);
    expect(h.mem.i32[b + CC.SPANS]).toBe(1);
    expect(h.spans.get(0, SP.IN_USE)).toBe(batch);
    expect(classInvariants(h, cls, b)).toEqual([0]);
  });

  it('returns a span to the page heap when its last object comes back', () => {
    const { h, rec, central, cls, batch, headWord } = setup();
    central.removeRange(cls, batch, headWord);
    const objs = listObjects(h, headWord);
    central.insertRange(cls, headWord, batch, false);
    expect(rec.calls.slice(1)).toEqual(['deallocate 0']);
    expect(listObjects(h, headWord)).toEqual([]);
    expect(h.mem.i32[headWord]).toBe(0);
    const b = central.classWord(cls);
    expect([h.mem.i32[b + CC.SPANS], h.mem.i32[b + CC.FREE_IN_SPANS]]).toEqual([0, 0]);
    expect(classInvariants(h, cls, b)).toEqual([]);
    for (let k = 0; k < 64; k++) expect(h.mem.i32[h.slotWord + S.PENDING + k]).toBe(NO_SPAN);
    // a late double free of any of its objects is still recognisable
    for (const p of objs) expect(h.mem.shadow[(p - h.mem.base) >>> 4]).toBe(Shadow.FREED);
    expect(pageHeapInvariants(h)).toEqual([[0, 256]]);
  });

  it('keeps a span while any of its objects is out', () => {
    const { h, rec, central, cls, batch, headWord } = setup();
    central.removeRange(cls, batch, headWord);
    central.insertRange(cls, headWord, batch - 1, false);
    expect(rec.calls).toHaveLength(1);
    expect(listObjects(h, headWord)).toHaveLength(1);
    expect(classInvariants(h, cls, central.classWord(cls))).toEqual([0]);
  });

  it('moves whole batches through the TransferCache without touching spans', () => {
    const { h, rec, central, cls, batch, headWord } = setup();
    central.removeRange(cls, batch, headWord);
    const objs = listObjects(h, headWord);
    const b = central.classWord(cls);
    const freeBefore = h.mem.i32[b + CC.FREE_IN_SPANS];
    central.insertRange(cls, headWord, batch, true);
    expect(central.transfer.used(cls)).toBe(1);
    expect(h.mem.i32[b + CC.TRANSFER_OBJECTS]).toBe(batch);
    expect(h.mem.i32[b + CC.FREE_IN_SPANS]).toBe(freeBefore); // not walked back into the span
    expect(h.spans.get(0, SP.IN_USE)).toBe(batch);
    expect(central.removeRange(cls, batch, headWord)).toBe(batch);
    expect(listObjects(h, headWord)).toEqual(objs);
    expect(central.transfer.used(cls)).toBe(0);
    expect(rec.calls).toHaveLength(1); // no new span
    classInvariants(h, cls, b);
  });

  it('a refill larger than a span takes one fresh span and returns what it holds', () => {
    const { h, rec, central, cls, info, headWord } = setup(2048); // 2 objects per span (4 KiB pages)
    expect(info.objectsPerSpan).toBeGreaterThan(1);
    const want = info.objectsPerSpan * 2 + 1;
    expect(central.removeRange(cls, want, headWord)).toBe(info.objectsPerSpan);
    expect(rec.calls).toHaveLength(1);
    const b = central.classWord(cls);
    expect(h.mem.i32[b + CC.SPANS]).toBe(1);
    expect(classInvariants(h, cls, b)).toHaveLength(0); // the one span is fully out
  });

  it('a refill that finds some free objects takes them and carves no new span', () => {
    // One span of 64 B objects; all but 3 of its objects out. A refill of a whole batch
    // gets those 3: topping the batch up from a new span grew the class past the most
    // objects it ever had live (the difference parked in the caller's cache).
    const { h, rec, central, cls, info, batch, headWord } = setup();
    const out = info.objectsPerSpan - 3;
    let got = 0;
    while (got < out) got += central.removeRange(cls, Math.min(batch, out - got), headWord);
    expect(got).toBe(out);
    expect(rec.calls).toHaveLength(1);
    expect(central.removeRange(cls, batch, headWord)).toBe(3);
    expect(rec.calls, 'no second span').toHaveLength(1);
    const b = central.classWord(cls);
    expect(h.mem.i32[b + CC.SPANS]).toBe(1);
    expect(classInvariants(h, cls, b)).toEqual([]);
    // Only an empty class carves: the next refill takes a fresh span.
    expect(central.removeRange(cls, batch, headWord)).toBe(batch);
    expect(rec.calls).toHaveLength(2);
    expect(new Set(listObjects(h, headWord)).size).toBe(info.objectsPerSpan + batch);
  });

  it('drainTransferCaches empties the TransferCache and returns every unused span', () => {
    const { h, rec, central, cls, batch, headWord } = setup();
    central.removeRange(cls, batch, headWord);
    central.insertRange(cls, headWord, batch, true);
    central.drainTransferCaches();
    expect(central.transfer.used(cls)).toBe(0);
    expect(rec.calls.slice(1)).toEqual(['deallocate 0']);
    expect(pageHeapInvariants(h)).toEqual([[0, 256]]);
  });

  it('an empty page heap: the refill gets nothing and nothing changes', () => {
    const h = smallHeap();
    const central = centralOn(h, emptyPageHeap);
    const cls = h.table.classOf[4]!;
    const headWord = h.slotWord + h.layout.slot.heads + cls;
    expect(central.removeRange(cls, h.table.batchOf[cls]!, headWord)).toBe(0);
    expect(h.mem.i32[headWord]).toBe(0);
    expect(classInvariants(h, cls, central.classWord(cls))).toEqual([]);
  });
});
