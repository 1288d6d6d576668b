/**
 * Plain worker_threads worker for the misuse tests (concurrent check(), recover() of a live
 * or dead thread). Runs compiled from dist/workers/misuse-worker.js; workerData chooses:
 *
 * - `watchdog`: attaches and calls check({ quiescent: false }) in a loop until the stop
 *   word (Int32 0 of `control`) becomes 1; posts { checks, errors }, detaches.
 * - `hold`: attaches, posts { threadId, slot }, then sleeps on the stop word; when woken
 *   with 1 it allocates and frees once (its slot must still be its own), posts
 *   { ok, error? } and detaches. With `exitAttached` it exits without detaching instead.
 *
 * - `attachLoop`: posts 'ready', then attaches, allocates, frees and detaches in a loop
 *   until killed (the test terminates it at a random moment: inside attach or detach).
 *
 * A plain Worker (not a pool) so the test owns terminate() and the Worker object.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { SharedHeap } from '../src/index.js';

export interface MisuseWorkerData {
  mode: 'watchdog' | 'hold' | 'attachLoop';
  buffer: SharedArrayBuffer;
  control: SharedArrayBuffer;
  exitAttached?: boolean;
}

const d = workerData as MisuseWorkerData;
const stop = new Int32Array(d.control);
if (d.mode === 'attachLoop') {
  parentPort!.postMessage('ready');
  for (;;) {
    const h = SharedHeap.attach(d.buffer);
    h.free(h.malloc(64));
    h.detach();
  }
}
const heap = SharedHeap.attach(d.buffer);

if (d.mode === 'watchdog') {
  let checks = 0;
  const errors: string[] = [];
  while (Atomics.load(stop, 0) !== 1) {
    try {
      heap.check({ quiescent: false });
    } catch (e) {
      errors.push((e as Error).message);
      if (errors.length >= 5) break;
    }
    checks++;
  }
  heap.detach();
  parentPort!.postMessage({ checks, errors });
} else {
  parentPort!.postMessage({ threadId, slot: heap.threadSlot });
  while (Atomics.load(stop, 0) !== 1) Atomics.wait(stop, 0, 0, 1000);
  if (d.exitAttached) process.exit(0);
  let result: { ok: boolean; error?: string };
  try {
    const p = heap.malloc(100);
    new Uint8Array(d.buffer).fill(7, p, p + 100);
    heap.free(p);
    heap.check({ quiescent: false });
    heap.detach();
    result = { ok: true };
  } catch (e) {
    result = { ok: false, error: (e as Error).message };
  }
  parentPort!.postMessage(result);
}
