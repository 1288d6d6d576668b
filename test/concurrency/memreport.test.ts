/**
 * memoryReport() adds up: on random workloads of several workers (small and large blocks,
 * reallocs, remote-free-free), at quiescence (every worker attached and idle between rounds),
 * the parts sum to committedBytes exactly, the blocks the application holds are exactly
 * what the workers say they hold, and the PageHeap part agrees with a walk of the free
 * span lists; once with the thread caches as the rounds left them (full), once after every
 * thread gave its cache back (empty).
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedHeap, type MemoryReport } from '../../src/index.js';
import type { MemReportCommand, MemReportHeld } from '../fixtures/memreport-worker.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const WORKER_URL = fixtureUrl('memreport-worker');
const MiB = 2 ** 20;

let workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
  workers = [];
});

function ask(w: Worker, m: MemReportCommand): Promise<MemReportHeld> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage(m);
  });
}

async function everyone(m: (i: number) => MemReportCommand): Promise<MemReportHeld> {
  const held = await Promise.all(workers.map((w, i) => ask(w, m(i))));
  return held.reduce((a, h) => ({ usable: a.usable + h.usable, requested: a.requested + h.requested, blocks: a.blocks + h.blocks }), { usable: 0, requested: 0, blocks: 0 });
}

function expectAddsUp(heap: SharedHeap, r: MemoryReport, held: MemReportHeld): void {
  const s = heap.stats();
  const parts =
    r.allocatedBytes + r.spanTailBytes + r.threadCacheBytes + r.transferCacheBytes + r.centralCacheBytes + r.pageHeapFreeBytes + r.metadataBytes;
  expect(parts, JSON.stringify(r)).toBe(r.committedBytes);
  expect(r.unaccountedBytes).toBe(0);
  expect(r.committedBytes).toBe(s.committedBytes);
  expect(r.metadataBytes).toBe(s.metadataBytes);
  expect(Object.values(r.metadata).reduce((a, b) => a + b, 0)).toBe(r.metadataBytes);
  expect(r.touchedBytes + r.metadataBytes).toBe(r.committedBytes);
  // The application's blocks: what the workers hold (usableSize), nothing else.
  expect(r.allocatedBytes).toBe(held.usable);
  expect(r.liveBytes).toBe(held.requested);
  expect(r.sizeClassRoundingBytes).toBe(held.usable - held.requested);
  // The PageHeap part against its free lists, walked: every free page minus those above the mark.
  const walked = s.pageHeapFreeSpans.reduce((a, f) => a + f.pages * f.count, 0) * s.pageSize;
  expect(r.pageHeapFreeBytes).toBe(walked - (s.heapBytes - s.touchedBytes));
  expect(r.releasableBytes).toBe(r.pageHeapFreeBytes);
  expect(r.releasableBytes % 4096).toBe(0);
  for (const v of [r.spanTailBytes, r.threadCacheBytes, r.transferCacheBytes, r.centralCacheBytes, r.pageHeapFreeBytes]) expect(v).toBeGreaterThanOrEqual(0);
}

describe('memoryReport() at quiescence, several workers', () => {
  it.each([1, 2, 3])('parts sum to committedBytes exactly, caches full and empty (seed %i)', async (seed) => {
    const heap = SharedHeap.create({ size: 8 * MiB, maxSize: 256 * MiB, maxThreads: 8 });
    workers = Array.from({ length: 4 }, () => new Worker(WORKER_URL, { workerData: heap.buffer }));
    let sawFullCaches = false;
    for (let round = 0; round < 4; round++) {
      const held = await everyone((i) => ({ op: 'round', seed: seed * 1000 + round * 10 + i + 1, ops: 3000 }));
      const full = heap.memoryReport({ requestedBytes: held.requested });
      expectAddsUp(heap, full, held);
      if (full.threadCacheBytes > 0) sawFullCaches = true;
      heap.check();
    }
    expect(sawFullCaches, 'the rounds left objects in some thread cache').toBe(true);
    const held = await everyone(() => ({ op: 'flush' }));
    heap.releaseCachedMemory();
    const empty = heap.memoryReport({ requestedBytes: held.requested });
    expectAddsUp(heap, empty, held);
    expect(empty.threadCacheBytes).toBe(0);
    expect(empty.transferCacheBytes).toBe(0);
    await Promise.all(workers.map((w) => new Promise((r) => {
      w.once('exit', r);
      w.postMessage({ op: 'end' } satisfies MemReportCommand);
    })));
    workers = [];
    const end = heap.memoryReport();
    expect(end.allocatedBytes).toBe(0);
    expect(end.unaccountedBytes).toBe(0);
    heap.check();
  });

  it('without a requested count, live is the usable bytes and rounding 0', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const p = heap.malloc(100);
    const q = heap.malloc(300 * 1024);
    const r = heap.memoryReport();
    expect(r.allocatedBytes).toBe(heap.usableSize(p) + heap.usableSize(q));
    expect(r.liveBytes).toBe(r.allocatedBytes);
    expect(r.sizeClassRoundingBytes).toBe(0);
    expect(r.unaccountedBytes).toBe(0);
    heap.free(p);
    heap.free(q);
  });
});
