/**
 * stats().metadataBytes counts the metadata the heap has written, in 4 KiB OS pages (what
 * blowup counts as metadata). These pin what a fresh heap costs and that the parts written
 * on demand (TransferCache rows, SHADOW chunks) are counted when, and only when, written.
 */
import { describe, expect, it } from 'vitest';
import { SharedHeap } from '../../src/index.js';
import { CC, centralWordOf, H, TRANSFER_SLOTS } from '../../src/core/layout.js';
import { metadataTouched } from '../../src/core/stats.js';
import { KiB, MiB } from '../helpers/heap.js';

const page = (n: number) => Math.ceil(n / 4096) * 4096;

describe('metadata a heap has touched', () => {
  it('a fresh heap counts its fixed blocks and thread slots, not the TransferCache region', () => {
    const heap = SharedHeap.create({ size: 1 * MiB, maxSize: 64 * MiB, maxThreads: 3 });
    const L = heap.layout;
    const s = heap.stats();
    const transferBytes = TRANSFER_SLOTS * L.numClasses * 8;
    expect(transferBytes).toBeGreaterThan(32 * KiB); // what a fresh heap used to count
    // header..central blocks, the slots, one page each of span records, PageMap, PAGECLASS
    const bound = page(L.transfer) + page(L.spans - L.slots) + 4 * 4096;
    expect(s.metadataBytes).toBeLessThanOrEqual(bound);
    heap.check();
  });

  it('a thread slot nobody attached to counts only what create() wrote in it', () => {
    const small = SharedHeap.create({ size: 1 * MiB, maxThreads: 3 });
    const big = SharedHeap.create({ size: 1 * MiB, maxThreads: 67 });
    const head = big.layout.slot.lockNode * 4; // S words and the per-class list words
    expect(head).toBeLessThan(big.layout.slotBytes / 4);
    const extra = big.stats().metadataBytes - small.stats().metadataBytes;
    // 64 more slots: the OS pages their heads touch (a head of h bytes at a random offset
    // spans 1 + h / 4096 pages on average), not 64 whole slots
    expect(extra).toBeLessThanOrEqual(1.1 * 64 * (4096 + head));
    expect(extra).toBeGreaterThanOrEqual(64 * 4096);
    expect(extra).toBeLessThan(0.7 * 64 * big.layout.slotBytes);
    big.check();
  });

  it('TransferCache rows count once a class has parked batches there, up to the rows reached', () => {
    const heap = SharedHeap.create({ size: 4 * MiB, maxThreads: 3 });
    const L = heap.layout;
    const i32 = new Int32Array(heap.buffer);
    const rows = () => {
      let r = 0;
      for (let c = 1; c < L.numClasses; c++) r = Math.max(r, i32[centralWordOf(L, c) + CC.TRANSFER_HWM]!);
      return r;
    };
    expect(rows()).toBe(0);
    // Overflowing this thread's list of one class sends whole batches to the TransferCache.
    const blocks: number[] = [];
    for (let i = 0; i < 4000; i++) blocks.push(heap.malloc(64));
    for (const p of blocks) heap.free(p);
    const reached = rows();
    expect(reached).toBeGreaterThan(0);
    const touched = i32[H.TOUCHED_PAGES]!;
    const committed = i32[H.COMMITTED_PAGES]!;
    const counted = metadataTouched(L, i32, touched, committed);
    expect(counted).toBe(heap.stats().metadataBytes);
    // The same figure for the heap as if no row had been reached: the difference is the rows.
    const none = i32.slice(0, L.pages >>> 2);
    for (let c = 1; c < L.numClasses; c++) none[centralWordOf(L, c) + CC.TRANSFER_HWM] = 0;
    const rowsBytes = counted - metadataTouched(L, none, touched, committed);
    expect(rowsBytes).toBeGreaterThan(0);
    expect(rowsBytes).toBeLessThanOrEqual(page(reached * L.numClasses * 8));
    heap.check();
  });

  it('freed spans below the high-water mark are reused before it rises', () => {
    // Large blocks only (> 256 KiB): no thread cache holds them, frees go to the PageHeap.
    const heap = SharedHeap.create({ size: 1 * MiB, maxSize: 64 * MiB, maxThreads: 2 });
    const a = heap.malloc(512 * KiB);
    const b = heap.malloc(512 * KiB);
    const c = heap.malloc(320 * KiB);
    const t0 = heap.stats().touchedBytes;
    heap.free(a);
    const d = heap.malloc(300 * KiB); // fits a's hole
    expect(d).toBe(a);
    heap.free(d);
    const e = heap.malloc(512 * KiB); // the hole merged back: fits exactly
    expect(e).toBe(a);
    expect(heap.stats().touchedBytes).toBe(t0);
    const f = heap.malloc(400 * KiB); // no hole: the watermark rises by exactly this block
    expect(f).toBeGreaterThan(c);
    expect(heap.stats().touchedBytes).toBe(t0 + 400 * KiB);
    // c and f freed merge with the free tail: a longer block starts at c, below the mark
    heap.free(f);
    heap.free(c);
    const g = heap.malloc(640 * KiB);
    expect(g).toBe(c);
    expect(heap.stats().touchedBytes).toBe(t0 + 400 * KiB);
    for (const p of [b, e, g]) heap.free(p);
    heap.check();
  });
});
