/**
 * the xmalloc workload's batch queue must never drop a batch id.
 *
 * `npm start` once failed with "6272 objects still in use after every block was freed": not
 * an allocator leak (check() passed) but batches the workload itself lost. Its Vyukov
 * queue's push found the cell of its position still held by the previous lap's pop
 * (preempted between claiming and releasing it, 64 workers on 2 cores), took that for
 * "full", returned false, and the caller ignored it: the batch id and its objects were
 * gone. These tests build that exact interleaving by hand (the preempted pop is the test
 * claiming a position and not releasing it), so they fail deterministically on the old
 * push and need no luck with the scheduler.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { AbortedError, CTL_I32, abortRun, controlViews, createControl } from '../../bench/kit/control.js';
import { dequeue, enqueue } from '../../bench/contention/workloads/xmalloc.js';

const HDR = 32; // push position at HDR, pop position at HDR + 16 (the workload's FULL_Q)
const CELLS = 80;
const SLOTS = 16;
const MASK = SLOTS - 1;

/** An empty queue of SLOTS cells (cell k's sequence = k), as the workload's full queue starts. */
function emptyQueue(): Int32Array {
  const d = new Int32Array(new SharedArrayBuffer((CELLS + SLOTS * 2) * 4));
  for (let k = 0; k < SLOTS; k++) d[CELLS + k * 2] = k;
  return d;
}

/**
 * Leaves the queue as a pop preempted after its claim leaves it: position 0 (holding id 0)
 * is claimed but its cell is not released. Then one more id goes round so that the next
 * push lands on that cell: ids 2..15 are queued, id 1 is in the caller's hands (16 ids,
 * one per cell: the queue is not full, one cell is merely late).
 */
function queueWithPreemptedPop(ctl: Int32Array): Int32Array {
  const d = emptyQueue();
  enqueue(d, HDR, CELLS, MASK, 0, ctl);
  enqueue(d, HDR, CELLS, MASK, 1, ctl);
  // The preempted pop: it won position 0 and read id 0, then lost the core.
  expect(Atomics.compareExchange(d, HDR + 16, 0, 1)).toBe(0);
  expect(d[CELLS + 1]).toBe(0);
  expect(dequeue(d, HDR, CELLS, MASK)).toBe(1);
  for (let id = 2; id < SLOTS; id++) enqueue(d, HDR, CELLS, MASK, id, ctl);
  return d;
}

function drain(d: Int32Array): number[] {
  const out: number[] = [];
  for (let id = dequeue(d, HDR, CELLS, MASK); id >= 0; id = dequeue(d, HDR, CELLS, MASK)) out.push(id);
  return out;
}

describe('xmalloc batch queue', () => {
  it('a push that meets a cell still held by a preempted pop waits for it and loses no id', async () => {
    const ctl = controlViews(createControl()).i32;
    const d = queueWithPreemptedPop(ctl);
    // The preempted pop resumes in another thread a little later and releases its cell
    // (sequence = position + SLOTS), exactly as dequeue() does after its claim.
    const released = new Int32Array(new SharedArrayBuffer(4));
    const resumer = new Worker(
      `const { workerData: w } = require('node:worker_threads');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
       Atomics.store(w.released, 0, 1);
       Atomics.store(w.d, ${CELLS}, ${SLOTS});`,
      { eval: true, workerData: { d, released } },
    );
    const exited = new Promise((resolve) => resumer.once('exit', resolve));
    try {
      enqueue(d, HDR, CELLS, MASK, 1, ctl); // position 16: cell 0
      // Every id is accounted for: 2..15 and 1 in the queue, 0 with the resumed pop.
      expect(drain(d)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1]);
      // It can only have succeeded once the cell was released.
      expect(Atomics.load(released, 0)).toBe(1);
    } finally {
      await exited;
    }
  });

  it('a pop that never resumes (a dead worker) does not hang the push: the run abort ends the wait', () => {
    const views = controlViews(createControl());
    const d = queueWithPreemptedPop(views.i32);
    abortRun(views);
    expect(Atomics.load(views.i32, CTL_I32.abort)).toBe(1);
    expect(() => enqueue(d, HDR, CELLS, MASK, 1, views.i32)).toThrow(AbortedError);
    // Nothing was published: the queue still holds exactly ids 2..15.
    expect(drain(d)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });
});
