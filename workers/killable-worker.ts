/**
 * A plain worker_threads worker around the stress loop (workers/stress-worker.ts), for the
 * killed-worker test: the test owns the Worker object, so it can terminate() it at any
 * moment, or ask it (StressTask.dieAtOp / dieHow) to die by an uncaught exception or by
 * process.exit(). Each message is one StressTask; the reply is its WorkCounts.
 * Runs compiled from dist/workers/killable-worker.js.
 */
import { parentPort } from 'node:worker_threads';
import { stress, type StressTask } from './stress-worker.js';

parentPort!.on('message', (task: StressTask) => {
  // An uncaught WorkerDeath thrown here ends the thread with an 'error' event.
  parentPort!.postMessage(stress(task));
});
