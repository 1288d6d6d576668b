/**
 * Hardening:
 * - safe-linking: a write after free into a block sitting on a free list (its first 4
 *   bytes hold the encoded link), or an overflow from the block before it, makes the malloc
 *   that would follow the link throw HeapCorruptionError naming the block, instead of
 *   handing out a wild pointer; nothing changed, so restoring the bytes heals the heap;
 * - double frees from the same and from another worker raise DoubleFreeError;
 * - calloc returns zeroed memory even when it reuses dirty freed memory, including blocks
 *   freed by another worker and blocks dirtied by another worker.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Piscina } from 'piscina';
import { DoubleFreeError, HeapCorruptionError, SharedHeap } from '../../src/index.js';
import type { ProbeResult, ProbeTask } from '../fixtures/stress-ops.js';
import { POOL_EXEC_ARGV } from '../../src/pool/heappool.js';
import { stressOpsWorker, withTimeout } from '../helpers/pool.js';

const KiB = 1024;
const MiB = 1024 * 1024;

let pool: Piscina<ProbeTask, ProbeResult>;
beforeAll(() => {
  pool = new Piscina({ filename: stressOpsWorker().href, minThreads: 1, maxThreads: 1, idleTimeout: 60_000, execArgv: [...POOL_EXEC_ARGV] });
});
afterAll(async () => {
  await pool.destroy();
});

const remote = (t: ProbeTask): Promise<ProbeResult> => withTimeout(pool.run(t, { name: 'probe' }), 30_000, `probe ${t.op}`);

function corruption(fn: () => unknown): HeapCorruptionError {
  let thrown: unknown;
  let returned: unknown;
  try {
    returned = fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected HeapCorruptionError, malloc returned ${String(returned)}`).toBeInstanceOf(HeapCorruptionError);
  return thrown as HeapCorruptionError;
}

function expectNames(e: HeapCorruptionError, p: number): void {
  expect(e.pointer, e.message).toBe(p);
  expect(e.message).toContain(`block ${p}`);
  expect(e.code).toBe('ERR_SABMALLOC_HEAP_CORRUPTION');
}

describe('safe-linking', () => {
  it('a write after free into the first 4 bytes of a cached block: the next malloc of its class throws, naming it', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const u32 = new Uint32Array(heap.buffer);
    for (const size of [16, 64, 1000, 8 * KiB]) {
      const [p, keep] = [heap.malloc(size), heap.malloc(size)];
      heap.free(p); // p heads this thread's list of its class
      const saved = u32[p >>> 2]!;
      u32[p >>> 2] = 0x41414141; // "AAAA": the application still writing through a stale pointer
      const e = corruption(() => heap.malloc(size));
      expectNames(e, p);
      expect(e.message).toContain('write after free or overflow');
      // Nothing was changed by the failed malloc: with the link back, service resumes.
      u32[p >>> 2] = saved;
      expect(heap.malloc(size)).toBe(p);
      heap.check();
      heap.free(p);
      heap.free(keep);
    }
    heap.check();
  });

  it('a forged link holding the raw address of another free block is refused (links are encoded)', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const u32 = new Uint32Array(heap.buffer);
    const blocks = Array.from({ length: 8 }, () => heap.malloc(128));
    const [victim, target] = [blocks[3]!, blocks[6]!];
    heap.free(target);
    heap.free(victim); // list: victim -> target -> ...
    const saved = u32[victim >>> 2]!;
    u32[victim >>> 2] = blocks[1]!; // a live block's address, unencoded: a classic tcache poisoning
    expectNames(corruption(() => heap.malloc(128)), victim);
    u32[victim >>> 2] = saved;
    expect(heap.malloc(128)).toBe(victim);
    expect(heap.malloc(128)).toBe(target);
    heap.check();
  });

  it('a block deeper in the list is reported when the malloc reaches it', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const u32 = new Uint32Array(heap.buffer);
    const [a, b, keep] = [heap.malloc(256), heap.malloc(256), heap.malloc(256)];
    heap.free(b);
    heap.free(a); // list: a -> b
    const saved = u32[b >>> 2]!;
    u32[b >>> 2] ^= 0x00ff00ff;
    expect(heap.malloc(256), 'a is intact and handed out').toBe(a);
    expectNames(corruption(() => heap.malloc(256)), b);
    u32[b >>> 2] = saved;
    expect(heap.malloc(256)).toBe(b);
    heap.free(a);
    heap.free(b);
    heap.free(keep);
    heap.check();
  });

  it('a bad link at the end of a cached list is refused when the list is flushed, before anything is written', () => {
    // The flush walks the whole chain it moves and leaves the next object as the list's
    // head: a link it does not check would become a list head nobody validated.
    const heap = SharedHeap.create({ size: 4 * MiB });
    const u32 = new Uint32Array(heap.buffer);
    const blocks = Array.from({ length: 4 }, () => heap.malloc(256));
    const keep = heap.malloc(256);
    heap.releaseCachedMemory(); // this thread's list of the class is empty now
    for (const p of blocks) heap.free(p); // list: blocks[3] -> [2] -> [1] -> [0], [0]'s link encodes the end
    const last = blocks[0]!;
    for (const forged of [keep, 0x41414140]) {
      const saved = u32[last >>> 2]!;
      u32[last >>> 2] = forged;
      expectNames(corruption(() => heap.releaseCachedMemory()), last);
      u32[last >>> 2] = saved; // nothing else was changed: with the link back, service resumes
      heap.check();
    }
    heap.releaseCachedMemory();
    heap.check();
    const again = Array.from({ length: 4 }, () => heap.malloc(256));
    expect(new Set([...again, keep]).size).toBe(5);
    for (const p of [...again, keep]) heap.free(p);
    heap.check();
  });

  it('another worker writing into a cached block while its owner flushes the list: a typed error or no harm, never a bad block handed out', async () => {
    // A barrier, then the writer overwrites the link of the list's last block while this
    // thread moves the list to the central cache. The write lands before the check (the
    // flush throws), after the block reached its span (a later refill throws), or between
    // the check and the central cache rewriting the link (lost: nothing to report).
    const writer = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.on('message', ({ buffer, ctl, at, value }) => {
         const c = new Int32Array(ctl);
         Atomics.store(c, 1, 1); Atomics.notify(c, 1);
         while (Atomics.load(c, 0) === 0) {} // spin: start as close to the go as possible
         new Uint32Array(buffer)[at >>> 2] = value;
         Atomics.store(c, 2, 1); Atomics.notify(c, 2);
       });`,
      { eval: true },
    );
    const outcomes = { flush: 0, refill: 0, none: 0 };
    try {
      for (let round = 0; round < 40; round++) {
        const heap = SharedHeap.create({ size: 4 * MiB });
        const blocks = Array.from({ length: 4 }, () => heap.malloc(256));
        const keep = heap.malloc(256);
        heap.releaseCachedMemory();
        for (const p of blocks) heap.free(p); // list: blocks[3] -> ... -> blocks[0]
        const last = blocks[0]!;
        const ctl = new Int32Array(new SharedArrayBuffer(12));
        writer.postMessage({ buffer: heap.buffer, ctl: ctl.buffer, at: last, value: 0x41414140 });
        Atomics.wait(ctl, 1, 0, 10_000);
        Atomics.store(ctl, 0, 1);
        let error: unknown;
        try {
          heap.releaseCachedMemory();
        } catch (e) {
          error = e;
        }
        expect(Atomics.wait(ctl, 2, 0, 10_000)).not.toBe('timed-out');
        if (error !== undefined) {
          expectNames(error as HeapCorruptionError, last);
          outcomes.flush++;
          continue;
        }
        // Take every block of the class the heap will give: each must be a real block.
        const got: number[] = [];
        try {
          for (let k = 0; k < 64; k++) got.push(heap.malloc(256));
          heap.check();
          outcomes.none++;
        } catch (e) {
          expect(e).toBeInstanceOf(HeapCorruptionError);
          outcomes.refill++;
        }
        for (const p of got) {
          expect(p % 16).toBe(0);
          expect(p).not.toBe(keep);
          expect(heap.usableSize(p)).toBe(256);
        }
        expect(new Set(got).size).toBe(got.length);
      }
    } finally {
      await writer.terminate();
    }
    expect(outcomes.flush + outcomes.refill + outcomes.none).toBe(40);
  }, 60_000);

  it('an overflow past the end of a block into its free neighbour is reported naming the neighbour', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const u8 = new Uint8Array(heap.buffer);
    const blocks = Array.from({ length: 16 }, () => heap.malloc(64));
    const sorted = [...blocks].sort((x, y) => x - y);
    const k = sorted.findIndex((p, i) => i + 1 < sorted.length && sorted[i + 1] === p + 64);
    expect(k, 'two adjacent 64-byte blocks').toBeGreaterThanOrEqual(0);
    const [a, b] = [sorted[k]!, sorted[k + 1]!];
    expect(heap.usableSize(a)).toBe(64);
    heap.free(b);
    const saved = u8.slice(b, b + 8);
    u8.fill(0x5a, a, a + 72); // a's 64 bytes and 8 more: b's link
    expectNames(corruption(() => heap.malloc(64)), b);
    u8.set(saved, b);
    expect(heap.malloc(64)).toBe(b);
    for (const p of blocks) heap.free(p);
    heap.check();
  });

  it('a block corrupted on a central span free list is reported when the central cache hands it out', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const u32 = new Uint32Array(heap.buffer);
    const blocks = Array.from({ length: 40 }, () => heap.malloc(2048));
    // Free all but the first (keeps the span in use), give them back to the span lists.
    for (const p of blocks.slice(1)) heap.free(p);
    heap.trim();
    expect(heap.stats().threadCacheFreeBytes).toBe(0);
    heap.check();
    // The span's free list is LIFO: the last block given back heads it. Corrupt every
    // free block's link, so whichever the central cache pops first is caught.
    const saved = blocks.slice(1).map((p) => u32[p >>> 2]!);
    for (const p of blocks.slice(1)) u32[p >>> 2] = 0x42424242;
    const e = corruption(() => heap.malloc(2048));
    expect(blocks.slice(1)).toContain(e.pointer);
    expect(e.message).toContain(`block ${e.pointer}`);
    blocks.slice(1).forEach((p, i) => (u32[p >>> 2] = saved[i]!));
    heap.check();
    const again = Array.from({ length: 39 }, () => heap.malloc(2048));
    expect(new Set(again).size).toBe(39);
    expect(again, 'the restored block is served again').toContain(e.pointer);
    for (const p of [...again, blocks[0]!]) heap.free(p);
    heap.check();
  });
});

describe('double free', () => {
  it('same thread: small and large blocks, directly and after other frees', () => {
    const heap = SharedHeap.create({ size: 8 * MiB });
    for (const size of [48, 4000, 200 * KiB, 600 * KiB]) {
      const [p, q] = [heap.malloc(size), heap.malloc(size)];
      heap.free(p);
      heap.free(q);
      const e = (() => {
        try {
          heap.free(p);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e, `size ${size}`).toBeInstanceOf(DoubleFreeError);
      expect((e as DoubleFreeError).pointer).toBe(p);
      expect((e as DoubleFreeError).message).toContain(`double free of block ${p}`);
      heap.check();
    }
    // No block went on a list twice.
    const got = Array.from({ length: 64 }, () => heap.malloc(48));
    expect(new Set(got).size).toBe(64);
  });

  it('another worker: a block freed here is refused there, a block freed there is refused here', async () => {
    const heap = SharedHeap.create({ size: 8 * MiB });
    for (const size of [96, 500 * KiB]) {
      const p = heap.malloc(size);
      heap.free(p);
      const r = await remote({ buffer: heap.buffer, op: 'free', p });
      expect(r).toMatchObject({ ok: false, name: 'DoubleFreeError', code: 'ERR_SABMALLOC_DOUBLE_FREE' });
      expect(r.message).toContain(`double free of block ${p}`);
      heap.check();

      const [q, keep] = [heap.malloc(size), heap.malloc(size)];
      const ok = await remote({ buffer: heap.buffer, op: 'free', p: q });
      expect(ok.ok, ok.message).toBe(true);
      expect(() => heap.free(q)).toThrow(DoubleFreeError);
      heap.free(keep);
      heap.check();
    }
  }, 60_000);
});

describe('calloc never returns dirty memory', () => {
  const dirty = (heap: SharedHeap, p: number, n: number, b: number): void => {
    new Uint8Array(heap.buffer, p, heap.usableSize(p)).fill(b);
    expect(heap.usableSize(p)).toBeGreaterThanOrEqual(n);
  };
  const zero = (heap: SharedHeap, p: number, n: number): boolean => new Uint8Array(heap.buffer, p, n).every((x) => x === 0);

  it('reusing a block this thread dirtied and freed (small and large)', () => {
    const heap = SharedHeap.create({ size: 8 * MiB });
    for (const n of [16, 100, 1000, 30 * KiB, 300 * KiB, 2 * MiB]) {
      const p = heap.malloc(n);
      dirty(heap, p, n, 0xab);
      heap.free(p);
      const q = heap.calloc(1, n);
      expect(q, `calloc(1, ${n}) reused the dirty block`).toBe(p);
      expect(zero(heap, q, n), `calloc(1, ${n})`).toBe(true);
      heap.free(q);
      const r = heap.calloc(Math.ceil(n / 16), 16);
      expect(zero(heap, r, Math.ceil(n / 16) * 16)).toBe(true);
      heap.free(r);
    }
    heap.check();
  });

  it('reusing blocks another worker freed', async () => {
    const heap = SharedHeap.create({ size: 8 * MiB });
    const blocks = Array.from({ length: 64 }, () => heap.malloc(512));
    for (const p of blocks) dirty(heap, p, 512, 0xcd);
    const r = await remote({ buffer: heap.buffer, op: 'freeMany', ps: blocks });
    expect(r.ok, r.message).toBe(true);
    heap.trim(); // the worker's cache went to the central caches when it detached
    const got = Array.from({ length: 64 }, () => heap.calloc(1, 512));
    const reused = got.filter((p) => blocks.includes(p));
    expect(reused.length, 'calloc handed out blocks the other worker freed').toBeGreaterThan(0);
    for (const p of got) expect(zero(heap, p, 512), `block ${p}`).toBe(true);
    for (const p of got) heap.free(p);
    heap.check();
  }, 60_000);

  it('another worker callocs blocks this thread dirtied and freed', async () => {
    const heap = SharedHeap.create({ size: 8 * MiB });
    const blocks = Array.from({ length: 64 }, () => heap.malloc(768));
    const big = heap.malloc(400 * KiB);
    for (const p of blocks) dirty(heap, p, 768, 0xee);
    dirty(heap, big, 400 * KiB, 0xef);
    for (const p of [...blocks, big]) heap.free(p);
    heap.trim();
    const small = await remote({ buffer: heap.buffer, op: 'callocMany', size: 768, count: 64 });
    expect(small.ok, small.message).toBe(true);
    expect(small.values.filter((p) => blocks.includes(p)).length, 'the worker got dirtied blocks').toBeGreaterThan(0);
    expect(small.nonZero, 'bytes not zero in the worker').toBe(0);
    const large = await remote({ buffer: heap.buffer, op: 'callocMany', size: 400 * KiB, count: 1 });
    expect(large.values).toEqual([big]);
    expect(large.nonZero).toBe(0);
    for (const p of [...small.values, ...large.values]) heap.free(p);
    heap.check();
  }, 60_000);
});

describe("zeroOnFree: freed memory never carries one worker's data to another", () => {
  const SIZES = [64, 3000, 400 * KiB];

  /**
   * This thread dirties and frees blocks; a worker then mallocs (not calloc) the same sizes.
   * Returns the bytes the worker found not zero in the blocks it got back from the dirty
   * ones, and how many it got back.
   */
  async function hereThenThere(zeroOnFree: boolean): Promise<{ nonZero: number; reused: number }> {
    const heap = SharedHeap.create({ size: 8 * MiB, zeroOnFree });
    let nonZero = 0;
    let reused = 0;
    for (const size of SIZES) {
      const keep = heap.malloc(size); // keeps the small blocks' span in its class
      const dirty = Array.from({ length: 8 }, () => heap.malloc(size));
      for (const p of dirty) new Uint8Array(heap.buffer, p, heap.usableSize(p)).fill(0x5e);
      for (const p of dirty) heap.free(p);
      heap.trim(); // to the central caches and the page heap, where the worker finds them
      const r = await remote({ buffer: heap.buffer, op: 'mallocMany', size, count: 8 });
      expect(r.ok, r.message).toBe(true);
      r.values.forEach((p, i) => {
        if (!dirty.includes(p)) return;
        reused++;
        nonZero += r.nonZeroByBlock[i]!;
      });
      for (const p of [...r.values, keep]) heap.free(p);
    }
    heap.check();
    return { nonZero, reused };
  }

  it('a block this thread freed is all zero when a worker mallocs it', async () => {
    const on = await hereThenThere(true);
    expect(on.reused, 'the worker got blocks this thread had dirtied').toBeGreaterThan(8);
    expect(on.nonZero).toBe(0);
    // Control: without zeroOnFree the same sequence shows the old bytes (so the check can fail).
    const off = await hereThenThere(false);
    expect(off.reused).toBeGreaterThan(8);
    expect(off.nonZero).toBeGreaterThan(0);
  }, 60_000);

  it('a block a worker dirtied and freed is all zero when this thread mallocs it', async () => {
    const heap = SharedHeap.create({ size: 8 * MiB, zeroOnFree: true });
    let reused = 0;
    for (const size of SIZES) {
      const keep = heap.malloc(size);
      const r = await remote({ buffer: heap.buffer, op: 'dirtyFree', size, count: 8, fill: 0x77 });
      expect(r.ok, r.message).toBe(true);
      heap.trim();
      const got = Array.from({ length: 8 }, () => heap.malloc(size));
      for (const p of got.filter((q) => r.values.includes(q))) {
        reused++;
        const bytes = new Uint8Array(heap.buffer, p, heap.usableSize(p));
        expect(bytes.findIndex((b) => b !== 0), `block ${p} of ${size} B`).toBe(-1);
      }
      for (const p of [...got, keep]) heap.free(p);
    }
    expect(reused, "this thread got blocks the worker had dirtied").toBeGreaterThan(8);
    heap.check();
  }, 60_000);
});

