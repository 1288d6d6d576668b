/**
 * The bad-input catalogue: one table row per distinct bad call, each with the
 * error class and a substring of the message the allocator must give, each followed by
 * check() and continued service (stamped witness blocks untouched, fresh allocations of
 * every kind, calloc zeroed, realloc keeping contents).
 *
 * test/api/badinput.test.ts sweeps many values per kind of bad pointer and checks
 * error codes; this catalogue is the table of *kinds* of bad call, with their messages:
 * wrong types, out-of-range values, misaligned and interior pointers, freed blocks, double
 * frees on the same and another worker, foreign buffers and pointers, truncated and patched
 * heaps, bad options, calls on dead handles and full heaps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Piscina } from 'piscina';
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
  TooManyThreadsError,
} from '../../src/index.js';
import type { ProbeResult, ProbeTask } from '../fixtures/stress-ops.js';
import { POOL_EXEC_ARGV } from '../../src/pool/heappool.js';
import { stressOpsWorker, withTimeout } from '../helpers/pool.js';

const KiB = 1024;
const MiB = 1024 * 1024;

type ErrorClass = abstract new (...args: never[]) => Error;

interface Ctx {
  heap: SharedHeap;
  /** stamped live blocks: 32 B, 700 B, 20 KiB, 400 KiB (large) */
  witnesses: number[];
  /** a call on another thread */
  remote: (t: Omit<ProbeTask, 'buffer'>) => Promise<ProbeResult>;
}

interface Case {
  name: string;
  /** what kind of bad input it is (for the summary test below) */
  kind: 'type' | 'range' | 'misaligned' | 'interior' | 'freed' | 'double' | 'foreign' | 'truncated' | 'version' | 'options' | 'state';
  error: ErrorClass;
  message: string;
  /** the bad call (a ProbeResult: the call ran on another worker) */
  call: (c: Ctx) => unknown;
}

/**
 * A copy of the heap's bytes in a new SharedArrayBuffer (optionally only `bytes` of them),
 * patched. Pages past the high-water mark were never handed out, so they are zero in both
 * buffers: only the metadata and the pages below the mark are copied.
 */
function copyOf(heap: SharedHeap, patch?: (i32: Int32Array) => void, bytes = heap.buffer.byteLength): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(bytes);
  const written = heap.layout.pages + Atomics.load(new Int32Array(heap.buffer, 0, 1024), H.TOUCHED_PAGES) * heap.layout.pageSize;
  new Uint8Array(sab).set(new Uint8Array(heap.buffer, 0, Math.min(bytes, written)));
  patch?.(new Int32Array(sab, 0, 1024));
  return sab;
}

const freed = (c: Ctx, n: number): number => {
  const p = c.heap.malloc(n);
  c.heap.free(p);
  return p;
};

