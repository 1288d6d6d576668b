/**
 * Properties of the generated size-class table:
 * - class 0 reserved; sizes strictly increasing multiples of 16, from 16 to 256 KiB;
 * - rounding waste: for every request n in 1..256 KiB, the class chosen is the smallest that
 *   fits, and (classSize - n) / classSize <= 1/8 once n > 128. For n <= 128 a 1/8 bound is
 *   impossible (n = 1 lives in a 16-byte class), so there we check the 16-byte granularity:
 *   classSize - n < 16, i.e. classSize is n rounded up to 16;
 * - span tail waste (pages * pageSize mod size) / (pages * pageSize) <= 1/8;
 * - batch sizes in [2, 32]; objects per span consistent with pages;
 * - the lookup is monotonic, and the live allocator's usableSize agrees with the table.
 */
import { describe, expect, it } from 'vitest';
import { SIZE_CLASSES, SharedHeap } from '../../src/index.js';
import { SMALL_MAX, sizeClassTable, type SizeClassTable } from '../../src/core/sizeclasses.js';

const KiB = 1024;
const PAGE_SIZES = [4 * KiB, 8 * KiB, 16 * KiB, 64 * KiB];

/** The class the table's O(1) lookup gives for request n. */
function classFor(t: SizeClassTable, n: number): number {
  return t.classOf[(n + 15) >>> 4]!;
}

describe.each(PAGE_SIZES)('size classes for %i-byte pages', (pageSize) => {
  const t = sizeClassTable(pageSize);
  const real = t.classes.slice(1);

  it('reserves class 0 and has sizes 16..256 KiB, strictly increasing multiples of 16', () => {
    expect(t.classes[0]!.size).toBe(0);
    expect(t.count).toBe(t.classes.length);
    expect(real[0]!.size).toBe(16);
    expect(real[real.length - 1]!.size).toBe(256 * KiB);
    expect(SMALL_MAX).toBe(256 * KiB);
    for (let c = 1; c < t.classes.length; c++) {
      const s = t.classes[c]!.size;
      expect(s % 16, `class ${c} size ${s}`).toBe(0);
      if (c > 1) expect(s, `class ${c}`).toBeGreaterThan(t.classes[c - 1]!.size);
      expect(t.sizeOf[c]).toBe(s);
      expect(t.batchOf[c]).toBe(t.classes[c]!.batch);
    }
  });

  it('lookup gives the smallest fitting class, monotonic, with bounded rounding waste', () => {
    const bad: string[] = [];
    let prevClass = 0;
    let worst = 0;
    let lastBadClass = -1;
    for (let n = 1; n <= SMALL_MAX; n++) {
      const c = classFor(t, n);
      const size = t.classes[c]?.size ?? -1;
      if (c < 1 || size < n) {
        bad.push(`n=${n}: class ${c} (size ${size}) does not fit`);
      } else if (t.classes[c - 1]!.size >= n) {
        bad.push(`n=${n}: class ${c} (size ${size}) is not the smallest fitting (class ${c - 1} has ${t.classes[c - 1]!.size})`);
      }
      if (c < prevClass) bad.push(`n=${n}: class ${c} < class ${prevClass} of n-1`);
      prevClass = c;
      if (n <= 128) {
        if (size - n >= 16) bad.push(`n=${n}: class size ${size} is not n rounded up to 16`);
      } else {
        const waste = (size - n) / size;
        worst = Math.max(worst, waste);
        // One line per offending class: its first (worst) request.
        if (waste > 0.125 && c !== lastBadClass) {
          bad.push(`n=${n}: class ${c} (size ${size}, previous class ${t.classes[c - 1]!.size}) wastes ${(100 * waste).toFixed(1)}% > 12.5%`);
          lastBadClass = c;
        }
      }
      if (bad.length > 20) break;
    }
    expect(bad, `first violations (of the rounding/lookup rules); worst waste seen ${(100 * worst).toFixed(1)}%`).toEqual([]);
  });

  it('spans waste at most 1/8 of their bytes at the tail (1/4 from 4 KiB objects or half a page up); objects per span and batch are consistent', () => {
    // Objects below max(page, 8 KiB) / 2 get spans in units of max(page, 8 KiB); bigger
    // ones the fewest whole pages.
    const unit = Math.max(pageSize, 8 * KiB);
    for (let c = 1; c < t.classes.length; c++) {
      const { size, pages, objectsPerSpan, batch } = t.classes[c]!;
      const spanBytes = pages * pageSize;
      expect(pages, `class ${c}`).toBeGreaterThanOrEqual(1);
      expect(objectsPerSpan, `class ${c}`).toBe(Math.floor(spanBytes / size));
      expect(objectsPerSpan, `class ${c}`).toBeGreaterThanOrEqual(1);
      const big = size >= unit / 2;
      const bound = big ? 0.25 : 0.125;
      expect((spanBytes % size) / spanBytes, `class ${c} (size ${size}, ${pages} pages) tail waste`).toBeLessThanOrEqual(bound);
      if (big) {
        // The fewest pages within that bound: a sparsely used class of big objects strands
        // no free objects in partly used spans beyond what the page rounding costs.
        for (let fewer = pages - 1; fewer >= 1; fewer--) {
          const b = fewer * pageSize;
          expect(b < size || (b % size) / b > 0.25, `class ${c} (size ${size}) fits ${fewer} pages`).toBe(true);
        }
      } else {
        expect(spanBytes % unit, `class ${c} (size ${size}) span in whole units`).toBe(0);
      }
      expect(batch, `class ${c} batch`).toBeGreaterThanOrEqual(2);
      expect(batch, `class ${c} batch`).toBeLessThanOrEqual(32);
    }
  });
});

