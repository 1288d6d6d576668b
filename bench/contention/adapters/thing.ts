/**
 * `@thi.ng/malloc` behind one futex lock: the "npm allocator over an ArrayBuffer"
 * baseline. MemPool keeps its whole state inside the buffer, so each thread wraps the same
 * SharedArrayBuffer in its own MemPool ({ skipInitialization: true }) and every call runs
 * under one futex lock (src/locks, createLock('futex')).
 *
 * Owns this buffer layout:
 *   [0, 64)        the lock block (LOCK_WORDS words)
 *   [64, 128)      float64 counters kept under the lock: live bytes, live blocks, peak top,
 *                  malloc and free counts
 *   [128, STATS)   one LockStat sink per owner id (owner 1 = main thread, worker w = w + 2)
 *   [POOL, end)    MemPool state (28 bytes) and its heap
 *
 * Invariants: every MemPool call and every counter update happens while holding the lock;
 * plain typed-array accesses inside it are ordered by the lock's Atomics. "Committed" is
 * the pool's high-water mark (MemPool.top - POOL), "live" the sum of the usable sizes
 * (block size - 8-byte header) of the blocks handed out.
 *
 * Not thread-safe by itself: MemPool.free walks the used list (O(live blocks)) and
 * compacts the free list on every free, which is why this baseline collapses as the live
 * set grows with the worker count.
 */
import { MemPool } from '@thi.ng/malloc';
import {
  LOCK_STAT_SLOTS,
  createLock,
  initLockBlock,
  summarizeLockStats,
  type Lock,
} from '../../../src/locks/index.js';
import type {
  AllocatorAdapter,
  AllocatorSnapshot,
  AllocatorSpec,
  HeapInstance,
  HeapSizing,
  MemorySample,
} from './types.js';

const LOCK_WORD = 0;
const COUNTERS_F64 = 64 / 8;
const C_LIVE_BYTES = COUNTERS_F64 + 0;
const C_LIVE_BLOCKS = COUNTERS_F64 + 1;
const C_PEAK_TOP = COUNTERS_F64 + 2;
const C_MALLOCS = COUNTERS_F64 + 3;
const C_FREES = COUNTERS_F64 + 4;
const STATS_F64 = 128 / 8;
/** owner ids 1..MAX_OWNERS; worker w uses w + 2 */
export const THING_MAX_OWNERS = 160;
const POOL_START = align(128 + THING_MAX_OWNERS * LOCK_STAT_SLOTS * 8, 64);
/** MemPool keeps `top`, its bump pointer, in state word 2 */
const STATE_TOP_WORD = POOL_START / 4 + 2;
const HEADER = 8;
/** MemPool's buffers are indexed with `>> 2`: keep them below 2 GiB */
const MAX_BUFFER = 2 ** 31 - 64 * 1024;

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function statsBase(ownerId: number): number {
  return STATS_F64 + (ownerId - 1) * LOCK_STAT_SLOTS;
}

export class ThingAdapter implements AllocatorAdapter {
  readonly buffer: SharedArrayBuffer;
  private readonly pool: MemPool;
  private readonly lock: Lock;
  private readonly f64: Float64Array;
  private readonly u32: Uint32Array;

  constructor(buffer: SharedArrayBuffer, ownerId: number) {
    if (ownerId < 1 || ownerId > THING_MAX_OWNERS) throw new RangeError(`thi.ng adapter: owner id ${ownerId} out of range`);
    this.buffer = buffer;
    this.f64 = new Float64Array(buffer, 0, POOL_START / 8);
    this.u32 = new Uint32Array(buffer);
    this.pool = new MemPool({ buf: buffer, start: POOL_START, skipInitialization: true });
    this.lock = createLock('futex', {
      i32: new Int32Array(buffer, 0, POOL_START / 4),
      word: LOCK_WORD,
      ownerId,
      stats: this.f64,
      statsBase: statsBase(ownerId),
    });
  }

  malloc(n: number): number {
    this.lock.lock();
    const p = this.pool.malloc(n);
    if (p !== 0) {
      const f = this.f64;
      f[C_LIVE_BYTES] += this.u32[(p - HEADER) >>> 2] - HEADER;
      f[C_LIVE_BLOCKS]++;
      f[C_MALLOCS]++;
      const top = this.u32[STATE_TOP_WORD];
      if (top > f[C_PEAK_TOP]) f[C_PEAK_TOP] = top;
    }
    this.lock.unlock();
    if (p === 0) throw new Error(`thi.ng MemPool out of memory allocating ${n} bytes (buffer ${this.buffer.byteLength} bytes)`);
    return p;
  }

