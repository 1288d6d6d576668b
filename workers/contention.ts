/**
 * Piscina worker of the contention suite (bench/contention): runs one worker's share of
 * one run of one workload against one allocator, and returns its counts.
 *
 * Owns: nothing between tasks but its random table cache. Each task attaches an adapter
 * to the run's heap, runs the workload (set-up, start barrier, timed loop, end barrier,
 * cleanup) and detaches in `finally`.
 *
 * Invariants: any failure (verification, allocator error, barrier time-out) marks the
 * run aborted in the control block before the task rejects, so the run's other workers
 * stop at their next check instead of waiting for this one forever.
 */
import { attachAdapter } from '../bench/contention/adapters/index.js';
import { ensureAllocatorModule, isAllocatorModuleLoaded } from '../bench/contention/adapters/module.js';
import { AbortedError, abortRun, controlViews } from '../bench/kit/control.js';
import { RAND_MASK, fillRandom, setTouchMode, type WorkerOutcome, type WorkerTask } from '../bench/contention/workloads/common.js';
import { workloadByName } from '../bench/contention/workloads/index.js';

let randSeed = -1;
const rand = new Uint32Array(RAND_MASK + 1);

export default function runTask(task: WorkerTask): WorkerOutcome | Promise<WorkerOutcome> {
  // A user's allocator module is imported on this thread's first task of it (async once);
  // every other task, and every built-in allocator, takes the synchronous path.
  const url = task.allocator.module;
  if (url !== undefined && !isAllocatorModuleLoaded(url)) {
    return ensureAllocatorModule(url).then(
      () => runTask(task),
      (err: unknown) => {
        abortRun(controlViews(task.ctl)); // the run's other workers stop instead of waiting
        throw err;
      },
    );
  }
  const ctl = controlViews(task.ctl);
  let adapter;
  try {
    const def = workloadByName(task.workload);
    setTouchMode(task.touch);
    const seed = (task.seed * 65_537 + task.worker) | 0;
    if (seed !== randSeed) {
      fillRandom(rand, seed);
      randSeed = seed;
    }
    adapter = attachAdapter(task.allocator, task.heap, task.worker);
    return def.run({
      task,
      adapter,
      ctl,
      data: new Int32Array(task.data),
      rand,
      worker: task.worker,
      workers: task.workers,
      params: task.params,
    });
  } catch (err) {
    abortRun(ctl);
    if (err instanceof AbortedError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `[${task.workload} / ${task.allocator.id} / worker ${task.worker} of ${task.workers}] ${e.message}`;
    throw e;
  } finally {
    adapter?.detach();
  }
}
