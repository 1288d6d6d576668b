/**
 * Worker of the user-access benchmark (bench/micro/user-access.ts): what a user's worker does
 * with heap memory, timed.
 *
 * Owns: its own blocks (4,096 of 64 bytes: malloc'd from the heap, or fixed offsets in its
 * own part of a plain buffer) and one word of the control buffer. Each round bumps one
 * byte of each block. The loop first runs untimed for `warmMs` (this isolate compiles it
 * itself: a cold window would measure the JIT), then the worker waits at the barrier and
 * counts rounds for `timeMs`.
 *
 * Access ways (`mode`):
 * - view: one `new Uint8Array(buffer)` taken in the worker, indexed by pointer (the
 *   README's way; over a plain buffer, the baseline);
 * - typed: one heap.mallocAs('u8', 64) view per block, element 0 bumped.
 * Each way has its own loop literal, so the two never share type feedback.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { SharedHeap } from '../src/index.js';

import { BLOCKS, BLOCK_BYTES, PLAIN_BASE, type UserAccessTask } from '../bench/micro/user-access-task.js';

let sink = 0;

function bumpView(u8: Uint8Array, ptrs: Uint32Array, rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < ptrs.length; i++) u8[ptrs[i]!]!++;
  }
}

function bumpTyped(views: Uint8Array[], rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < views.length; i++) views[i]![0]!++;
  }
}

/** Runs `step(rounds)` until `ms` have passed; returns [rounds done, elapsed ms]. */
function runFor(ms: number, step: (rounds: number) => void): [number, number] {
  const t0 = performance.now();
  let rounds = 0;
  let now = t0;
  while (now - t0 < ms) {
    step(16);
    rounds += 16;
    now = performance.now();
  }
  return [rounds, now - t0];
}

function main(task: UserAccessTask): void {
  const ctl = new Int32Array(task.control);
  const heap = task.heap ? SharedHeap.attach(task.buffer) : null;
  const ptrs = new Uint32Array(BLOCKS);
  const views: Uint8Array[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    if (heap === null) ptrs[i] = PLAIN_BASE + (task.index * BLOCKS + i) * BLOCK_BYTES;
    else if (task.mode === 'typed') views.push(heap.mallocAs('u8', BLOCK_BYTES));
    else ptrs[i] = heap.malloc(BLOCK_BYTES);
  }
  const u8 = new Uint8Array(task.buffer); // the README's way
  const step =
    task.mode === 'typed' ? (rounds: number): void => bumpTyped(views, rounds) : (rounds: number): void => bumpView(u8, ptrs, rounds);
  runFor(task.warmMs, step); // warm-up, untimed
  Atomics.add(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  Atomics.wait(ctl, 1, 0);
  const [rounds, ms] = runFor(task.timeMs, step);
  for (let i = 0; i < BLOCKS; i++) sink += task.mode === 'typed' ? views[i]![0]! : u8[ptrs[i]!]!;
  if (heap !== null) {
    for (let i = 0; i < BLOCKS; i++) heap.free(task.mode === 'typed' ? views[i]!.byteOffset : ptrs[i]!);
    heap.detach();
  }
  parentPort!.postMessage({ accesses: rounds * BLOCKS, ms, sink });
}

main(workerData as UserAccessTask);
