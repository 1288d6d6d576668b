/**
 * Plain worker_threads entry for the lock tests: runs `hammer` once with the task passed
 * as workerData and posts the HammerResult back.
 *
 * Owns: nothing beyond its run. Invariants and descheduling behaviour: see lock-hammer.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hammer, type HammerTask } from './lock-hammer.js';

parentPort!.postMessage(hammer(workerData as HammerTask));
