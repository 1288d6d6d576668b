/**
 * A recovery blocked by a thread that was alive when it was probed and dies afterwards.
 *
 * A dead thread's cache goes back to a central cache under that class's lock. When another
 * thread holds that lock (or waits in its queue) and answers the liveness probe, recover()
 * must wait for it; if that thread then dies, nobody else will ever release what it holds,
 * so the waiting recovery must probe it again, find it dead and release its lock itself.
 *
 * - Holder: a worker takes class C's central lock (or the PageHeap lock, which returning
 *   the cache takes after it) and stays blocked in Atomics.wait (alive,
 *   its event loop stopped), then idle in its event loop, the lock still held; the recovery
 *   of a dead 'cacher' (in a worker of its own, so that a hang fails by timeout) must not
 *   finish meanwhile. The test then terminates the holder: the recovery must finish, name
 *   the holder in otherDeadThreadsUnlocked, and the holder's own recover() finds no lock
 *   left to release.
 * - Waiter (queue locks only: a ttas or futex waiter holds nothing): the test thread holds
 *   the lock, a worker waits in its queue, the recovery waits behind both; the test
 *   terminates the waiter and then releases the lock: the dead waiter's turn would never
 *   be passed on unless the recovery finds it dead.
 * - The limit: a busy holder that answered all 4 probes its waiters allow and then died is
 *   never shown dead; the recovery waits until the holder's own recoverWhenExited (the exit
 *   event as proof, on the test thread) releases the lock.
 * - globalLock heap: live threads change every tier under the global lock, so the recovery
 *   of a thread killed with a span in flight must return it under that lock: while a live
 *   thread holds it, the recovery waits; once that thread unlocks, the span is free again.
 * Then the heap checks out, class C serves malloc again, and blocks stamped before the
 * deaths still hold their contents.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedHeap, type HeapOptions } from '../../src/index.js';
import type { RecoveryReport } from '../../src/core/recovery.js';
import { lockNodeWordOf, S, slotWordOf } from '../../src/core/layout.js';
import { LockNode } from '../../src/locks/index.js';
import { PROBE_WAITERS } from '../../src/core/liveness.js';
import type { DeadHolderData } from '../fixtures/dead-holder-worker.js';
import { withTimeout } from '../helpers/pool.js';
import { fixtureUrl } from '../helpers/fixtures.js';
import { stampBlock, verifyBlock, viewsOf } from '../helpers/stamp.js';

const URL_ = fixtureUrl('dead-holder-worker');
const SIZE = 256;
const TAG = 7;

let workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
  workers = [];
});

/** A worker and its messages in order (next() resolves with the next one). */
function start(data: DeadHolderData): { worker: Worker; next: () => Promise<unknown> } {
  const worker = new Worker(URL_, { workerData: data });
  workers.push(worker);
  const queue: unknown[] = [];
  const takers: ((m: unknown) => void)[] = [];
  let failure: unknown;
  const failers: ((e: unknown) => void)[] = [];
  worker.on('message', (m) => (takers.length > 0 ? takers.shift()!(m) : queue.push(m)));
  worker.once('error', (e) => {
    failure = e;
    for (const f of failers.splice(0)) f(e);
  });
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (queue.length > 0) return resolve(queue.shift());
      if (failure !== undefined) return reject(failure);
      takers.push(resolve);
      failers.push(reject);
    });
  return { worker, next };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** A promise's settlement as a flag, to check that it has not settled yet. */
function settled(p: Promise<unknown>): () => boolean {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  return () => done;
}

/** A heap with class C blocks stamped by the test thread and a dead cacher that cached some. */
async function heapWithDeadCacher(locks: HeapOptions['locks']): Promise<{ heap: SharedHeap; stamped: number[]; cacherId: number }> {
  const heap = SharedHeap.create({ size: 16 * 2 ** 20, locks });
  const views = viewsOf(heap.buffer);
  const stamped = Array.from({ length: 40 }, () => heap.malloc(SIZE));
  for (const p of stamped) stampBlock(views, p, SIZE, TAG, SIZE);
  const cacher = start({ buffer: heap.buffer, role: 'cacher', size: SIZE, count: 200 });
  await withTimeout(cacher.next(), 30_000, 'the cacher');
  const cacherId = cacher.worker.threadId;
  await cacher.worker.terminate();
  return { heap, stamped, cacherId };
}

