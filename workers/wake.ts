/**
 * Plain worker_threads entry of the wake micro-benchmark (`sabmalloc locks --wake`): one
 * waiter (bench/locks/wake-loop.ts) until the coordinator sets STOP; posts its count.
 *
 * Owns: nothing beyond its run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { wakeLoop, type WakeTask } from '../bench/locks/wake-loop.js';

parentPort!.postMessage(wakeLoop(workerData as WakeTask));
