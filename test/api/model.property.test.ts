/**
 * Model-based property tests (fast-check): random sequences of malloc / calloc / realloc /
 * free / usableSize on a fresh heap, checked against a model Map pointer -> {requested, tag}.
 *
 * Every live block is stamped over its whole usableSize (test/helpers/stamp.ts) and verified on
 * every later touch; realloc must preserve min(old, new) requested bytes; calloc must return
 * zeroed memory (even when it reuses stamped, freed memory); live blocks [p, p+usableSize)
 * never overlap and lie inside the buffer; after each sequence stats agree with the model,
 * check() passes, and after freeing everything nothing is in use.
 *
 * A second property runs on a 1 MiB heap with large requests so OutOfMemoryError happens:
 * the model then requires the call to throw with the OOM code and leave every block (also
 * the one passed to a failing realloc) unchanged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutOfMemoryError, SharedHeap } from '../../src/index.js';
import { stampBlock, verifyBlock, verifyFill, viewsOf, type BlockViews } from '../helpers/stamp.js';
import { CODES } from '../helpers/errors.js';
import { KiB, MiB, firstOverlap } from '../helpers/heap.js';

/** fast-check runs per property: a fraction of the soak's count by default (PROPERTY_SCALE=1 for the soak; docs/hacking.md). */
const runs = (soak: number): number => Math.max(1, Math.round(soak * Number(process.env.PROPERTY_SCALE ?? 0.4)));

type Op =
  | { k: 'malloc'; n: number }
  | { k: 'calloc'; count: number; size: number }
  | { k: 'realloc'; i: number; n: number }
  | { k: 'free'; i: number }
  | { k: 'usableSize'; i: number };

interface Live {
  n: number;
  tag: number;
  usable: number;
}

/** Weights of the size ranges and of free among the ops. */
interface Mix {
  maxLarge: number;
  medium: number; // 8 KiB .. 256 KiB
  large: number; // > 256 KiB, spans of their own
  free: number;
}
/** Mostly small, some medium, a few large. */
const NORMAL: Mix = { maxLarge: 1536 * KiB, medium: 2, large: 1, free: 5 };
/** For a 1 MiB heap: many medium and large requests, few frees, so allocations fail. */
const PRESSURE: Mix = { maxLarge: 768 * KiB, medium: 6, large: 6, free: 1 };

function sizeArb(m: Mix): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 256 }), weight: 10 },
    { arbitrary: fc.integer({ min: 257, max: 8 * KiB }), weight: 5 },
    { arbitrary: fc.integer({ min: 8 * KiB + 1, max: 256 * KiB }), weight: m.medium },
    { arbitrary: fc.integer({ min: 256 * KiB + 1, max: m.maxLarge }), weight: m.large },
  );
}

function opArb(m: Mix): fc.Arbitrary<Op> {
  const size = sizeArb(m);
  const maxLarge = m.maxLarge;
  return fc.oneof(
    { arbitrary: fc.record({ k: fc.constant('malloc' as const), n: size }), weight: 6 },
    {
      arbitrary: fc.record({
        k: fc.constant('calloc' as const),
        count: fc.integer({ min: 1, max: 16 }),
        size: fc.oneof(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: maxLarge >>> 4 })),
      }),
      weight: 2,
    },
    { arbitrary: fc.record({ k: fc.constant('realloc' as const), i: fc.nat(), n: size }), weight: 3 },
    { arbitrary: fc.record({ k: fc.constant('free' as const), i: fc.nat() }), weight: m.free },
    { arbitrary: fc.record({ k: fc.constant('usableSize' as const), i: fc.nat() }), weight: 2 },
  );
}

class ModelRun {
  readonly heap: SharedHeap;
  readonly v: BlockViews;
  readonly live = new Map<number, Live>();
  nextTag = 1;
  ooms = 0;

  constructor(size: number) {
    // One thread: two slots (create(), check() and stats() visit every slot, per sequence).
    this.heap = SharedHeap.create({ size, maxThreads: 2 });
    this.v = viewsOf(this.heap.buffer);
  }

  private pick(i: number): number | undefined {
    if (this.live.size === 0) return undefined;
    const keys = [...this.live.keys()];
    return keys[i % keys.length];
  }

  private verify(p: number): void {
    const b = this.live.get(p)!;
    expect(this.heap.usableSize(p), `usableSize(${p}) is stable`).toBe(b.usable);
    expect(verifyBlock(this.v, p, b.usable, b.tag)).toBeNull();
  }

  /** Validates a fresh pointer, stamps it and records it. */
  private adopt(p: number, n: number): void {
    expect(p, 'pointer > 0').toBeGreaterThan(0);
    expect(p % 16, `pointer ${p} is 16-byte aligned`).toBe(0);
    expect(this.live.has(p), `pointer ${p} is not already live`).toBe(false);
    const usable = this.heap.usableSize(p);
    expect(usable).toBeGreaterThanOrEqual(Math.max(n, 16));
    expect(p + usable).toBeLessThanOrEqual(this.heap.buffer.byteLength);
    const tag = this.nextTag++;
    stampBlock(this.v, p, usable, tag, n);
    this.live.set(p, { n, tag, usable });
  }

