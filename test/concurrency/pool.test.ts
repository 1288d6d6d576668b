/**
 * The piscina helper recovers the heap from pool workers that die without detaching:
 * process.exit() inside a task, an uncaught exception, and a pool destroyed under a
 * running task (worker.terminate()).
 */
import { describe, expect, it } from 'vitest';
import { SharedHeap, type RecoveryReport } from '../../src/index.js';
import { createHeapPool } from '../../src/pool/heappool.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const WORKER = fixtureUrl('pool-probe').href;

function waitFor(cond: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - start > ms) reject(new Error('timed out waiting for recovery'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('createHeapPool', () => {
  for (const death of ['exit', 'throw', 'hang'] as const) {
    it(`recovers the heap when a worker dies by '${death}'`, async () => {
      const heap = SharedHeap.create({ size: 4 << 20 });
      const reports: RecoveryReport[] = [];
      const pool = createHeapPool(heap, { filename: WORKER, minThreads: 1, maxThreads: 1 }, { onRecovered: (r) => reports.push(r) });
      const ready = new SharedArrayBuffer(4);
      const run = pool.run({ buffer: heap.buffer, death, ready }).catch((e: unknown) => e);
      // Kill only once its cache holds objects (it may also have died already by then).
      await waitFor(() => Atomics.load(new Int32Array(ready), 0) === 1, 60_000);
      if (death === 'hang') await pool.destroy();
      await run;
      await waitFor(() => reports.some((r) => r.slots.length > 0), 60_000);
      const report = reports.find((r) => r.slots.length > 0)!;
      expect(report.cachedObjectsReturned, 'its thread cache came back').toBeGreaterThan(0);
      expect(heap.stats().attachedThreads).toBe(1);
      heap.check();
      expect(heap.stats().inUseObjects, 'the block it kept stays allocated').toBe(1);
      if (death !== 'hang') await pool.destroy();
    });
  }
});
