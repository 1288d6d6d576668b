/**
 * A thread's slot belongs to the thread, not to the handle object: one worker (gc() exposed
 * to it) goes through 100 rounds of attach / use / drop the handle / gc() / attach
 * on a maxThreads: 4 heap (the main thread holds a slot too) and never holds more than one
 * slot, whether the dropped handle's finalizer ran before the next attach or not. Then
 * the heap is whole: nothing in use, check() passes, the worker's cache came back.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SharedHeap } from '../../src/index.js';
import type { AttachGcResult } from '../fixtures/attach-gc-worker.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const WORKER_URL = fixtureUrl('attach-gc-worker');
const CYCLES = 100;

function runWorker(buffer: SharedArrayBuffer): Promise<AttachGcResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_URL, { workerData: { buffer, cycles: CYCLES } });
    w.once('message', (m: AttachGcResult) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`attach-gc worker exited with ${code} before replying`)));
  });
}

describe('attach after the handle was collected', () => {
  it(`${CYCLES} attach / drop / gc / attach cycles in one thread hold at most one slot`, async () => {
    const heap = SharedHeap.create({ size: 4 << 20, maxThreads: 4 });
    try {
      const r = await runWorker(heap.buffer);
      expect(r.error, JSON.stringify(r)).toBeUndefined();
      expect(r.collected, 'handles were really collected').toBeGreaterThan(CYCLES / 2);
      expect(r.maxSlots, 'slots naming the worker at once').toBe(1);
      const s = heap.stats();
      expect(s.attachedThreads).toBe(1);
      expect(s.inUseObjects).toBe(0);
      heap.check();
    } finally {
      heap.detach();
    }
  });
});
