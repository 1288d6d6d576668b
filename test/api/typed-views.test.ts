/**
 * The typed-view helpers take a view only if it is a typed array that starts exactly at a
 * live block of this heap and lies inside it. A view of the whole buffer (byte offset 0,
 * the per-thread view every program builds) would otherwise become free(0) (nothing
 * happens) or realloc(0, n) (a new block out of nowhere); a DataView has no element type.
 */
import { describe, expect, it } from 'vitest';
import { InvalidPointerError, SharedHeap } from '../../src/index.js';

function fresh(): SharedHeap {
  return SharedHeap.create({ size: 2 << 20, maxThreads: 2 });
}

describe('typed views that are not exactly a live block', () => {
  it('freeView and reallocAs refuse a view at byte offset 0 and change nothing', () => {
    const heap = fresh();
    try {
      const whole = new Uint8Array(heap.buffer, 0, 64);
      const before = heap.stats().inUseObjects;
      expect(() => heap.freeView(whole)).toThrow(InvalidPointerError);
      expect(() => heap.freeView(new Uint8Array(heap.buffer))).toThrow(/byte offset 0/);
      expect(() => heap.reallocAs(whole, 10)).toThrow(InvalidPointerError);
      expect(heap.stats().inUseObjects, 'reallocAs allocated nothing').toBe(before);
    } finally {
      heap.detach();
    }
  });

  it('refuses a DataView with a typed error, not a NaN size', () => {
    const heap = fresh();
    try {
      const v = heap.mallocAs('u8', 32);
      const dv = new DataView(heap.buffer, v.byteOffset, 32);
      expect(() => heap.reallocAs(dv as unknown as Uint8Array<SharedArrayBuffer>, 8)).toThrow(InvalidPointerError);
      expect(() => heap.freeView(dv as unknown as Uint8Array<SharedArrayBuffer>)).toThrow(/not a typed array/);
      heap.freeView(v); // still allocated: the refusals changed nothing
      expect(heap.stats().inUseObjects).toBe(0);
    } finally {
      heap.detach();
    }
  });

  it('refuses interior views and views running past their block', () => {
    const heap = fresh();
    try {
      const v = heap.mallocAs('f64', 4);
      const inner = new Float64Array(heap.buffer, v.byteOffset + 16, 2);
      expect(() => heap.freeView(inner)).toThrow(InvalidPointerError);
      const past = new Uint8Array(heap.buffer, v.byteOffset, heap.usableSize(v.byteOffset) + 16);
      expect(() => heap.freeView(past)).toThrow(/run past/);
      expect(() => heap.freeView(new Uint8Array(new SharedArrayBuffer(64), 16, 8))).toThrow(/this heap's buffer/);
      heap.freeView(v);
      expect(() => heap.freeView(v)).toThrow(); // freed: no longer a live block
      expect(heap.stats().inUseObjects).toBe(0);
    } finally {
      heap.detach();
    }
  });
});
