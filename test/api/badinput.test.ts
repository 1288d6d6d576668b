/**
 * Every error case of the API, each checking the error class and its `.code`, and each
 * followed by check() and further successful allocations (the heap must stay usable):
 * - free / realloc / usableSize of pointers that are not the start of a live block;
 * - double free from the same thread and from another worker;
 * - attach of buffers that are not (compatible) heaps; calls on a detached handle;
 * - invalid sizes (RangeError), calloc overflow, free(0).
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Piscina } from 'piscina';
import {
  DetachedHeapError,
  DoubleFreeError,
  HEADER as H,
  InvalidHeapError,
  InvalidPointerError,
  LAYOUT_VERSION,
  MAGIC,
  SabmallocError,
  SharedHeap,
} from '../../src/index.js';
import { stampBlock, verifyBlock, viewsOf } from '../helpers/stamp.js';
import type { TryResult, TryTask } from '../fixtures/heap-worker.js';
import { CODES, expectThrows } from '../helpers/errors.js';
import { KiB, MiB } from '../helpers/heap.js';
import { heapPool, withTimeout } from '../helpers/pool.js';

/**
 * Attaches each buffer in a fresh worker (compiled dist/), one after the other; returns
 * "<error class> <code>" (or "attached") per buffer, as far as the worker got in 20 s.
 */
