/**
 * Heaps above 2 GiB: pointers must stay correct past 2^31 (no sign bugs from 32-bit bitwise
 * arithmetic) and up to the 4 GiB limit. A huge first block pushes every later block above
 * 2 GiB; those blocks are stamped, verified, resized, validated (bad pointers above 2^31
 * still raise the right errors) and freed, also by a worker. Only touched pages cost memory.
 * check() walks every page (seconds at 4 GiB), so it runs once per heap: on the 4 GiB heap
 * (the limit, with the worker) and on the growable one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Piscina } from 'piscina';
import { DoubleFreeError, InvalidPointerError, SharedHeap } from '../../src/index.js';
import { stampBlock, verifyBlock, viewsOf } from '../helpers/stamp.js';
import type { AllocResult, AllocTask, FreeTask, TaskCounts } from '../fixtures/heap-worker.js';
import { CODES, expectThrows } from '../helpers/errors.js';
import { KiB, MiB, expectAllPagesFree } from '../helpers/heap.js';
import { heapPool, withTimeout } from '../helpers/pool.js';

const GiB = 1024 * MiB;
const SIZES = [16, 100, 1000, 4096, 40 * KiB, 200 * KiB, 300 * KiB, 3 * MiB];

/** Allocates SIZES (twice), all above 2 GiB, stamps and verifies them, exercises errors, frees. */
function exerciseAbove2GiB(heap: SharedHeap): void {
  const v = viewsOf(heap.buffer);
  const blocks = [...SIZES, ...SIZES].map((n, i) => {
    const p = heap.malloc(n);
    const len = heap.usableSize(p);
    expect(p, `malloc(${n}) lands above 2 GiB`).toBeGreaterThan(2 ** 31);
    expect(p % 16).toBe(0);
    expect(p + len).toBeLessThanOrEqual(heap.buffer.byteLength);
    stampBlock(v, p, len, i + 1, n);
    return { p, n, tag: i + 1 };
  });
  for (const b of blocks) expect(verifyBlock(v, b.p, heap.usableSize(b.p), b.tag)).toBeNull();

  const small = blocks.find((b) => b.n === 1000)!;
  const large = blocks.find((b) => b.n === 300 * KiB)!;
  for (const bad of [small.p + 8, small.p + 16, large.p + 16, large.p + heap.stats().pageSize]) {
    expectThrows(() => heap.free(bad), InvalidPointerError, CODES.invalidPointer);
    expectThrows(() => heap.usableSize(bad), InvalidPointerError, CODES.invalidPointer);
  }

  // realloc moves a block above 2 GiB and keeps its bytes.
  const before = v.u8.slice(small.p, small.p + 1000);
  const q = heap.realloc(small.p, 20 * KiB);
  expect(q).toBeGreaterThan(2 ** 31);
  expect(Buffer.compare(before, v.u8.subarray(q, q + 1000))).toBe(0);
  small.p = q;

  const freed = blocks.pop()!;
  heap.free(freed.p);
  expectThrows(() => heap.free(freed.p), DoubleFreeError, CODES.doubleFree);
  for (const b of blocks) heap.free(b.p);
}

describe('heaps above 2 GiB', () => {
  let pool: Piscina | undefined;
  afterAll(async () => {
    await pool?.destroy();
  });

  it('a fixed heap is as large as asked: 3 GiB of pages, a 2.5 GiB block', () => {
    // No check() here: it walks every page, and the 4 GiB heap below is checked.
    const heap = SharedHeap.create({ size: 3 * GiB });
    expect(heap.stats().heapBytes).toBe(3 * GiB);
    const huge = heap.malloc(2.5 * GiB);
    expect(heap.usableSize(huge)).toBe(2.5 * GiB);
    heap.free(huge);
    heap.detach();
  });

  it('a 4 GiB heap (the limit) keeps every block inside 2^32 bytes, serves, checks and frees blocks above 2^31, also with a worker', async () => {
    const heap = SharedHeap.create({ size: 4 * GiB });
    const s = heap.stats();
    expect(heap.buffer.byteLength).toBeLessThanOrEqual(2 ** 32);
    expect(s.heapBytes).toBeGreaterThan(3.5 * GiB); // metadata takes its share of the 4 GiB
    const huge = heap.malloc(s.heapBytes - 64 * MiB);
    exerciseAbove2GiB(heap);

    pool = heapPool(1);
    const run = <T, R>(name: string, t: T): Promise<R> => withTimeout(pool!.run(t, { name }) as Promise<R>, 30_000, name);
    const got = await run<AllocTask, AllocResult>('allocSizes', { buffer: heap.buffer, sizes: SIZES, keep: true });
    const v = viewsOf(heap.buffer);
    for (const p of got.blocks) {
      expect(p).toBeGreaterThan(2 ** 31);
      expect(p + heap.usableSize(p)).toBeLessThanOrEqual(heap.buffer.byteLength);
      expect(verifyBlock(v, p, heap.usableSize(p))).toBeNull();
      heap.free(p); // a remote free, above 2 GiB
    }
    const mine = SIZES.map((n) => {
      const p = heap.malloc(n);
      stampBlock(v, p, heap.usableSize(p), 0x4d41494e, n);
      return p;
    });
    const freed = await run<FreeTask, TaskCounts>('freeBlocks', { buffer: heap.buffer, blocks: mine });
    expect(freed.remoteFrees).toBe(SIZES.length);

    heap.free(huge);
    heap.trim();
    expectAllPagesFree(heap);
    heap.detach();
  }, 180_000);

  it('a growable heap grows past 2 GiB', { timeout: 180_000 }, () => {
    const heap = SharedHeap.create({ size: 1 * MiB, maxSize: 3 * GiB });
    const huge = heap.malloc(2.25 * GiB);
    expect(heap.stats().heapBytes).toBeGreaterThanOrEqual(2.25 * GiB); // growth merged the free 1 MiB tail
    exerciseAbove2GiB(heap);
    heap.free(huge);
    heap.trim();
    expectAllPagesFree(heap);
    heap.detach();
  });
});
