/**
 * A child of the mleak workload (bench/contention/workloads/mleak-supervisor.ts starts it,
 * one per slot at a time): attaches to the run's heap, takes over its slot's blocks, runs
 * the exchange loop (mleak-child.ts) and leaves the way its turn says: detach and return,
 * process.exit(), an uncaught throw, or not at all (the supervisor terminates it).
 *
 * Owns: its slot's words while it runs. Marks how it left (END_*) just before leaving, so
 * the supervisor can tell a planned exit from a failure.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { heapPicture } from '../src/index.js';
import { attachAdapter, loadAdapterFamily } from '../bench/contention/adapters/attach.js';
import { ensureAllocatorModule } from '../bench/contention/adapters/module.js';
import { controlViews } from '../bench/kit/control.js';
import { setTouchMode } from '../bench/contention/workloads/common.js';
import { Child, END_CLEAN, END_EXIT, END_THROW, PLANNED_THROW, S, slotBase, type ChildData, type MleakLayout } from '../bench/contention/workloads/mleak-child.js';

const cd = workerData as ChildData;
if (cd.allocator.module !== undefined) await ensureAllocatorModule(cd.allocator.module);
await loadAdapterFamily(cd.allocator.family);
setTouchMode(cd.touch);
const d = new Int32Array(cd.data);
const endWord = slotBase(cd.params as unknown as MleakLayout, cd.slot) + S.end;
const adapter = attachAdapter(cd.allocator, cd.heap, cd.index, cd.wasmMemory);
if (cd.allocator.family === 'sabmalloc') {
  const me = heapPicture(cd.heap).threads.find((t) => t.threadId === threadId);
  if (!me) throw new Error(`mleak child: thread ${threadId} attached but holds no slot`);
  d[slotBase(cd.params as unknown as MleakLayout, cd.slot) + S.base] = (me.taken + me.largeMallocs - me.largeFrees) | 0;
  Atomics.store(d, slotBase(cd.params as unknown as MleakLayout, cd.slot) + S.based, 1);
}
const child = new Child(adapter, d, cd);
child.adopt();
parentPort?.postMessage('running'); // the supervisor's kill timer starts now, within the loop
// exit and throw leave that way also when the run's STOP cut the life short: a window
// shorter than a child's start-up still sees them
child.run(controlViews(cd.ctl).i32);
if (cd.mode === 'clean' || cd.mode === 'terminate') {
  adapter.detach();
  Atomics.store(d, endWord, END_CLEAN);
} else if (cd.mode === 'exit') {
  Atomics.store(d, endWord, END_EXIT);
  process.exit(3);
} else {
  Atomics.store(d, endWord, END_THROW);
  throw new Error(PLANNED_THROW);
}