/** The recoverer of `dead`, once it is about to call recover(): its reports, pending (wrapped: an async function would wait for them). */
async function recovering(heap: SharedHeap, dead: number): Promise<{ reports: Promise<RecoveryReport[]> }> {
  const recoverer = start({ buffer: heap.buffer, role: 'recoverer', size: SIZE, count: 0, dead: [dead], announce: true });
  expect(await withTimeout(recoverer.next(), 30_000, 'the recoverer starting')).toBe('recovering');
  const reports = recoverer.next() as Promise<RecoveryReport[]>;
  return { reports: withTimeout(reports, 20_000, 'recovery behind a thread that died after its probe') };
}

/** The heap after both recoveries: consistent, class C serving, the stamped blocks intact. */
function expectHealthy(heap: SharedHeap, stamped: number[]): void {
  heap.check();
  const views = viewsOf(heap.buffer);
  for (const p of stamped) expect(verifyBlock(views, p, SIZE, TAG)).toBeNull();
  const fresh = Array.from({ length: 300 }, () => heap.malloc(SIZE));
  for (const p of fresh) stampBlock(views, p, SIZE, TAG + 1, SIZE);
  for (const p of fresh) expect(verifyBlock(views, p, SIZE, TAG + 1)).toBeNull();
  for (const p of [...fresh, ...stamped]) heap.free(p);
  heap.check();
  expect(heap.stats().inUseObjects).toBe(0);
}

describe.each<[string, string, HeapOptions['locks']]>([
  ['central', 'default locks', undefined],
  ['central', 'ticket central locks, mcs page-heap lock', { central: 'ticket', pageHeap: 'mcs' }],
  ['page-heap', 'default locks', undefined],
  ['page-heap', 'ticket central locks, mcs page-heap lock', { central: 'ticket', pageHeap: 'mcs' }],
])('a holder of the %s lock alive when probed, then terminated (%s)', (tier, _, locks) => {
  it('recovery waits while it lives, then releases its lock and finishes', async () => {
    const { heap, stamped, cacherId } = await heapWithDeadCacher(locks);
    const control = new SharedArrayBuffer(4);
    const holder = start({ buffer: heap.buffer, role: 'busy-holder', size: SIZE, count: 0, control, pageHeapLock: tier === 'page-heap' });
    const holderSlot = (await withTimeout(holder.next(), 30_000, 'the holder')) as number;
    const holderId = holder.worker.threadId;

    const { reports } = await recovering(heap, cacherId);
    const done = settled(reports);
    await sleep(150);
    expect(done()).toBe(false); // blocked while the holder is alive and busy
    // Let the holder's event loop turn, the lock still held: it answers the probes it owes,
    // so the probes after its death find it dead whatever their timing.
    const c = new Int32Array(control, 0, 1);
    Atomics.store(c, 0, 1);
    Atomics.notify(c, 0);
    const w = slotWordOf(heap.layout, holderSlot);
    const i32 = new Int32Array(heap.buffer, 0, w + S.ACKED + 1);
    await until(() => Atomics.load(i32, w + S.PROBES) === Atomics.load(i32, w + S.ACKED), 'the holder to answer its probes');
    await sleep(100);
    expect(done()).toBe(false); // still blocked: the holder is alive

    await holder.worker.terminate();
    const [report] = await reports;
    expect(report!.slots).toHaveLength(1);
    expect(report!.otherDeadThreadsUnlocked).toEqual([holderId]);
    expect(report!.cachedObjectsReturned).toBeGreaterThan(0);
    const own = heap.recover(holderId);
    expect(own.slots).toHaveLength(1);
    expect(own.locksReleased).toEqual([]); // released already, by the recovery it blocked
    expectHealthy(heap, stamped);
  }, 120_000);
});

describe('a holder that answered all its probes while busy, then terminated', () => {
  it('stays unknown to the probe: recovery waits until its own recoverWhenExited releases its lock', async () => {
    const { heap, stamped, cacherId } = await heapWithDeadCacher(undefined);
    const holder = start({ buffer: heap.buffer, role: 'busy-holder', size: SIZE, count: 0, control: new SharedArrayBuffer(4) });
    const holderSlot = (await withTimeout(holder.next(), 30_000, 'the holder')) as number;
    const w = slotWordOf(heap.layout, holderSlot);
    const i32 = new Int32Array(heap.buffer, 0, w + S.ACKED + 1);
    const { reports } = await recovering(heap, cacherId);
    const done = settled(reports);
    // The first probe and the re-probes after 20 ms, 200 ms and 2 s: every waiter taken.
    await until(() => Atomics.load(i32, w + S.PROBES) - Atomics.load(i32, w + S.ACKED) === PROBE_WAITERS, 'four unanswered probes');
    const own = heap.recoverWhenExited(holder.worker);
    await holder.worker.terminate();
    const ownReport = await withTimeout(own, 20_000, 'the holder\'s own recovery');
    expect(ownReport.locksReleased).toEqual([`central[${heap.sizeClasses.classOf[(SIZE + 15) >>> 4]!}]`]);
    const [report] = await reports;
    expect(done()).toBe(true);
    expect(report!.otherDeadThreadsUnlocked).toEqual([]); // never shown dead
    expect(report!.cachedObjectsReturned).toBeGreaterThan(0);
    expectHealthy(heap, stamped);
  }, 120_000);
});