  free(p: number): void {
    this.lock.lock();
    const size = this.u32[(p - HEADER) >>> 2] - HEADER;
    const ok = this.pool.free(p);
    if (ok) {
      const f = this.f64;
      f[C_LIVE_BYTES] -= size;
      f[C_LIVE_BLOCKS]--;
      f[C_FREES]++;
    }
    this.lock.unlock();
    if (!ok) throw new Error(`thi.ng MemPool: free of ${p} which is not a live block`);
  }

  /** The block's size from its header (the caller owns the block), as memory().live counts it. */
  usableSize(p: number): number {
    return this.u32[(p - HEADER) >>> 2] - HEADER;
  }

  detach(): void {
    // Nothing per thread to give back: the lock and the pool state live in the buffer.
  }

  memory(): MemorySample {
    return { committed: this.f64[C_PEAK_TOP] - POOL_START, live: this.f64[C_LIVE_BYTES], metadata: 0 };
  }

  snapshot(): AllocatorSnapshot {
    const bases: number[] = [];
    for (let id = 1; id <= THING_MAX_OWNERS; id++) bases.push(statsBase(id));
    const f = this.f64;
    return {
      locks: { global: { kind: 'futex', ...summarizeLockStats(f, bases) } },
      threadCacheHits: 0,
      threadCacheMisses: 0,
      mallocCount: f[C_MALLOCS],
      freeCount: f[C_FREES],
      committed: f[C_PEAK_TOP] - POOL_START,
      live: f[C_LIVE_BYTES],
      metadata: 0,
    };
  }

  /** Walks both lists under the lock: blocks inside the pool, no overlaps, counters agree. */
  check(): void {
    this.lock.lock();
    try {
      const u32 = this.u32;
      const top = u32[STATE_TOP_WORD];
      const end = u32[POOL_START / 4 + 3];
      if (top > end || end > this.buffer.byteLength) throw new Error(`thi.ng check: top ${top} / end ${end} out of range`);
      const blocks: Array<[number, number]> = [];
      let usedCount = 0;
      let usedBytes = 0;
      for (const [word, used] of [[POOL_START / 4, false], [POOL_START / 4 + 1, true]] as const) {
        let b = u32[word];
        let guard = 0;
        while (b !== 0) {
          const size = u32[b >>> 2];
          if (b < POOL_START || b + size > top || size < HEADER || size % 8 !== 0) {
            throw new Error(`thi.ng check: ${used ? 'used' : 'free'} block ${b} of size ${size} outside [${POOL_START}, ${top})`);
          }
          blocks.push([b, size]);
          if (used) {
            usedCount++;
            usedBytes += size - HEADER;
          }
          b = u32[(b >>> 2) + 1];
          if (++guard > 1e8) throw new Error('thi.ng check: list cycle');
        }
      }
      blocks.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < blocks.length; i++) {
        if (blocks[i - 1][0] + blocks[i - 1][1] > blocks[i][0]) {
          throw new Error(`thi.ng check: blocks ${blocks[i - 1][0]} and ${blocks[i][0]} overlap`);
        }
      }
      if (usedCount !== this.f64[C_LIVE_BLOCKS] || usedBytes !== this.f64[C_LIVE_BYTES]) {
        throw new Error(
          `thi.ng check: used list holds ${usedCount} blocks / ${usedBytes} B, counters say ${this.f64[C_LIVE_BLOCKS]} / ${this.f64[C_LIVE_BYTES]}`,
        );
      }
    } finally {
      this.lock.unlock();
    }
  }

  liveObjects(): number {
    return this.f64[C_LIVE_BLOCKS];
  }
}

/** Worker side: wraps an existing thi.ng heap buffer. */
export function attachThing(buffer: SharedArrayBuffer, workerIndex: number): ThingAdapter {
  return new ThingAdapter(buffer, workerIndex + 2);
}

/** Main side: a fixed-size buffer big enough for the run's live set and first-fit slack. */
export function createThingHeap(spec: AllocatorSpec, sizing: HeapSizing): HeapInstance {
  const bytes = Math.min(MAX_BUFFER, align(POOL_START + 32 * 2 ** 20 + sizing.liveBytes * 4, 65536));
  const buffer = new SharedArrayBuffer(bytes);
  initLockBlock(new Int32Array(buffer, 0, 16), LOCK_WORD);
  // Initialises MemPool's in-buffer state; later wrappers skip initialisation.
  new MemPool({ buf: buffer, start: POOL_START, align: 16 });
  const f64 = new Float64Array(buffer, 0, POOL_START / 8);
  f64[C_PEAK_TOP] = new Uint32Array(buffer)[STATE_TOP_WORD];
  const adapter = new ThingAdapter(buffer, 1);
  return {
    spec,
    buffer,
    adapter,
    check: () => adapter.check(),
    liveObjects: () => adapter.liveObjects(),
    cheapCleanup: true,
    dispose: () => undefined,
  };
}