  /** Runs an allocating call; an OutOfMemoryError is allowed and must change nothing. */
  private mayOom(f: () => number): number | undefined {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
      expect(e.code).toBe(CODES.oom);
      this.ooms++;
      return undefined;
    }
  }

  apply(op: Op): void {
    const { heap } = this;
    switch (op.k) {
      case 'malloc': {
        const p = this.mayOom(() => heap.malloc(op.n));
        if (p !== undefined) this.adopt(p, op.n);
        break;
      }
      case 'calloc': {
        const p = this.mayOom(() => heap.calloc(op.count, op.size));
        if (p !== undefined) {
          const bytes = op.count * op.size;
          expect(verifyFill(this.v, p, 0, bytes, 0), `calloc(${op.count}, ${op.size}) is zeroed`).toBeNull();
          this.adopt(p, bytes);
        }
        break;
      }
      case 'realloc': {
        const p = this.pick(op.i);
        if (p === undefined) {
          const q = this.mayOom(() => heap.realloc(0, op.n));
          if (q !== undefined) this.adopt(q, op.n);
          break;
        }
        this.verify(p);
        const old = this.live.get(p)!;
        const keep = Math.min(old.n, op.n);
        const before = this.v.u8.slice(p, p + keep);
        const q = this.mayOom(() => heap.realloc(p, op.n));
        if (q === undefined) {
          this.verify(p); // a failed realloc leaves the old block as it was
          break;
        }
        const after = this.v.u8.subarray(q, q + keep);
        expect(Buffer.compare(before, after) === 0, `realloc(${p}, ${op.n}) -> ${q} preserves ${keep} bytes`).toBe(true);
        this.live.delete(p);
        this.adopt(q, op.n);
        break;
      }
      case 'free': {
        const p = this.pick(op.i);
        if (p === undefined) break;
        this.verify(p);
        heap.free(p);
        this.live.delete(p);
        break;
      }
      case 'usableSize': {
        const p = this.pick(op.i);
        if (p !== undefined) this.verify(p);
        break;
      }
    }
    const clash = firstOverlap([...this.live].map(([p, b]) => [p, b.usable] as const));
    expect(clash, 'live blocks overlap').toBeNull();
  }

  finish(): void {
    const { heap } = this;
    for (const p of this.live.keys()) this.verify(p);
    heap.check();
    expect(heap.stats().inUseObjects).toBe(this.live.size);
    for (const p of [...this.live.keys()]) {
      heap.free(p);
      this.live.delete(p);
    }
    heap.check();
    const s = heap.stats();
    expect(s.inUseObjects).toBe(0);
    expect(s.inUseBytes).toBe(0);
    expect(s.freeCount).toBe(s.mallocCount);
    heap.detach();
  }
}

function runSequence(heapSize: number, ops: Op[]): number {
  const m = new ModelRun(heapSize);
  for (const op of ops) m.apply(op);
  m.finish();
  return m.ooms;
}

describe('model-based sequences', () => {
  // 8 MiB: room for several 1.5 MiB blocks (an OutOfMemoryError is allowed and checked), and
  // check() walks every page of it twice per sequence.
  it('random malloc/calloc/realloc/free/usableSize sequences match the model (8 MiB heap)', () => {
    fc.assert(
      fc.property(fc.array(opArb(NORMAL), { minLength: 1, maxLength: 80, size: 'max' }), (ops) => {
        runSequence(8 * MiB, ops);
      }),
      { numRuns: runs(150) },
    );
  });

  it('on a 1 MiB heap, OutOfMemoryError leaves the heap and every block unchanged', () => {
    let ooms = 0;
    fc.assert(
      fc.property(fc.array(opArb(PRESSURE), { minLength: 1, maxLength: 80, size: 'max' }), (ops) => {
        ooms += runSequence(1 * MiB, ops);
      }),
      { numRuns: runs(100) },
    );
    // The property above is only meaningful if the OOM paths actually ran.
    expect(ooms, `OutOfMemoryErrors seen: ${ooms}`).toBeGreaterThan(0);
  });
});

describe('calloc reuses memory zeroed', () => {
  it('calloc returns zeroed bytes after the same sizes were stamped and freed', () => {
    const heap = SharedHeap.create({ size: 8 * MiB });
    const v = viewsOf(heap.buffer);
    let reused = 0;
    for (const n of [16, 48, 100, 1000, 4096, 40 * KiB, 300 * KiB]) {
      const ps = Array.from({ length: 8 }, () => heap.malloc(n));
      for (const p of ps) stampBlock(v, p, heap.usableSize(p), 7, n);
      const freed = new Set(ps);
      for (const p of ps) heap.free(p);
      const qs = Array.from({ length: 8 }, () => heap.calloc(1, n));
      for (const q of qs) {
        if (freed.has(q)) reused++;
        expect(verifyFill(v, q, 0, n, 0), `calloc(1, ${n}) at ${q}`).toBeNull();
      }
      for (const q of qs) heap.free(q);
    }
    // Not every size must reuse the very blocks freed, but the test means nothing if none did.
    expect(reused, 'calloc reused some of the stamped, freed blocks').toBeGreaterThan(0);
    heap.check();
    expect(heap.stats().inUseObjects).toBe(0);
  });
});