async function attachEachInWorker(buffers: SharedArrayBuffer[]): Promise<string[]> {
  const index = new URL('../../dist/src/index.js', import.meta.url).href;
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     import(${JSON.stringify(index)}).then(({ SharedHeap }) => {
       for (const b of workerData) {
         let r = 'attached';
         try { SharedHeap.attach(b).detach(); } catch (e) { r = e.constructor.name + ' ' + e.code; }
         parentPort.postMessage(r);
       }
     });`,
    { eval: true, workerData: buffers },
  );
  const out: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 20_000);
      w.on('message', (r: string) => {
        out.push(r);
        if (out.length === buffers.length) {
          clearTimeout(timer);
          resolve();
        }
      });
      w.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  } finally {
    await w.terminate();
  }
  return out;
}

/** One heap per test; a few stamped live blocks that must survive every error untouched. */
let heap: SharedHeap;
let witnesses: number[];

function makeHeap(opts: { size: number; maxSize?: number } = { size: 8 * MiB }): void {
  heap = SharedHeap.create(opts);
  const v = viewsOf(heap.buffer);
  witnesses = [24, 640, 20 * KiB, 400 * KiB].map((n) => {
    const p = heap.malloc(n);
    stampBlock(v, p, heap.usableSize(p), 42, n);
    return p;
  });
}

/** check() passes, the witnesses are intact, and every kind of allocation still works. */
function expectHealthy(h: SharedHeap = heap): void {
  h.check();
  const v = viewsOf(h.buffer);
  for (const p of witnesses) expect(verifyBlock(v, p, h.usableSize(p), 42)).toBeNull();
  const fresh = [16, 64, 3000, 100 * KiB, 300 * KiB].map((n) => h.malloc(n));
  expect(new Set(fresh).size).toBe(fresh.length);
  for (const p of fresh) h.free(p);
  const q = h.realloc(h.calloc(4, 8), 100);
  h.free(q);
  h.check();
}

/** free, realloc and usableSize of each pointer throw InvalidPointerError; then the heap is healthy. */
function expectInvalidPointers(ps: number[], why: string): void {
  for (const p of ps) {
    for (const [name, call] of [
      ['free', () => heap.free(p)],
      ['realloc', () => heap.realloc(p, 32)],
      ['usableSize', () => heap.usableSize(p)],
    ] as const) {
      const e = expectThrows(call, InvalidPointerError, CODES.invalidPointer);
      expect(e, `${name}(${p}) for ${why}`).toBeInstanceOf(SabmallocError);
    }
  }
  expectHealthy();
}

function expectInvalidPointer(p: number, why: string): void {
  expectInvalidPointers([p], why);
}

describe('invalid pointers', () => {
  beforeEach(() => makeHeap());

  it('out of range', () => {
    expectInvalidPointer(heap.buffer.byteLength, 'the end of the buffer');
    expectInvalidPointer(heap.buffer.byteLength + 16 * 1024, 'past the end of the buffer');
    expectInvalidPointer(2 ** 32, '2^32');
    expectInvalidPointer(2 ** 53, '2^53');
  });

  it('negative, NaN, infinite, non-integer', () => {
    for (const p of [-16, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 16.5, witnesses[0]! + 0.5]) {
      expectInvalidPointer(p, String(p));
    }
  });

  it('misaligned', () => {
    for (const p of witnesses) {
      expectInvalidPointer(p + 8, 'a live block + 8');
      expectInvalidPointer(p + 1, 'a live block + 1');
    }
  });

  it('interior of a small block', () => {
    const p = heap.malloc(256);
    expect(heap.usableSize(p)).toBeGreaterThanOrEqual(256);
    expectInvalidPointer(p + 16, 'small block + 16');
    expectInvalidPointer(p + 128, 'small block + 128');
    heap.free(p);
  });

  it('interior of a large block', () => {
    const p = witnesses[3]!; // 400 KiB, a span of its own
    const ps = heap.stats().pageSize;
    expectInvalidPointer(p + 16, 'large block + 16');
    expectInvalidPointer(p + ps, 'large block + one page');
    expectInvalidPointer(p + heap.usableSize(p) - 16, 'last granule of a large block');
  });

  it('inside a free span', () => {
    const ps = heap.stats().pageSize;
    const p = heap.malloc(600 * KiB);
    heap.free(p);
    // All checked before expectHealthy() allocates, which may reuse those pages.
    expectInvalidPointers([p + ps, p + 16, p + 3 * ps + 4096], 'inside a freed large block');
  });

  it('inside the header and metadata', () => {
    const pagesStart = new Int32Array(heap.buffer)[H.PAGES_OFF]!;
    expect(pagesStart).toBeGreaterThan(0);
    for (const p of [16, 64, 4096, pagesStart / 2 - ((pagesStart / 2) % 16), pagesStart - 16]) {
      expectInvalidPointer(p, `metadata offset ${p} (pages start at ${pagesStart})`);
    }
  });
});

describe('double free', () => {
  beforeEach(() => makeHeap());

  it('same thread, small block: directly, and with other frees in between', () => {
    const p = heap.malloc(64);
    heap.free(p);
    expectThrows(() => heap.free(p), DoubleFreeError, CODES.doubleFree);
    expectHealthy();
    const [a, b, c] = [heap.malloc(64), heap.malloc(64), heap.malloc(64)];
    heap.free(a);
    heap.free(b);
    expectThrows(() => heap.free(a), DoubleFreeError, CODES.doubleFree);
    heap.free(c);
    expectThrows(() => heap.free(b), DoubleFreeError, CODES.doubleFree);
    expectHealthy();
    // The rejected frees did not put a block on a free list twice.
    const got = Array.from({ length: 200 }, () => heap.malloc(64));
    expect(new Set(got).size).toBe(got.length);
    for (const q of got) heap.free(q);
    expectHealthy();
  });

  it('same thread, large block', () => {
    const p = heap.malloc(500 * KiB);
    heap.free(p);
    expectThrows(() => heap.free(p), DoubleFreeError, CODES.doubleFree);
    expectHealthy();
  });

  it('same thread, after the thread cache flushed the block to the central cache (detach)', () => {
    const [p, sibling] = [heap.malloc(64), heap.malloc(64)]; // the sibling keeps the span in the central cache
    heap.free(p);
    heap.detach();
    heap = SharedHeap.attach(heap.buffer);
    expectThrows(() => heap.free(p), DoubleFreeError, CODES.doubleFree);
    heap.free(sibling);
    expectHealthy();
  });

  it("same thread, after the block's whole span went back to the page heap", () => {
    const p = heap.malloc(2000); // alone in its span
    heap.free(p);
    heap.trim(); // this thread's cache and the transfer caches: the span is entirely free
    expectThrows(() => heap.free(p), DoubleFreeError, CODES.doubleFree);
    expectHealthy();
  });
});

describe('double free from another worker', () => {
  let pool: Piscina | undefined;
  afterAll(async () => {
    await pool?.destroy();
  });
  beforeEach(() => makeHeap());

  it('a block freed here is refused there, and the other way round', async () => {
    pool ??= heapPool(2);
    const run = (t: TryTask): Promise<TryResult> => withTimeout(pool!.run(t, { name: 'tryOp' }), 30_000, `tryOp ${t.op}`);

    const p = heap.malloc(96);
    heap.free(p); // in this thread's cache
    const r1 = await run({ buffer: heap.buffer, op: 'free', p });
    expect(r1).toMatchObject({ ok: false, name: 'DoubleFreeError', code: CODES.doubleFree });
    expectHealthy();

    const [q, sibling] = [heap.malloc(96), heap.malloc(96)]; // the sibling keeps q's span in use
    const r2 = await run({ buffer: heap.buffer, op: 'free', p: q }); // a legal remote free
    expect(r2.ok, r2.message).toBe(true);
    expectThrows(() => heap.free(q), DoubleFreeError, CODES.doubleFree);
    heap.free(sibling);
    expectHealthy();

    const big = heap.malloc(700 * KiB);
    heap.free(big);
    const r3 = await run({ buffer: heap.buffer, op: 'free', p: big });
    expect(r3).toMatchObject({ ok: false, name: 'DoubleFreeError', code: CODES.doubleFree });

    const r4 = await run({ buffer: heap.buffer, op: 'usableSize', p: witnesses[0]! + 16 });
    expect(r4).toMatchObject({ ok: false, name: 'InvalidPointerError', code: CODES.invalidPointer });
    expectHealthy();
  }, 60_000);
});

describe('attach of buffers that are not heaps', () => {
  beforeEach(() => makeHeap());

  it('a random SharedArrayBuffer', () => {
    const sab = new SharedArrayBuffer(4 * MiB);
    const u8 = new Uint8Array(sab);
    for (let i = 0; i < u8.length; i += 4096) u8.fill((i * 2654435761) >>> 24, i, i + 4096);
    expectThrows(() => SharedHeap.attach(sab), InvalidHeapError, CODES.invalidHeap);
    expectThrows(() => SharedHeap.attach(new SharedArrayBuffer(2 * MiB)), InvalidHeapError, CODES.invalidHeap);
    expectHealthy();
  });

  it('a too small SharedArrayBuffer', () => {
    for (const n of [0, 8, 64, 4096]) {
      expectThrows(() => SharedHeap.attach(new SharedArrayBuffer(n)), InvalidHeapError, CODES.invalidHeap);
    }
    // The header of a real heap, cut short.
    const cut = new SharedArrayBuffer(8192);
    new Uint8Array(cut).set(new Uint8Array(heap.buffer, 0, 8192));
    expectThrows(() => SharedHeap.attach(cut), InvalidHeapError, CODES.invalidHeap);
    expectHealthy();
  });

  it('a heap with a wrong layout version or magic (a copy of a real heap with one word patched)', () => {
    const copy = (patch?: (i32: Int32Array) => void): SharedArrayBuffer => {
      const sab = new SharedArrayBuffer(heap.buffer.byteLength);
      new Uint8Array(sab).set(new Uint8Array(heap.buffer));
      if (patch) patch(new Int32Array(sab));
      return sab;
    };
    const i32 = new Int32Array(heap.buffer);
    expect(i32[H.MAGIC]).toBe(MAGIC);
    expect(i32[H.VERSION]).toBe(LAYOUT_VERSION);
    // (The test below shows that an unpatched copy is accepted, so these fail for the patch.)
    expectThrows(() => SharedHeap.attach(copy((w) => (w[H.VERSION] = LAYOUT_VERSION + 1))), InvalidHeapError, CODES.invalidHeap);
    expectThrows(() => SharedHeap.attach(copy((w) => (w[H.VERSION] = 0))), InvalidHeapError, CODES.invalidHeap);
    expectThrows(() => SharedHeap.attach(copy((w) => (w[H.MAGIC] = MAGIC ^ 1))), InvalidHeapError, CODES.invalidHeap);
    expectHealthy();
  });

  it('a heap copy with one geometry word corrupted: InvalidHeapError, never a hang or RangeError', async () => {
    // attach() runs in a worker: the old code built the size-class table before checking
    // the page size, and a page size of 0 or below loops forever (the worker times out).
    const w = new Int32Array(heap.buffer);
    const patches: [string, keyof typeof H, number][] = [
      ['page size 0', 'PAGE_SIZE', 0],
      ['page size -8192', 'PAGE_SIZE', -8192],
      ['page size -2^31', 'PAGE_SIZE', -(2 ** 31)],
      ['page size 8193', 'PAGE_SIZE', 8193],
      ['page size 2^20', 'PAGE_SIZE', 1 << 20],
      ['page shift that disagrees', 'PAGE_SHIFT', 12],
      ['capacity 0', 'CAPACITY_PAGES', 0],
      ['capacity -1', 'CAPACITY_PAGES', -1],
      ['capacity 2^31 - 1', 'CAPACITY_PAGES', 0x7fffffff],
      ['committed pages -1', 'COMMITTED_PAGES', -1],
      ['committed pages 0', 'COMMITTED_PAGES', 0],
      ['committed pages beyond capacity', 'COMMITTED_PAGES', w[H.CAPACITY_PAGES]! + 1],
      ['max threads 0', 'MAX_THREADS', 0],
      ['max threads -1', 'MAX_THREADS', -1],
      ['size classes + 1', 'NUM_CLASSES', w[H.NUM_CLASSES]! + 1],
      ['unknown flag', 'FLAGS', 64],
      ['thread cache and global lock', 'FLAGS', 3],
      ['unknown central lock kind', 'CENTRAL_LOCK_KIND', 99],
      ['unknown page heap lock kind', 'PAGEHEAP_LOCK_KIND', -1],
      ['even safe-linking key', 'KEY', 2],
      ['odd central block size', 'CENTRAL_WORDS', w[H.CENTRAL_WORDS]! + 1],
      ['central block size 7', 'CENTRAL_WORDS', 7],
      ['pages offset moved', 'PAGES_OFF', w[H.PAGES_OFF]! + 8192],
      ['shadow offset moved', 'SHADOW_OFF', w[H.SHADOW_OFF]! - 64],
      ['slot size', 'SLOT_BYTES', w[H.SLOT_BYTES]! + 64],
      ['negative cache budget', 'TC_TOTAL_BUDGET', -1],
    ];
    const copies = patches.map(([, word, value]) => {
      const sab = new SharedArrayBuffer(heap.buffer.byteLength);
      new Uint8Array(sab).set(new Uint8Array(heap.buffer));
      new Int32Array(sab)[H[word]] = value;
      return sab;
    });
    const results = await attachEachInWorker(copies);
    const got = patches.map(([what], k) => `${what}: ${results[k] ?? 'no answer (hang)'}`);
    expect(got).toEqual(patches.map(([what]) => `${what}: InvalidHeapError ${CODES.invalidHeap}`));
    expectHealthy();
  });

  it('control: an unpatched byte copy of a heap attaches as a heap of its own', () => {
    const sab = new SharedArrayBuffer(heap.buffer.byteLength);
    new Uint8Array(sab).set(new Uint8Array(heap.buffer));
    const twin = SharedHeap.attach(sab);
    expect(twin.buffer, 'the handle works on the buffer passed, not on the original').toBe(sab);
    twin.check();
    const p = twin.malloc(64);
    expect(viewsOf(heap.buffer).u32[0]).toBe(MAGIC);
    twin.free(p);
    twin.detach();
    expect(heap.isDetached).toBe(false);
    expectHealthy();
  });

  it('a detached handle refuses every call; attaching again gives a working handle', () => {
    const p = heap.malloc(32);
    const old = heap;
    old.detach();
    for (const call of [() => old.malloc(16), () => old.free(p), () => old.usableSize(p), () => old.calloc(1, 1), () => old.realloc(p, 64)]) {
      expectThrows(call, DetachedHeapError, CODES.detached);
    }
    heap = SharedHeap.attach(old.buffer);
    expect(heap).not.toBe(old);
    heap.free(p);
    expectHealthy();
  });
});

describe('invalid sizes', () => {
  it('malloc, calloc and realloc reject bad sizes with RangeError', () => {
    makeHeap({ size: 4 * MiB, maxSize: 16 * MiB });
    const bad = [-1, -16, Number.NaN, 1.5, 16.25, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 16 * MiB + 1, 2 ** 32, 2 ** 53];
    const p = witnesses[1]!;
    for (const n of bad) {
      expectThrows(() => heap.malloc(n), RangeError);
      expectThrows(() => heap.realloc(p, n), RangeError);
      expectThrows(() => heap.realloc(0, n), RangeError);
      expectThrows(() => heap.calloc(n, 1), RangeError);
      expectThrows(() => heap.calloc(1, n), RangeError);
    }
    expectHealthy(); // includes the witness passed to the failed reallocs
  });

  it('calloc overflow: count * size above the heap or above 2^53', () => {
    makeHeap();
    expectThrows(() => heap.calloc(2 ** 20, 2 ** 20), RangeError);
    expectThrows(() => heap.calloc(2 ** 30, 2 ** 30), RangeError);
    expectThrows(() => heap.calloc(2 ** 27, 2 ** 27), RangeError);
    expectThrows(() => heap.calloc(3, 2 ** 52), RangeError);
    expectThrows(() => heap.calloc(65537, 65537), RangeError);
    expectHealthy();
  });

  it('free(0) does nothing', () => {
    makeHeap();
    const before = heap.stats();
    heap.free(0);
    const after = heap.stats();
    expect(after.freeCount).toBe(before.freeCount);
    expect(after.inUseObjects).toBe(before.inUseObjects);
    expectHealthy();
  });
});
