/**
 * Piscina task for test/pool.test.ts: attaches to the heap, leaves objects in its thread
 * cache and a block allocated, then dies the way it is told to (never detaching).
 */
import { SharedHeap } from '../src/index.js';

export interface ProbeTask {
  buffer: SharedArrayBuffer;
  death: 'exit' | 'throw' | 'hang';
  /** Int32 word 0 set to 1 once the thread cache holds objects (the test then kills us). */
  ready: SharedArrayBuffer;
}

export default function probe(task: ProbeTask): Promise<number> | number {
  const heap = SharedHeap.attach(task.buffer);
  const keep = heap.malloc(100); // stays allocated: owned by nobody after the death
  for (let i = 0; i < 50; i++) heap.free(heap.malloc(64)); // objects in its thread cache
  Atomics.store(new Int32Array(task.ready), 0, 1);
  if (task.death === 'exit') process.exit(3);
  if (task.death === 'throw') setTimeout(() => { throw new Error('worker dies'); }, 0);
  return new Promise<number>(() => void keep); // never settles: the pool destroys us
}
