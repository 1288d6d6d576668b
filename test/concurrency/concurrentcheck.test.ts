/**
 * check({ quiescent: false }) as a watchdog: while workers churn
 * (mixed sizes, remote frees, large blocks) on a heap with each lock kind in both tiers, a
 * watchdog worker calls check() in a loop. It must never report the healthy heap (spans in
 * transit between tiers are not corruption) and must never deadlock (it holds one lock at a
 * time: an MCS lock cannot be held twice by one thread slot). And it must still find real
 * corruption, which the second part injects.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { Piscina } from 'piscina';
import { LOCK_KINDS, type LockKind } from '../../src/locks/index.js';
import { HeapCorruptionError, SharedHeap } from '../../src/index.js';
import { CC, centralWordOf, H, PH, SP } from '../../src/core/layout.js';
import { heapPool, withTimeout } from '../helpers/pool.js';
import type { TaskCounts } from '../fixtures/heap-worker.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const WORKER_URL = fixtureUrl('misuse-worker');
const MiB = 1 << 20;

interface WatchdogResult {
  /** check() calls made after the churn started */
  checks: number;
  errors: string[];
}

function until(cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = (): void => (cond() ? resolve() : void setTimeout(tick, 1));
    tick();
  });
}

// The two churn workers serve every case (attach at a task's start, detach at its end).
let pool: Piscina | undefined;
afterAll(async () => {
  await pool?.destroy();
});

async function churnWithWatchdog(options: Parameters<typeof SharedHeap.create>[0]): Promise<WatchdogResult> {
  const heap = SharedHeap.create(options);
  const slotCount = 64;
  const slotsPtr = heap.calloc(slotCount, 4);
  // Int32 0: stop the watchdog; Int32 1: the checks it has made so far.
  const control = new SharedArrayBuffer(8);
  const watchdog = new Worker(WORKER_URL, { workerData: { mode: 'watchdog', buffer: heap.buffer, control } });
  const result = new Promise<WatchdogResult>((resolve, reject) => {
    watchdog.once('message', resolve);
    watchdog.once('error', reject);
  });
  pool ??= heapPool(2);
  try {
    // The churn starts once the watchdog's checks run, so they overlap it however slowly
    // the watchdog thread starts on a loaded machine.
    await withTimeout(until(() => Atomics.load(new Int32Array(control), 1) > 0), 60_000, 'the watchdog\'s first check()');
    const before = Atomics.load(new Int32Array(control), 1);
    const tasks = [0, 1].map((k) =>
      pool!.run({ buffer: heap.buffer, slotsPtr, slotCount, ops: 1500, seed: 17 + k }, { name: 'churn' }) as Promise<TaskCounts>,
    );
    await withTimeout(Promise.all(tasks), 90_000, 'churn workers');
    Atomics.store(new Int32Array(control), 0, 1);
    const r = await withTimeout(result, 60_000, 'watchdog check() loop');
    // Free what is left in the exchange array, then the full quiescent check.
    const slots = new Int32Array(heap.buffer, slotsPtr, slotCount);
    for (let k = 0; k < slotCount; k++) if (slots[k] !== 0) heap.free(slots[k]! * 16);
    heap.free(slotsPtr);
    heap.check();
    return { checks: r.checks - before, errors: r.errors };
  } catch (e) {
    // A hung or failed churn must not hold the next case's workers.
    const stuck = pool;
    pool = undefined;
    await stuck?.destroy();
    throw e;
  } finally {
    Atomics.store(new Int32Array(control), 0, 1);
    await watchdog.terminate();
  }
}

describe('check({ quiescent: false }) while workers churn', () => {
  const kinds: LockKind[] = [...LOCK_KINDS];
  for (const kind of kinds) {
    it(`${kind} locks in both tiers: no false report, no deadlock`, async () => {
      const r = await churnWithWatchdog({ size: 16 * MiB, locks: { central: kind, pageHeap: kind } });
      expect(r.errors).toEqual([]);
      expect(r.checks).toBeGreaterThan(0);
    });
  }
  it('growable heap growing under the workers: no false report', async () => {
    const r = await churnWithWatchdog({ size: 1 * MiB, maxSize: 64 * MiB });
    expect(r.errors).toEqual([]);
    expect(r.checks).toBeGreaterThan(0);
  });
  it('globalLock heap: no false report', async () => {
    const r = await churnWithWatchdog({ size: 16 * MiB, globalLock: true });
    expect(r.errors).toEqual([]);
    expect(r.checks).toBeGreaterThan(0);
  });
});

describe('check({ quiescent: false }) still finds corruption', () => {
  function heapWithTraffic(): { heap: SharedHeap; i32: Int32Array; blocks: number[] } {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const blocks: number[] = [];
    for (let k = 0; k < 200; k++) blocks.push(heap.malloc(64));
    blocks.push(heap.malloc(300_000));
    // Free every other small block through the central tier so spans have free objects.
    for (let k = 0; k < 200; k += 2) heap.free(blocks[k]!);
    heap.releaseCachedMemory();
    heap.check({ quiescent: false });
    return { heap, i32: new Int32Array(heap.buffer), blocks };
  }
  const expectCorrupt = (heap: SharedHeap, why: RegExp): void => {
    let err: unknown;
    try {
      heap.check({ quiescent: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeapCorruptionError);
    expect((err as Error).message).toMatch(why);
  };
  const spanOf = (heap: SharedHeap, p: number): number => (p - heap.layout.pages) / heap.layout.pageSize | 0;
  const spanWord = (heap: SharedHeap, s: number, f: number): number => (heap.layout.spans >>> 2) + s * 8 + f;

  it('a span whose counts do not add up', () => {
    const { heap, i32, blocks } = heapWithTraffic();
    const s = spanOf(heap, blocks[1]!);
    i32[spanWord(heap, s, SP.IN_USE)]! += 1;
    expectCorrupt(heap, /in use/);
  });
  it('a block on a span free list that is also handed out', () => {
    const { heap, blocks } = heapWithTraffic();
    const shadow = new Uint8Array(heap.buffer, heap.layout.shadow);
    // blocks[0] was freed to its span: mark it allocated again (a lost free / double hand-out).
    shadow[(blocks[0]! - heap.layout.pages) >>> 4] = 1;
    expectCorrupt(heap, /not marked free|shadow state/);
  });
  it('a class counter that is off', () => {
    const { heap, i32, blocks } = heapWithTraffic();
    const cls = heap.sizeClasses.classOf[(64 + 15) >>> 4]!;
    const b = centralWordOf(heap.layout, cls);
    i32[b + CC.FREE_IN_SPANS]! += 3;
    void blocks;
    expectCorrupt(heap, /free objects in spans/);
  });
  it('a large block whose mark was wiped (not in transit)', () => {
    const { heap, blocks } = heapWithTraffic();
    const shadow = new Uint8Array(heap.buffer, heap.layout.shadow);
    shadow[(blocks[200]! - heap.layout.pages) >>> 4] = 0;
    expectCorrupt(heap, /large span .* not marked allocated/);
  });
  it('a PageHeap counter that is off', () => {
    const { heap, i32 } = heapWithTraffic();
    i32[(heap.layout.pageHeap >>> 2) + PH.FREE_PAGES]! -= 1;
    expectCorrupt(heap, /free pages/);
  });
});
