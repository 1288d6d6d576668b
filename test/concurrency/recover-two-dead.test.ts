/**
 * Two threads die attached; one of them holds a central lock that the other's recovery
 * needs (returning its cached blocks of that class). Recovering the other one first must
 * not wait forever for the dead holder: recover() releases the locks of every dead thread
 * in its way first (and says whose), the holder's own recover() then returns the rest, and
 * the heap checks out and serves that class again. Both orders, and with the page-heap
 * and central lock kinds that queue (ticket, mcs) as well as the default ones. Then two
 * recoverers at once (a barrier, then both recover), each for a thread blocked by the same
 * dead holder: the holder's locks are released once, both finish.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedHeap, type HeapOptions } from '../../src/index.js';
import type { RecoveryReport } from '../../src/core/recovery.js';
import type { DeadHolderData } from '../fixtures/dead-holder-worker.js';
import { withTimeout } from '../helpers/pool.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const URL_ = fixtureUrl('dead-holder-worker');
const SIZE = 256;

let workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
  workers = [];
});

function start(data: DeadHolderData): { worker: Worker; answer: Promise<unknown> } {
  const worker = new Worker(URL_, { workerData: data });
  workers.push(worker);
  const answer = new Promise<unknown>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, answer };
}

describe.each<[string, HeapOptions['locks']]>([
  ['default locks', undefined],
  ['ticket central locks, mcs page-heap lock', { central: 'ticket', pageHeap: 'mcs' }],
])('two dead threads, one holding a central lock (%s)', (_, locks) => {
  it.each(['the other first', 'the holder first'])('recovers both, %s, and the class serves again', async (order) => {
    const heap = SharedHeap.create({ size: 16 * 2 ** 20, locks });
    // The cacher first: its frees may overflow to the central cache, under the lock.
    const cacher = start({ buffer: heap.buffer, role: 'cacher', size: SIZE, count: 200 });
    await withTimeout(cacher.answer, 30_000, 'the cacher');
    const holder = start({ buffer: heap.buffer, role: 'holder', size: SIZE, count: 0 });
    await withTimeout(holder.answer, 30_000, 'the holder');
    const ids = [holder.worker.threadId, cacher.worker.threadId];
    await Promise.all([holder.worker.terminate(), cacher.worker.terminate()]);
    const dead = order === 'the holder first' ? ids : [ids[1]!, ids[0]!];
    const recoverer = start({ buffer: heap.buffer, role: 'recoverer', size: SIZE, count: 0, dead });
    const reports = (await withTimeout(recoverer.answer, 30_000, 'recovery')) as RecoveryReport[];
    expect(reports.map((r) => r.slots.length)).toEqual([1, 1]);
    const released = reports.flatMap((r) => r.locksReleased);
    expect(released).toHaveLength(order === 'the holder first' ? 1 : 0);
    if (order === 'the other first') expect(reports[0]!.otherDeadThreadsUnlocked).toEqual([ids[0]]);
    else expect(reports.every((r) => r.otherDeadThreadsUnlocked.length === 0)).toBe(true);
    expect(reports.reduce((n, r) => n + r.cachedObjectsReturned, 0)).toBeGreaterThan(0);
    heap.check();
    const blocks = Array.from({ length: 300 }, () => heap.malloc(SIZE));
    for (const p of blocks) heap.free(p);
    heap.check();
    expect(heap.stats().inUseObjects).toBe(0);
  }, 120_000);
});

describe('two recoverers at once behind one dead holder', () => {
  it('both finish; the holder is unlocked once and recovered by its own call', async () => {
    const heap = SharedHeap.create({ size: 16 * 2 ** 20 });
    const cachers = [start({ buffer: heap.buffer, role: 'cacher', size: SIZE, count: 200 }), start({ buffer: heap.buffer, role: 'cacher', size: SIZE, count: 200 })];
    await withTimeout(Promise.all(cachers.map((c) => c.answer)), 30_000, 'the cachers');
    const holder = start({ buffer: heap.buffer, role: 'holder', size: SIZE, count: 0 });
    await withTimeout(holder.answer, 30_000, 'the holder');
    const [c1, c2, h] = [cachers[0]!.worker.threadId, cachers[1]!.worker.threadId, holder.worker.threadId];
    await Promise.all([...cachers.map((c) => c.worker.terminate()), holder.worker.terminate()]);
    const barrier = new SharedArrayBuffer(4);
    const recoverers = [c1, c2].map((tid) => start({ buffer: heap.buffer, role: 'recoverer', size: SIZE, count: 0, dead: [tid], barrier, together: 2 }));
    const reports = (await withTimeout(Promise.all(recoverers.map((r) => r.answer)), 30_000, 'two recoverers')) as RecoveryReport[][];
    expect(reports.map((r) => r[0]!.slots.length)).toEqual([1, 1]);
    expect(reports.flatMap((r) => r[0]!.otherDeadThreadsUnlocked)).toEqual([h]);
    const last = heap.recover(h);
    expect(last.slots).toHaveLength(1);
    expect(last.locksReleased).toEqual([]); // released already, by one of the two
    heap.check();
    for (const p of Array.from({ length: 300 }, () => heap.malloc(SIZE))) heap.free(p);
    heap.check();
    expect(heap.stats().inUseObjects).toBe(0);
  }, 120_000);
});
