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
import { attachAdapter, isAdapterFamilyLoaded, loadAdapterFamily } from '../bench/contention/adapters/attach.js';
import { ensureAllocatorModule, isAllocatorModuleLoaded } from '../bench/contention/adapters/module.js';
import { AbortedError, abortRun, controlViews } from '../bench/kit/control.js';
import { RAND_MASK, fillRandom, setTouchMode, workloadContext, type WorkerOutcome, type WorkerTask, type WorkloadContext } from '../bench/contention/workloads/common.js';
import { workloadByName } from '../bench/contention/workloads/index.js';
import { SampledAdapter } from '../bench/contention/latency.js';
import { superviseMleak } from '../bench/contention/workloads/mleak-supervisor.js';

/** The workloads that start worker_threads of their own (WorkloadDef.nodeOnly): run asynchronously. */
const NODE_RUNNERS: Record<string, (ctx: WorkloadContext) => Promise<WorkerOutcome>> = { mleak: superviseMleak };

let randSeed = -1;
const rand = new Uint32Array(RAND_MASK + 1);

export default function runTask(task: WorkerTask): WorkerOutcome | Promise<WorkerOutcome> {
  // A user's allocator module, and the adapter of a family other than sabmalloc, is imported
  // on this thread's first task of it (async once); every other task takes the synchronous path.
  const url = task.allocator.module;
  const family = task.allocator.family;
  if ((url !== undefined && !isAllocatorModuleLoaded(url)) || !isAdapterFamilyLoaded(family)) {
    const load = async (): Promise<void> => {
      if (url !== undefined) await ensureAllocatorModule(url);
      await loadAdapterFamily(family);
    };
    return load().then(
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
    adapter = attachAdapter(task.allocator, task.heap, task.worker, task.wasmMemory);
    const sampled = task.latencyEvery ? new SampledAdapter(adapter, task.latencyEvery) : null;
    if (sampled) adapter = sampled;
    const ctx = workloadContext(task, adapter, ctl, rand);
    const nodeRunner = NODE_RUNNERS[def.name];
    if (nodeRunner) {
      const attached = adapter;
      adapter = undefined; // detached when the asynchronous run settles, not on return
      return nodeRunner(ctx).then(
        (out) => {
          if (sampled) out.latency = sampled.histograms();
          attached.detach();
          return out;
        },
        (err: unknown) => {
          attached.detach();
          throw failed(ctl, task, err);
        },
      );
    }
    const out = def.run(ctx);
    if (sampled) out.latency = sampled.histograms();
    return out;
  } catch (err) {
    throw failed(ctl, task, err);
  } finally {
    adapter?.detach();
  }
}

/** Aborts the run (the other workers stop) and names the failing worker in the error. */
function failed(ctl: ReturnType<typeof controlViews>, task: WorkerTask, err: unknown): unknown {
  abortRun(ctl);
  if (err instanceof AbortedError) return err;
  const where = `[${task.workload} / ${task.allocator.id} / worker ${task.worker} of ${task.workers}]`;
  // A plain Error: what reaches the main thread is a structured clone, which keeps an
  // Error's message and stack but not a subclass or its own fields.
  const e = new Error(`${where} ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  if (err instanceof Error && err.stack !== undefined) e.stack = `Error: ${e.message}\n${err.stack.slice(err.stack.indexOf('\n') + 1)}`;
  return e;
}
