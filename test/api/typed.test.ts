/**
 * Typed helpers (src/core/typed.ts): mallocAs/callocAs/reallocAs/viewAs/freeView.
 * - every element type: the view has the right type, length and place, and writes land
 *   in the block (seen through a plain byte view);
 * - a view taken before the heap grows keeps its contents and stays writable after
 *   growth (the heap is one plain buffer reserving maxSize);
 * - callocAs zeroes a reused block; reallocAs keeps the contents;
 * - bad input (unknown type, bad count, a view of another buffer, a view longer than its
 *   block) throws a typed error and leaves the heap intact.
 */
import { describe, expect, it } from 'vitest';
import { ELEMENT_TYPES, InvalidPointerError, SharedHeap, type ElementType } from '../../src/index.js';
import { CODES, expectThrows } from '../helpers/errors.js';
import { KiB, MiB, expectAllPagesFree } from '../helpers/heap.js';

const TYPES = Object.keys(ELEMENT_TYPES) as ElementType[];

describe('typed helpers', () => {
  it('mallocAs gives a view of the block for every element type', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const bytes = new Uint8Array(heap.buffer);
    for (const type of TYPES) {
      const v = heap.mallocAs(type, 10);
      expect(v).toBeInstanceOf(ELEMENT_TYPES[type]);
      expect(v.length).toBe(10);
      expect(v.buffer).toBe(heap.buffer);
      expect(heap.usableSize(v.byteOffset)).toBeGreaterThanOrEqual(10 * v.BYTES_PER_ELEMENT);
      if (v instanceof BigInt64Array || v instanceof BigUint64Array) v[9] = 0x0102n;
      else v[9] = 2;
      expect(bytes[v.byteOffset + 9 * v.BYTES_PER_ELEMENT + (type === 'f32' || type === 'f64' ? v.BYTES_PER_ELEMENT - 1 : 0)]).toBe(
        type === 'f32' ? 0x40 : type === 'f64' ? 0x40 : 2,
      );
      heap.freeView(v);
    }
    heap.trim();
    expectAllPagesFree(heap);
  });

  it('a view taken before growth keeps its contents and stays writable after it', () => {
    const heap = SharedHeap.create({ size: 1 * MiB, maxSize: 64 * MiB });
    const early = heap.mallocAs('f64', 1000);
    for (let i = 0; i < early.length; i++) early[i] = i * 0.5;
    const big = [];
    for (let i = 0; i < 20; i++) big.push(heap.callocAs('u32', (1 * MiB) / 4)); // grows the heap
    expect(heap.stats().growCount).toBeGreaterThan(0);
    for (let i = 0; i < early.length; i++) expect(early[i]).toBe(i * 0.5);
    early[999] = -1;
    expect(heap.viewAs('f64', early.byteOffset, 1000)[999]).toBe(-1);
    for (const v of big) {
      expect(v[0]).toBe(0);
      v[v.length - 1] = 7;
      heap.freeView(v);
    }
    heap.freeView(early);
    heap.check();
  });

  it('callocAs zeroes a reused block; reallocAs keeps the contents', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const a = heap.mallocAs('u8', 100);
    a.fill(0xee);
    const p = a.byteOffset;
    heap.freeView(a);
    const b = heap.callocAs('u8', 100);
    expect(b.byteOffset).toBe(p); // the same block, reused from the thread cache
    expect(b.every((x) => x === 0)).toBe(true);
    const c = heap.mallocAs('i32', 8);
    c.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const d = heap.reallocAs(c, 5000);
    expect(d).toBeInstanceOf(Int32Array);
    expect(d.length).toBe(5000);
    expect(Array.from(d.subarray(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    heap.freeView(d);
    heap.freeView(b);
    heap.trim();
    expectAllPagesFree(heap);
  });

  it('bad input throws a typed error and the heap stays intact', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const keep = heap.mallocAs('u16', 4);
    expect(() => heap.mallocAs('f16' as ElementType, 4)).toThrow(RangeError);
    expect(() => heap.mallocAs('__proto__' as ElementType, 4)).toThrow(RangeError);
    expect(() => heap.mallocAs('u8', -1)).toThrow(RangeError);
    expect(() => heap.callocAs('u8', 1.5)).toThrow(RangeError);
    expectThrows(() => heap.freeView(new Uint8Array(new SharedArrayBuffer(64))), InvalidPointerError, CODES.invalidPointer);
    expectThrows(() => heap.viewAs('f64', keep.byteOffset, 64 * KiB), InvalidPointerError, CODES.invalidPointer);
    expectThrows(() => heap.viewAs('u8', keep.byteOffset + 16, 1), InvalidPointerError, CODES.invalidPointer);
    heap.freeView(keep);
    heap.trim();
    expectAllPagesFree(heap);
  });
});