describe('debug heaps', () => {
  it('a write to a freed block (past its link word) is reported when the block is reused', () => {
    const heap = SharedHeap.create({ size: 4 * MiB, debug: true });
    for (const [size, offset] of [
      [100, 20],
      [2000, 1999],
      [40 * KiB, 4],
    ] as const) {
      const [p, keep] = [heap.malloc(size), heap.malloc(size)];
      heap.free(p);
      new Uint8Array(heap.buffer)[p + offset] = 0x11; // a stale pointer still in use
      const e = corruption(() => heap.malloc(size));
      expectNames(e, p);
      expect(e.message).toContain(`was written at offset ${offset} while it was free (use after free)`);
      heap.check();
      // Service goes on (the damaged block is not handed out again).
      const q = heap.malloc(size);
      expect(q).not.toBe(p);
      heap.free(q);
      heap.free(keep);
    }
    heap.check();
  });

  it('a write past the size asked for, into the guard bytes, is reported on free (here and on another worker)', async () => {
    const heap = SharedHeap.create({ size: 8 * MiB, debug: true });
    const u8 = new Uint8Array(heap.buffer);
    for (const size of [1, 100, 3000, 300 * KiB]) {
      const p = heap.malloc(size);
      expect(heap.usableSize(p), 'debug: usable size is exactly the size asked for').toBe(size);
      u8.fill(0x33, p, p + size); // all of its own bytes: fine
      const saved = u8[p + size]!;
      u8[p + size] = 0x33; // one byte too far
      const e = corruption(() => heap.free(p));
      expectNames(e, p);
      expect(e.message).toContain(`block ${p} of ${size} bytes was written past its end, at offset ${size}`);
      // The failed free changed nothing: with the guard byte back, the free goes through.
      u8[p + size] = saved;
      heap.free(p);
      heap.check();
    }
    const p = heap.malloc(500);
    u8[p + 503] = 0;
    const r = await remote({ buffer: heap.buffer, op: 'free', p });
    expect(r).toMatchObject({ ok: false, name: 'HeapCorruptionError', code: 'ERR_SABMALLOC_HEAP_CORRUPTION' });
    expect(r.message).toContain(`block ${p} of 500 bytes was written past its end, at offset 503`);
    heap.check();
  }, 60_000);

  it('leakReport() lists the blocks this thread still holds, with where they were allocated', () => {
    const heap = SharedHeap.create({ size: 4 * MiB, debug: true });
    const [a, b, c] = [heap.malloc(24), heap.malloc(5000), heap.malloc(300 * KiB)];
    heap.free(b);
    const leaks = heap.leakReport();
    expect(leaks.map((l) => [l.pointer, l.size]).sort((x, y) => x[0]! - y[0]!)).toEqual([[a, 24], [c, 300 * KiB]].sort((x, y) => x[0]! - y[0]!));
    for (const l of leaks) expect(l.stack).toContain('hardening.test');
    heap.free(a);
    heap.free(c);
    expect(heap.leakReport()).toEqual([]);
    heap.check();
  });
});
