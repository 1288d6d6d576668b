/**
 * mleak: mimalloc-bench's mleak idea (threads created and terminated while they exchange
 * objects), scaled to a 2-core machine. Each of the run's n workers supervises one slot:
 * it starts a short-lived child worker_thread (workers/mleak.ts) that takes over the slot's
 * table of `slots` blocks, replaces them at random (16..1024 B), publishes `cross`% of the
 * blocks it retires in a shared mailbox of `cells` cells and frees blocks other children
 * published. The child then leaves, by turns: clean exit (detach), process.exit() or an
 * uncaught throw in the child, and worker.terminate() from the supervisor at a random
 * moment within `lifeMs`; a replacement is started at once and adopts the slot's blocks.
 * mimalloc-bench's mleak churns 1,000s of threads over minutes; here lives of `lifeOps`
 * iterations (or `lifeMs` ms before the kill), one child per worker at a time, and at
 * least `minLives` children per worker even when fewer fit in the window (a child started
 * after it leaves at once, by its turn's way; the tests use it so that every way of
 * leaving comes up on however loaded a machine).
 *
 * sabmalloc (every variant, global-lock included: recovery covers its one lock) is
 * recovered with recoverWhenExited(child); the supervisor settles the child's interrupted
 * operation from its intent log and the RecoveryReport (mleak-supervisor.ts): a free the
 * child had begun is finished (or found done: DoubleFreeError); a block whose malloc
 * returned but whose pointer was never stored is counted lost-on-kill (the run's end check
 * then expects exactly that many blocks still in use, give or take the mallocs killed
 * mid slow path, counted in doubt); every other block is freed by whoever receives it
 * (the replacement, or a receiver of its cell).
 * The real peers (zig-gpa, smo) and thing-futex have no recovery of a thread killed inside
 * their mutex (the lock stays taken): they run the clean-exit churn only.
 *
 * Metric: allocator calls per second of the children; `units` counts the children started
 * (workers created per second = units / seconds). The worker side needs worker_threads, so
 * the run is done by the Node contention worker (runAsync there), never in a browser.
 */
import { NEW_WORKLOAD_COUNTS } from './mixes.js';
import { CALLS_PER_SECOND, type WorkloadDef } from './common.js';
import { mleakDataWords, type MleakLayout } from './mleak-child.js';

export const mleak: WorkloadDef = {
  name: 'mleak',
  description: 'mleak: short-lived worker_threads exchange blocks and leave by detach, exit/throw or terminate(); replacements adopt the blocks (sabmalloc recovers the dead)',
  metric: CALLS_PER_SECOND,
  defaults: { slots: 64, cells: 256, minSize: 16, maxSize: 1024, cross: 25, lifeOps: 4000, lifeMs: 40, minLives: 0 },
  quick: { lifeOps: 2000, lifeMs: 25 },
  small: { slots: 16, cells: 32, lifeOps: 400, lifeMs: 15 },
  defaultWorkers: NEW_WORKLOAD_COUNTS,
  nodeOnly: true,
  // a child per worker attaches next to its supervisor
  attachedThreads: (workers) => 2 * workers,
  dataWords: (p, workers) => mleakDataWords(p as unknown as MleakLayout, workers),
  liveBytes: (p, workers) => (workers * p.slots + p.cells) * (p.maxSize + 16) * 2,
  rounds: () => 1,
  run: () => {
    throw new Error('mleak starts worker_threads: it runs in the Node contention worker only (workers/contention.ts)');
  },
};
