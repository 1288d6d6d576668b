/**
 * Two threads die attached; one of them holds a central lock that the other's recovery
 * needs (returning its cached blocks of that class). Recovering the other one first must
 * not wait forever for the dead holder: recover() releases the locks of every dead thread
 * in its way first (and says whose), the holder's own recover() then returns the rest, and
 * the heap checks out and serves that class again. Both orders, and with the page-heap
 * and central lock kinds that queue (ticket, mcs) as well as the default ones.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedHeap, type HeapOptions } from '../../src/index.js';
import type { RecoveryReport } from '../../src/core/recovery.js';
import type { DeadHolderData } from '../fixtures/dead-holder-worker.js';

const URL_ = new URL('../../dist/test/fixtures/dead-holder-worker.js', import.meta.url);
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

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (hang)`)), ms)));
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

describe.each<[string, HeapOptions['locks']]>([
  ['default locks', undefined],
  ['ticket central locks, mcs page-heap lock', { central: 'ticket', pageHeap: 'mcs' }],
])('two dead threads, one holding a central lock (%s)', (_, locks) => {
  it.each(['the other first', 'the holder first'])('recovers both, %s, and the class serves again', async (order) => {
    const heap = SharedHeap.create({ size: 16 * 2 ** 20, locks });
    // The cacher first: its frees may overflow to the central cache, under the lock.
    const cacher = start({ buffer: heap.buffer, role: 'cacher', size: SIZE, count: 200 });
    await bounded(cacher.answer, 30_000, 'the cacher');
    const holder = start({ buffer: heap.buffer, role: 'holder', size: SIZE, count: 0 });
    await bounded(holder.answer, 30_000, 'the holder');
    const ids = [holder.worker.threadId, cacher.worker.threadId];
    await Promise.all([holder.worker.terminate(), cacher.worker.terminate()]);
    const dead = order === 'the holder first' ? ids : [ids[1]!, ids[0]!];
    const recoverer = start({ buffer: heap.buffer, role: 'recoverer', size: SIZE, count: 0, dead });
    const reports = (await bounded(recoverer.answer, 30_000, 'recovery')) as RecoveryReport[];
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