const CASES: Case[] = [
  // ---- wrong types
  { name: 'free of a string pointer', kind: 'type', error: InvalidPointerError, message: 'invalid pointer "4096": free needs a block offset', call: (c) => c.heap.free('4096' as unknown as number) },
  { name: 'free of an object pointer', kind: 'type', error: InvalidPointerError, message: 'invalid pointer [object Object]: free needs a block offset', call: (c) => c.heap.free({} as unknown as number) },
  { name: 'free of undefined', kind: 'type', error: InvalidPointerError, message: 'invalid pointer undefined: free needs a block offset', call: (c) => c.heap.free(undefined as unknown as number) },
  { name: 'usableSize of a bigint pointer', kind: 'type', error: InvalidPointerError, message: 'usableSize needs a block offset', call: (c) => c.heap.usableSize(BigInt(c.witnesses[0]!) as unknown as number) },
  { name: 'realloc of a live block to a string size', kind: 'type', error: RangeError, message: 'realloc size must be a non-negative integer, got string', call: (c) => c.heap.realloc(c.witnesses[1]!, '64' as unknown as number) },
  { name: 'malloc of undefined', kind: 'type', error: RangeError, message: 'malloc size must be a non-negative integer, got undefined', call: (c) => c.heap.malloc(undefined as unknown as number) },
  { name: 'malloc of an object with valueOf', kind: 'type', error: RangeError, message: 'malloc size must be a non-negative integer, got object', call: (c) => c.heap.malloc({ valueOf: () => 64 } as unknown as number) },
  { name: 'calloc with a bigint count', kind: 'type', error: RangeError, message: 'calloc count must be a non-negative integer, got bigint', call: (c) => c.heap.calloc(2n as unknown as number, 8) },
  // ---- out of range
  { name: 'malloc(-1)', kind: 'range', error: RangeError, message: 'malloc size must be a non-negative integer, got -1', call: (c) => c.heap.malloc(-1) },
  { name: 'malloc(2.5)', kind: 'range', error: RangeError, message: 'got 2.5', call: (c) => c.heap.malloc(2.5) },
  { name: 'malloc above the largest the heap can grow to', kind: 'range', error: RangeError, message: 'larger than the heap can ever be', call: (c) => c.heap.malloc(64 * MiB) },
  { name: 'malloc above 4 GiB', kind: 'range', error: RangeError, message: 'is larger than any heap (4 GiB)', call: (c) => c.heap.malloc(2 ** 32 + 16) },
  { name: 'calloc whose count * size overflows', kind: 'range', error: RangeError, message: 'calloc(65536, 131072): 65536 * 131072 overflows the heap', call: (c) => c.heap.calloc(65536, 131072) },
  { name: 'free beyond the end of the buffer', kind: 'range', error: InvalidPointerError, message: 'free: beyond the end of the heap', call: (c) => c.heap.free(c.heap.buffer.byteLength + 4096) },
  { name: 'free of a negative pointer', kind: 'range', error: InvalidPointerError, message: 'invalid pointer -16: free needs a block offset', call: (c) => c.heap.free(-16) },
  { name: 'free inside the header', kind: 'range', error: InvalidPointerError, message: "free: points into the heap's header and metadata", call: (c) => c.heap.free(64) },
  // ---- misaligned
  { name: 'free of a live block + 8', kind: 'misaligned', error: InvalidPointerError, message: 'free: not 16-byte aligned', call: (c) => c.heap.free(c.witnesses[1]! + 8) },
  { name: 'realloc of a large block + 1', kind: 'misaligned', error: InvalidPointerError, message: ': not 16-byte aligned, so not a block start', call: (c) => c.heap.realloc(c.witnesses[3]! + 1, 64) },
  // ---- interior
  { name: 'free of the interior of a small block', kind: 'interior', error: InvalidPointerError, message: 'free: inside a block of size class', call: (c) => c.heap.free(c.witnesses[2]! + 1024) },
  {
    name: 'free of the interior of a large block',
    kind: 'interior',
    error: InvalidPointerError,
    message: 'free: inside a large block starting at',
    call: (c) => c.heap.free(c.witnesses[3]! + c.heap.layout.pageSize),
  },
  {
    name: 'usableSize inside free pages',
    kind: 'interior',
    error: InvalidPointerError,
    message: 'usableSize: inside free pages of the heap',
    call: (c) => c.heap.usableSize(freed(c, 600 * KiB) + 2 * c.heap.layout.pageSize),
  },
  // ---- freed blocks
  { name: 'realloc of a freed block', kind: 'freed', error: InvalidPointerError, message: 'realloc: the block was already freed', call: (c) => c.heap.realloc(freed(c, 200), 400) },
  { name: 'usableSize of a freed block', kind: 'freed', error: InvalidPointerError, message: 'usableSize: the block was already freed', call: (c) => c.heap.usableSize(freed(c, 3000)) },
  {
    name: 'free of a block whose span went back to the page heap',
    kind: 'freed',
    error: DoubleFreeError,
    message: 'double free of block',
    call: (c) => {
      const p = freed(c, 100 * KiB);
      c.heap.trim();
      return c.heap.free(p);
    },
  },
  // ---- double frees
  {
    name: 'double free of a small block, same thread',
    kind: 'double',
    error: DoubleFreeError,
    message: 'double free of block',
    call: (c) => {
      const p = freed(c, 64);
      return c.heap.free(p);
    },
  },
  { name: 'double free of a large block, same thread', kind: 'double', error: DoubleFreeError, message: 'double free of block', call: (c) => c.heap.free(freed(c, 500 * KiB)) },
  {
    name: 'double free on another worker of a block freed here',
    kind: 'double',
    error: DoubleFreeError,
    message: 'double free of block',
    call: (c) => c.remote({ op: 'free', p: freed(c, 96) }),
  },
  {
    name: 'double free here of a block another worker freed',
    kind: 'double',
    error: DoubleFreeError,
    message: 'double free of block',
    call: async (c) => {
      const [p, keep] = [c.heap.malloc(96), c.heap.malloc(96)];
      const r = await c.remote({ op: 'free', p });
      expect(r.ok, r.message).toBe(true);
      try {
        c.heap.free(p);
      } finally {
        c.heap.free(keep);
      }
    },
  },
  // ---- foreign buffers and pointers
  { name: 'attach of an ArrayBuffer', kind: 'foreign', error: InvalidHeapError, message: 'expected a SharedArrayBuffer, got [object ArrayBuffer]', call: () => SharedHeap.attach(new ArrayBuffer(MiB) as unknown as SharedArrayBuffer) },
  { name: 'attach of a plain object', kind: 'foreign', error: InvalidHeapError, message: 'expected a SharedArrayBuffer, got [object Object]', call: () => SharedHeap.attach({ byteLength: MiB } as unknown as SharedArrayBuffer) },
  {
    name: 'attach of a random SharedArrayBuffer',
    kind: 'foreign',
    error: InvalidHeapError,
    message: 'no sabmalloc magic number in the header',
    call: () => {
      const sab = new SharedArrayBuffer(2 * MiB);
      globalThis.crypto.getRandomValues(new Uint8Array(sab, 0, 65536));
      return SharedHeap.attach(sab);
    },
  },
  { name: 'attach of a SharedArrayBuffer smaller than a header', kind: 'foreign', error: InvalidHeapError, message: 'buffer of 100 bytes is too small', call: () => SharedHeap.attach(new SharedArrayBuffer(100)) },
  {
    name: "free of another heap's pointer",
    kind: 'foreign',
    error: InvalidPointerError,
    message: 'free: beyond the end of the heap',
    call: (c) => {
      const other = SharedHeap.create({ size: 48 * MiB });
      other.malloc(20 * MiB);
      const p = other.malloc(64);
      const st = c.heap.stats();
      // Beyond the heap's committed pages (its buffer reserves more, up to maxSize).
      expect(p, 'the foreign pointer is valid in its own heap').toBeGreaterThan(st.metadataReservedBytes + st.heapBytes);
      other.free(p);
      other.detach();
      return c.heap.free(p);
    },
  },
  // ---- truncated buffers
  {
    name: 'attach of the first half of a heap copied into a smaller SharedArrayBuffer',
    kind: 'truncated',
    error: InvalidHeapError,
    message: '(truncated?)',
    call: (c) => SharedHeap.attach(copyOf(c.heap, undefined, c.heap.buffer.byteLength >>> 1)),
  },
  {
    name: 'attach of a heap one page short',
    kind: 'truncated',
    error: InvalidHeapError,
    message: 'the heap needs',
    call: (c) => SharedHeap.attach(copyOf(c.heap, undefined, c.heap.buffer.byteLength - c.heap.layout.pageSize)),
  },
  // ---- wrong layout version, magic, geometry
  { name: 'attach of a heap with a newer layout version', kind: 'version', error: InvalidHeapError, message: `layout version ${LAYOUT_VERSION + 1} (this sabmalloc reads version ${LAYOUT_VERSION})`, call: (c) => SharedHeap.attach(copyOf(c.heap, (w) => (w[H.VERSION] = LAYOUT_VERSION + 1))) },
  { name: 'attach of a heap with a wrong magic number', kind: 'version', error: InvalidHeapError, message: 'no sabmalloc magic number', call: (c) => SharedHeap.attach(copyOf(c.heap, (w) => (w[H.MAGIC] = MAGIC ^ 0x100))) },
  { name: 'attach of a heap whose page size was patched', kind: 'version', error: InvalidHeapError, message: 'page size / size-class geometry in the header does not match', call: (c) => SharedHeap.attach(copyOf(c.heap, (w) => (w[H.PAGE_SIZE] = 16384))) },
  { name: 'attach of a heap whose region offsets were patched', kind: 'version', error: InvalidHeapError, message: 'region offset shadow does not match the geometry', call: (c) => SharedHeap.attach(copyOf(c.heap, (w) => (w[H.SHADOW_OFF] += 64))) },
  // ---- bad options
  { name: 'create without options', kind: 'options', error: TypeError, message: 'SharedHeap.create needs an options object', call: () => SharedHeap.create(undefined as unknown as { size: number }) },
  { name: 'create with a page size that is not a power of two', kind: 'options', error: RangeError, message: 'pageSize must be a power of two from 4096 to 65536, got 12288', call: () => SharedHeap.create({ size: 8 * MiB, pageSize: 12288 }) },
  { name: 'create with a heap below 1 MiB', kind: 'options', error: RangeError, message: 'size must be an integer from 1 MiB to 4 GiB, got 65536', call: () => SharedHeap.create({ size: 65536 }) },
  { name: 'create with maxSize below size', kind: 'options', error: RangeError, message: 'maxSize must be an integer from size', call: () => SharedHeap.create({ size: 8 * MiB, maxSize: 4 * MiB }) },
  { name: 'create with maxThreads 0', kind: 'options', error: RangeError, message: 'maxThreads must be an integer from 1 to 4096, got 0', call: () => SharedHeap.create({ size: 2 * MiB, maxThreads: 0 }) },
  { name: 'create with an unknown lock kind', kind: 'options', error: RangeError, message: 'unknown lock kind spinny', call: () => SharedHeap.create({ size: 2 * MiB, locks: { central: 'spinny' as 'tas' } }) },
  // ---- handle and heap state
  {
    name: 'malloc on a detached handle',
    kind: 'state',
    error: DetachedHeapError,
    message: 'this heap handle has been detached',
    call: (c) => {
      const twin = SharedHeap.attach(copyOf(c.heap));
      twin.detach();
      return twin.malloc(16);
    },
  },
  {
    name: 'attach to a heap whose thread slots are all taken',
    kind: 'state',
    error: TooManyThreadsError,
    message: 'all 1 thread slots of this heap are attached',
    call: () => {
      const one = SharedHeap.create({ size: 2 * MiB, maxThreads: 1 });
      // A byte copy is a heap of its own whose only slot is (copied as) attached.
      const sab = new SharedArrayBuffer(one.buffer.byteLength);
      new Uint8Array(sab).set(new Uint8Array(one.buffer));
      one.detach();
      return SharedHeap.attach(sab);
    },
  },
  { name: 'recover of the calling thread itself', kind: 'state', error: RangeError, message: 'a thread cannot recover itself', call: async (c) => c.heap.recover((await import('node:worker_threads')).threadId) },
];