describe('spans of big objects (the blowup of big mstress blocks)', () => {
  it('4 KiB pages: objects below 4 KiB get the spans of the 8 KiB table (no more spans per megabyte)', () => {
    const spans = (ps: number) =>
      sizeClassTable(ps)
        .classes.slice(1)
        .filter((k) => k.size < 4 * KiB)
        .map((k) => ({ size: k.size, bytes: k.pages * ps, objects: k.objectsPerSpan }));
    expect(spans(4 * KiB)).toEqual(spans(8 * KiB));
  });

  it('a 6.5 KiB or 13 KiB class gets one object per span, not 6 or 3 (8 KiB pages)', () => {
    const t = sizeClassTable(8 * KiB);
    const of = (n: number) => t.classes[t.classOf[(n + 15) >>> 4]!]!;
    expect([of(6400).pages, of(6400).objectsPerSpan]).toEqual([1, 1]);
    expect([of(12800).pages, of(12800).objectsPerSpan]).toEqual([2, 1]);
    // below half a page nothing changes: a quarter batch per span at least
    expect(of(1600).objectsPerSpan).toBeGreaterThanOrEqual(of(1600).batch / 4);
  });
});

describe('exported SIZE_CLASSES and the live allocator', () => {
  it('SIZE_CLASSES is the default (8 KiB page) table', () => {
    const t = sizeClassTable(8 * KiB);
    const entries = SIZE_CLASSES.map((e) => ({ size: e.size, pages: e.pages, batch: e.batch }));
    const expected = t.classes.map((e) => ({ size: e.size, pages: e.pages, batch: e.batch }));
    expect(entries).toEqual(expected);
  });

  it('usableSize of a fresh block is its class size; stats report the table', () => {
    const heap = SharedHeap.create({ size: 16 * 2 ** 20 });
    const t = sizeClassTable(heap.stats().pageSize);
    const sizes = new Set<number>([1, 15, 16, 17, 100, 128, 129, 1000, 4097, 65535, SMALL_MAX - 1, SMALL_MAX]);
    for (const c of t.classes.slice(1)) {
      sizes.add(c.size);
      sizes.add(c.size - 15);
    }
    for (const n of sizes) {
      const p = heap.malloc(n);
      expect(heap.usableSize(p), `malloc(${n})`).toBe(t.classes[classFor(t, n)]!.size);
      heap.free(p);
    }
    const perClass = heap.stats().sizeClasses;
    for (const row of perClass) {
      const c = t.classes[row.sizeClass]!;
      expect(row.size).toBe(c.size);
      expect(row.pagesPerSpan).toBe(c.pages);
    }
    heap.check();
  });
});
