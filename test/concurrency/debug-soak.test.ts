/**
 * A debug heap under several workers (test/fixtures/debug-soak-worker.ts): mixed
 * malloc/free/realloc with stamped blocks and frees handed to other workers. No
 * HeapCorruptionError (a false use-after-free came from the depth-word check once a
 * fetch's budget check had given back part of the list), every stamp intact, and once
 * every worker freed all it owned and detached, nothing is in use and check() passes.
 *
 * Knobs (the defaults are what the suite runs, a few seconds): DEBUG_SOAK_OPS=n per
 * worker (6000), DEBUG_SOAK_RUNS=n runs in a row (2), DEBUG_SOAK_WORKERS=n (4),
 * DEBUG_SOAK_SEED=n (first run's seed). The long form:
 *   DEBUG_SOAK_OPS=600000 DEBUG_SOAK_RUNS=10 npx vitest run test/concurrency/debug-soak.test.ts
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SharedHeap } from '../../src/index.js';
import type { SoakData, SoakResult } from '../fixtures/debug-soak-worker.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const OPS = Number(process.env.DEBUG_SOAK_OPS ?? 6000);
const RUNS = Number(process.env.DEBUG_SOAK_RUNS ?? 2);
const WORKERS = Number(process.env.DEBUG_SOAK_WORKERS ?? 4);
const SEED = Number(process.env.DEBUG_SOAK_SEED ?? 0x5eed);
const WORKER_URL = fixtureUrl('debug-soak-worker');
const MiB = 1024 * 1024;

function runWorker(data: SoakData): Promise<SoakResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_URL, { workerData: data });
    w.once('message', (m: SoakResult) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`soak worker ${data.index} exited with ${code} before replying`)));
  });
}

describe('debug heap soak', () => {
  for (let run = 0; run < RUNS; run++) {
    const seed = SEED + run * 7919;
    it(`${WORKERS} workers x ${OPS} mixed ops, seed ${seed}: no corruption, nothing in use at the end`, async () => {
      const heap = SharedHeap.create({ size: 64 * MiB, maxSize: 512 * MiB, debug: true, maxThreads: WORKERS + 1 });
      const control = new SharedArrayBuffer(8 * WORKERS);
      const results = await Promise.all(
        Array.from({ length: WORKERS }, (_, index) =>
          runWorker({ buffer: heap.buffer, control, index, workers: WORKERS, ops: OPS, seed: seed + index, maxLive: 400 }),
        ),
      );
      const errors = results.map((r, k) => (r.error === undefined ? '' : `worker ${k}: ${r.error}`)).filter((e) => e !== '');
      expect(errors).toEqual([]);
      expect(results.map((r) => r.ops)).toEqual(results.map(() => OPS));
      if (WORKERS > 1) expect(results.reduce((n, r) => n + r.remoteFrees, 0), 'frees were handed over').toBeGreaterThan(0);
      expect(results.reduce((n, r) => n + r.reallocs, 0), 'reallocs ran').toBeGreaterThan(0);
      const s = heap.stats();
      expect(s.attachedThreads).toBe(1);
      expect(s.inUseObjects, 'inUseObjects once every worker freed all it had').toBe(0);
      expect(s.inUseBytes).toBe(0);
      heap.check();
      heap.detach();
    }, Math.max(120_000, OPS * 3));
  }
});