/** Writes a recognisable pattern over a block (word 0 = p / 16, then a byte from p). */
function stamp(heap: SharedHeap, p: number): void {
  const n = heap.usableSize(p);
  new Uint32Array(heap.buffer, p, 1)[0] = p / 16;
  new Uint8Array(heap.buffer, p + 4, n - 4).fill((p >>> 4) % 251 + 1);
}

function intact(heap: SharedHeap, p: number): boolean {
  const n = heap.usableSize(p);
  const b = (p >>> 4) % 251 + 1;
  return new Uint32Array(heap.buffer, p, 1)[0] === p / 16 && Buffer.from(heap.buffer, p + 4, n - 4).equals(Buffer.alloc(n - 4, b));
}

/** check(), the witnesses intact, and every kind of allocation still served correctly. */
function expectService(c: Ctx): void {
  const { heap } = c;
  heap.check();
  for (const p of c.witnesses) expect(intact(heap, p), `witness ${p}`).toBe(true);
  const fresh = [1, 16, 100, 1000, 5000, 40 * KiB, 300 * KiB, 1200 * KiB].map((n) => heap.malloc(n));
  expect(new Set(fresh).size).toBe(fresh.length);
  for (const p of fresh) stamp(heap, p);
  for (const p of fresh) expect(intact(heap, p)).toBe(true);
  const z = heap.calloc(100, 10);
  expect(Buffer.from(heap.buffer, z, 1000).equals(Buffer.alloc(1000))).toBe(true);
  const r = heap.realloc(fresh[3]!, 9000);
  expect(new Uint32Array(heap.buffer, r, 1)[0], 'realloc kept the contents').toBe(fresh[3]! / 16);
  for (const p of [...fresh.filter((_, i) => i !== 3), r, z]) heap.free(p);
  heap.check();
}

