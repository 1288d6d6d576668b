/**
 * `hardening: false`: the benchmarking mode with plain free-list links and an
 * unvalidated thread-cache fast path. What must hold:
 * - it is recorded in the header, so every thread attached to the heap runs the same mode
 *   (a worker's frees leave plain links, which the creator's cache then pops);
 * - the heap stays fully working and check()-clean under churn of every size range, with
 *   blocks moving between thread caches, central caches and the page heap;
 * - slow paths still validate (large blocks, realloc, usableSize);
 * - a header whose key and flag disagree is refused;
 * - the default stays hardened: safe-linked links.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { DoubleFreeError, InvalidHeapError, InvalidPointerError, SharedHeap } from '../../src/index.js';
import { H } from '../../src/core/layout.js';
import { CentralCache } from '../../src/core/centralcache.js';
import { between, rng32 } from '../helpers/stamp.js';
import { KiB, MiB } from '../helpers/heap.js';
import { withTimeout } from '../helpers/pool.js';

const INDEX = new URL('../../dist/src/index.js', import.meta.url).href;

/** In a fresh worker: attach, report the mode, free two 64-byte blocks, report the head's link word. */
function workerFreesTwo(buffer: SharedArrayBuffer): Promise<{ hardening: boolean; a: number; b: number; link: number }> {
  const code = `
    import { parentPort, workerData } from 'node:worker_threads';
    const { SharedHeap } = await import(${JSON.stringify(INDEX)});
    const heap = SharedHeap.attach(workerData);
    const a = heap.malloc(64), b = heap.malloc(64);
    heap.free(a);
    heap.free(b); // b now heads this worker's list; its first word links to a
    const link = new Uint32Array(workerData)[b >>> 2];
    heap.check();
    heap.detach();
    parentPort.postMessage({ hardening: heap.hardening, a, b, link });`;
  const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: buffer });
  const done = new Promise<{ hardening: boolean; a: number; b: number; link: number }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (c) => reject(new Error(`worker exited with ${c} before answering`)));
  });
  return withTimeout(done, 60_000, 'worker attach').finally(() => void w.terminate());
}

