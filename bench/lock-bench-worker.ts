/**
 * Piscina task module of the lock benchmark: one task = one worker hammering the lock
 * until the coordinator sets STOP (see workers/lock-hammer.ts for the shared layout).
 *
 * Owns: nothing. A pool thread runs one task at a time (concurrentTasksPerWorker = 1),
 * so N tasks in flight are N threads contending; they start together at the barrier.
 */
import { hammer, type HammerResult, type HammerTask } from '../workers/lock-hammer.js';

export default function lockBenchTask(task: HammerTask): HammerResult {
  return hammer(task);
}