describe('bad-input catalogue', () => {
  let pool: Piscina<ProbeTask, ProbeResult>;
  let ctx: Ctx;

  beforeAll(() => {
    pool = new Piscina({ filename: stressOpsWorker().href, minThreads: 1, maxThreads: 1, idleTimeout: 60_000, execArgv: [...POOL_EXEC_ARGV] });
  });
  afterAll(async () => {
    await pool.destroy();
  });

  function fresh(): Ctx {
    // Growable to 32 MiB, so "larger than the heap can ever be" is about maxSize. Four thread
    // slots (this thread, the probe worker, room to spare): create() and check() visit every
    // slot, and every case builds a fresh heap.
    const heap = SharedHeap.create({ size: 8 * MiB, maxSize: 32 * MiB, maxThreads: 4 });
    const witnesses = [32, 700, 20 * KiB, 400 * KiB].map((n) => heap.malloc(n));
    for (const p of witnesses) stamp(heap, p);
    const remote = (t: Omit<ProbeTask, 'buffer'>): Promise<ProbeResult> =>
      withTimeout(pool.run({ ...t, buffer: heap.buffer }, { name: 'probe' }), 30_000, `probe ${t.op}`);
    return { heap, witnesses, remote };
  }

  it('has at least 25 distinct bad calls covering every kind', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(25);
    expect(new Set(CASES.map((c) => c.kind))).toEqual(
      new Set(['type', 'range', 'misaligned', 'interior', 'freed', 'double', 'foreign', 'truncated', 'version', 'options', 'state']),
    );
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    ctx = fresh();
    let thrown: unknown;
    let returned: unknown;
    try {
      returned = await c.call(ctx);
    } catch (e) {
      thrown = e;
    }
    if (returned !== null && typeof returned === 'object' && 'threadId' in returned && 'ok' in returned) {
      // The call ran on another worker: compare by class name and code.
      const r = returned as ProbeResult;
      expect(r.ok, 'the remote call failed').toBe(false);
      expect(r.name).toBe(c.error.name);
      expect(r.message).toContain(c.message);
      expect(r.code).toMatch(/^ERR_SABMALLOC_/);
    } else {
      expect(thrown, `${c.name}: expected ${c.error.name}, the call returned ${String(returned)}`).toBeDefined();
      expect(thrown).toBeInstanceOf(c.error);
      expect((thrown as Error).message).toContain(c.message);
      if (thrown instanceof SabmallocError) expect(thrown.code).toMatch(/^ERR_SABMALLOC_/);
    }
    expectService(ctx);
    ctx.heap.detach();
  }, 60_000);
});
