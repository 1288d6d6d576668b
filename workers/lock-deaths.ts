/**
 * Plain worker_threads entry for the lock tests: runs `hammer` once with the task passed
 * as workerData and posts the HammerResult back.
 *
 * Owns: nothing beyond its run. Invariants and descheduling behaviour: see bench/locks/hammer.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hammer, type HammerTask } from '../bench/locks/hammer.js';

parentPort!.postMessage(hammer(workerData as HammerTask));
