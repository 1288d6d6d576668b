/**
 * Plain worker_threads entry for the lock tests and the dead-thread scenarios
 * (bench/locks/threads.ts starts it). Given a HammerTask as workerData it runs `hammer`
 * once and posts the HammerResult back (a thread to kill, or one run). Given
 * `{ serve: true }` it is a pooled thread: each message is a HammerTask, answered with its
 * HammerResult, one at a time, until the thread is terminated.
 *
 * Owns: nothing beyond the task it runs. Invariants and descheduling behaviour: see bench/locks/hammer.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hammer, type HammerTask } from '../bench/locks/hammer.js';

const port = parentPort!;
if ((workerData as { serve?: boolean }).serve) port.on('message', (task: HammerTask) => port.postMessage(hammer(task)));
else port.postMessage(hammer(workerData as HammerTask));