describe('hardening: false', () => {
  it('is recorded in the header: an attaching worker runs the plain-link fast path too', async () => {
    const heap = SharedHeap.create({ size: 4 * MiB, hardening: false });
    expect(heap.hardening).toBe(false);
    const r = await workerFreesTwo(heap.buffer);
    expect(r.hardening).toBe(false);
    expect(r.link, 'a plain link: the next block itself').toBe(r.a);
    // The worker's detach flushed both blocks to the central cache; they come back here.
    const got = new Set([heap.malloc(64), heap.malloc(64)]);
    expect(got.has(r.a) || got.has(r.b)).toBe(true);
    heap.check();
  });

  it('control: the default heap is hardened in every thread (the link is encoded)', async () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    expect(heap.hardening).toBe(true);
    const r = await workerFreesTwo(heap.buffer);
    expect(r.hardening).toBe(true);
    expect(r.link).not.toBe(r.a);
    heap.check();
  });

  it('keeps the heap intact under churn of small, medium and large blocks (contents checked)', () => {
    const heap = SharedHeap.create({ size: 64 * MiB, hardening: false });
    expect(heap.hardening).toBe(false);
    const u8 = new Uint8Array(heap.buffer);
    const next = rng32(7);
    const live: { p: number; n: number; tag: number }[] = [];
    const put = (n: number): void => {
      const p = heap.malloc(n);
      const tag = (live.length * 31 + n) & 255;
      u8.fill(tag, p, p + n);
      live.push({ p, n, tag });
    };
    for (let i = 0; i < 1000; i++) put(between(next, 1, 2 * KiB));
    for (let i = 0; i < 10_000; i++) {
      const k = next() % live.length;
      const { p, n, tag } = live[k]!;
      for (const at of [p, p + (n >>> 1), p + n - 1]) expect(u8[at], `block ${p} (${n} B) overwritten`).toBe(tag);
      heap.free(p);
      live[k] = live[live.length - 1]!;
      live.pop();
      const r = next() % 100;
      put(r < 90 ? between(next, 1, 1 * KiB) : r < 99 ? between(next, 1 * KiB, 64 * KiB) : between(next, 256 * KiB, 1 * MiB));
      if (i % 5000 === 0) heap.check();
    }
    heap.check();
    for (const { p } of live) heap.free(p);
    heap.trim();
    heap.check();
    const s = heap.stats();
    expect(s.mallocCount).toBe(s.freeCount);
  });

  it('combines with debug, threadCache: false, globalLock and zeroOnFree (links stay plain on every path)', () => {
    for (const extra of [{ debug: true }, { threadCache: false }, { globalLock: true }, { zeroOnFree: true }]) {
      const heap = SharedHeap.create({ size: 16 * MiB, hardening: false, ...extra });
      expect(heap.hardening).toBe(false);
      const live: number[] = [];
      for (let i = 0; i < 5000; i++) {
        if (live.length > 300 && i % 3 !== 0) heap.free(live.splice((i * 7919) % live.length, 1)[0]!);
        else live.push(heap.malloc(16 + ((i * 131) % 3000)));
      }
      heap.check();
      for (const p of live) heap.free(p);
      heap.check();
    }
  });

  it('slow paths still validate: large double free, realloc and usableSize of a freed block', () => {
    const heap = SharedHeap.create({ size: 8 * MiB, hardening: false });
    expect(heap.hardening).toBe(false);
    const big = heap.malloc(1 * MiB);
    heap.free(big);
    expect(() => heap.free(big)).toThrow(DoubleFreeError);
    const p = heap.malloc(100);
    const q = heap.realloc(p, 5000);
    expect(heap.usableSize(q)).toBeGreaterThanOrEqual(5000);
    expect(() => heap.usableSize(p)).toThrow(InvalidPointerError);
    heap.free(q);
    heap.check();
  });

  it('the unvalidated free still refuses addresses outside the pages: metadata, the buffer end, 2^32 - 16', () => {
    // freeRaw's range test works on granule indexes (p below the pages wraps past the end):
    // whatever the address, a stray value must not write metadata.
    const heap = SharedHeap.create({ size: 8 * MiB, hardening: false });
    const pagesStart = new Int32Array(heap.buffer)[H.PAGES_OFF]!;
    const live = heap.malloc(64);
    new Uint8Array(heap.buffer).fill(7, live, live + 64);
    for (const p of [16, pagesStart - 16, heap.buffer.byteLength, 2 ** 32 - 16]) {
      expect(() => heap.free(p), `free(${p})`).toThrow(InvalidPointerError);
    }
    heap.check();
    expect(new Uint8Array(heap.buffer).subarray(live, live + 64).every((b) => b === 7)).toBe(true);
    heap.free(live);
    heap.check();
    heap.detach();
  });

  it('a header whose key and hardening flag disagree is refused', () => {
    for (const hardening of [true, false]) {
      const heap = SharedHeap.create({ size: 1 * MiB, hardening });
      heap.detach();
      const copy = new SharedArrayBuffer(heap.buffer.byteLength);
      new Uint8Array(copy).set(new Uint8Array(heap.buffer));
      new Int32Array(copy)[H.KEY] = hardening ? 0 : 12345;
      expect(() => SharedHeap.attach(copy)).toThrow(InvalidHeapError);
    }
  });
});

describe('hardening: false without thread caches: a free whose central section throws', () => {
  it('fails whole: the error is the one thrown, the block stays allocated and can be freed later', () => {
    const heap = SharedHeap.create({ size: 4 * MiB, hardening: false, threadCache: false });
    const p = heap.malloc(64);
    const spy = vi.spyOn(CentralCache.prototype, 'insertRange').mockImplementationOnce(() => {
      throw new Error('injected');
    });
    try {
      // The rollback pops the block off the (plain-linked) list again; decoding that link as
      // a safe link named a garbage block and replaced this error with a HeapCorruptionError.
      expect(() => heap.free(p)).toThrow('injected');
    } finally {
      spy.mockRestore();
    }
    expect(heap.usableSize(p)).toBe(64);
    heap.check();
    heap.free(p);
    heap.check();
    expect(heap.stats().inUseObjects).toBe(0);
  });
});