describe.each<[string, HeapOptions['locks']]>([
  ['ticket central locks', { central: 'ticket', pageHeap: 'futex' }],
  ['mcs central locks', { central: 'mcs', pageHeap: 'ticket' }],
])('a waiter in the central lock queue alive when probed, then terminated (%s)', (_, locks) => {
  it('recovery passes over its turn once it is dead and finishes', async () => {
    const { heap, stamped, cacherId } = await heapWithDeadCacher(locks);
    const classLock = heap.central.locks[heap.sizeClasses.classOf[(SIZE + 15) >>> 4]!]!;
    classLock.lock();
    const waiter = start({ buffer: heap.buffer, role: 'waiter', size: SIZE, count: 0 });
    const waiterSlot = (await withTimeout(waiter.next(), 30_000, 'the waiter')) as number;
    const waiterId = waiter.worker.threadId;
    const node = lockNodeWordOf(heap.layout, waiterSlot + 1);
    const i32 = new Int32Array(heap.buffer, 0, node + LockNode.WAIT + 1);
    await until(() => Atomics.load(i32, node + LockNode.WAIT) !== 0, 'the waiter to queue');

    const { reports } = await recovering(heap, cacherId);
    const done = settled(reports);
    await sleep(150);
    expect(done()).toBe(false); // blocked behind the test thread and the live waiter
    await waiter.worker.terminate();
    classLock.unlock(); // the turn goes to the dead waiter
    const [report] = await reports;
    expect(report!.slots).toHaveLength(1);
    expect(report!.otherDeadThreadsUnlocked).toEqual([waiterId]);
    expect(report!.cachedObjectsReturned).toBeGreaterThan(0);
    expectHealthy(heap, stamped);
  }, 120_000);
});

describe('a globalLock heap', () => {
  it('returns a dead thread\'s span in flight under the global lock, waiting while a live thread holds it', async () => {
    const heap = SharedHeap.create({ size: 16 * 2 ** 20, globalLock: true });
    const views = viewsOf(heap.buffer);
    const stamped = Array.from({ length: 40 }, () => heap.malloc(SIZE));
    for (const p of stamped) stampBlock(views, p, SIZE, TAG, SIZE);
    const LARGE = 1 << 20;
    const freePages = (): number => heap.stats().pageHeapFreeSpans.reduce((n, s) => n + s.pages * s.count, 0);
    const freeBefore = freePages();
    const inFlight = start({ buffer: heap.buffer, role: 'in-flight', size: LARGE, count: 0 });
    expect(await withTimeout(inFlight.next(), 30_000, 'the thread taking a span')).toBe('ready');
    const deadId = inFlight.worker.threadId;
    await inFlight.worker.terminate();
    expect(freePages()).toBeLessThan(freeBefore); // the span is out of the PageHeap

    const control = new SharedArrayBuffer(4);
    const holder = start({ buffer: heap.buffer, role: 'busy-holder', size: SIZE, count: 0, control, globalLock: true, release: true });
    await withTimeout(holder.next(), 30_000, 'the holder of the global lock');
    const { reports } = await recovering(heap, deadId);
    const done = settled(reports);
    await sleep(150);
    expect(done()).toBe(false); // a live thread is inside the global lock: the PageHeap is its
    const c = new Int32Array(control, 0, 1);
    Atomics.store(c, 0, 1);
    Atomics.notify(c, 0);
    const [report] = await reports;
    expect(report!.spansReturned).toBe(1);
    expect(report!.otherDeadThreadsUnlocked).toEqual([]);
    expect(freePages()).toBe(freeBefore);
    const big = heap.malloc(LARGE);
    heap.free(big);
    expectHealthy(heap, stamped);
  }, 120_000);
});
