/**
 * check() finds a stray SHADOW mark wherever one may sit: inside a held small object (at
 * every one of the four positions a SHADOW word holds), inside a large block, and in a free
 * span below the high-water mark; and it passes again once
 * the byte is restored. check() tests runs of unmarked granules a word at a time, so a
 * mark at any byte of a word must still fail it.
 */
import { describe, expect, it } from 'vitest';
import { SharedHeap } from '../../src/index.js';
import { MiB } from '../helpers/heap.js';

function shadowOf(heap: SharedHeap): Uint8Array {
  return new Uint8Array(heap.buffer, heap.layout.shadow, (heap.layout.capacityPages * heap.layout.pageSize) >>> 4);
}
const granule = (heap: SharedHeap, p: number): number => (p - heap.layout.pages) >>> 4;

function expectCaught(heap: SharedHeap, g: number, pattern: RegExp): void {
  const shadow = shadowOf(heap);
  const was = shadow[g]!;
  shadow[g] = 1; // ALLOCATED, where no block starts
  try {
    expect(() => heap.check()).toThrow(pattern);
  } finally {
    shadow[g] = was;
  }
  heap.check();
}

describe('check() and stray SHADOW marks', () => {
  it('inside a held small object, at each byte of a SHADOW word', () => {
    const heap = SharedHeap.create({ size: 8 * MiB });
    const p = heap.malloc(512); // 32 granules
    heap.check();
    for (let k = 1; k <= 8; k++) expectCaught(heap, granule(heap, p) + k, /inside an object of class/);
    heap.free(p);
  });

  it('inside a large block and in a free span', () => {
    const heap = SharedHeap.create({ size: 16 * MiB });
    const big = heap.malloc(1 * MiB);
    const gap = heap.malloc(1 * MiB);
    const keep = heap.malloc(1 * MiB);
    heap.free(gap); // a free span between two large blocks, below the high-water mark
    heap.check();
    for (const k of [1, 2, 3, 4, 5, 1000]) expectCaught(heap, granule(heap, big) + k, /large span .*stray block mark inside/);
    for (const k of [0, 1, 2, 3, 4, 777]) expectCaught(heap, granule(heap, gap) + k, /free span .* has a live block/);
    heap.free(big);
    heap.free(keep);
    heap.check();
  });
});
