/**
 * One model of thread identity: on Node a thread's id is its worker_threads.threadId, so
 * a Node worker killed in a malloc/free loop is recovered by recoverWhenExited(worker) and
 * by the pool whatever identity it tried to take (setThreadId of another id or of 0 is
 * refused with ThreadIdentityError; of its own id, a no-op), and the next worker never
 * hangs on a lock the dead one held. Then: ids refused at setThreadId, and two live
 * attachments under one id refused at attach.
 * TRIALS=n per form: 4 by default (each identity once, killed 0-3 ms into its loop);
 * TRIALS=16 for a soak (each identity four times, more kill moments; docs/hacking.md).
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SharedHeap, ThreadIdentityError, type RecoveryReport } from '../../src/index.js';
import { claimSlot } from '../../src/core/slots.js';
import { createHeapPool } from '../../src/pool/heappool.js';
import type { Identity, IdentityReply } from '../fixtures/identity-task.js';
import { withTimeout } from '../helpers/pool.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const TRIALS = Number(process.env.TRIALS ?? 4);
const WORKER_URL = fixtureUrl('identity-worker');
const TASK_URL = fixtureUrl('identity-task').href;
const IDENTITIES: Identity[] = ['none', 'other', 'zero', 'same'];
const REFUSED = 'ERR_SABMALLOC_THREAD_ID';
const HANG_MS = 60_000;

const expectedClaim = (identity: Identity): string => (identity === 'other' || identity === 'zero' ? REFUSED : 'ok');

function until(cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = (): void => (cond() ? resolve() : void setTimeout(tick, 2));
    tick();
  });
}

function newHeap(): SharedHeap {
  return SharedHeap.create({ size: 16 << 20, maxThreads: 4 });
}

/** A worker that must finish its bounded work (a hang is a failure, not a stalled run). */
async function nextWorker(heap: SharedHeap, identity: Identity): Promise<IdentityReply> {
  const w = new Worker(WORKER_URL, { workerData: { buffer: heap.buffer, identity, mode: 'work', ready: new SharedArrayBuffer(4) } });
  const replies: IdentityReply[] = [];
  const done = new Promise<IdentityReply>((resolve, reject) => {
    w.on('message', (m: IdentityReply) => (replies.push(m), replies.length === 2 && resolve(m)));
    w.once('error', reject);
  });
  try {
    return await withTimeout(done, HANG_MS, `the next worker (after a ${identity} worker was killed)`);
  } finally {
    await w.terminate();
  }
}

describe('a killed Node worker is recovered whatever identity it used', () => {
  for (let k = 0; k < TRIALS; k++) {
    const identity = IDENTITIES[k % IDENTITIES.length]!;
    it(`recoverWhenExited, trial ${k + 1}: identity ${identity}`, async () => {
      const heap = newHeap();
      const ready = new SharedArrayBuffer(4);
      const w = new Worker(WORKER_URL, { workerData: { buffer: heap.buffer, identity, mode: 'churn', ready } });
      const recovered = heap.recoverWhenExited(w);
      const claimed = await new Promise<IdentityReply>((resolve) => w.once('message', resolve));
      expect(claimed.setThreadId).toBe(expectedClaim(identity));
      await until(() => Atomics.load(new Int32Array(ready), 0) === 1);
      await new Promise((r) => setTimeout(r, k % 5)); // killed at varying points of its loop
      await w.terminate();
      const report = await withTimeout(recovered, HANG_MS, 'recoverWhenExited');
      expect(report.slots, 'the dead worker\'s slot was found under its id').toHaveLength(1);
      const next = await nextWorker(heap, identity);
      expect(next.ops).toBe(3000);
      expect(heap.stats().attachedThreads).toBe(1);
      heap.check();
      heap.detach();
    });

    it(`the pool, trial ${k + 1}: identity ${identity}`, async () => {
      const heap = newHeap();
      const reports: RecoveryReport[] = [];
      const ready = new SharedArrayBuffer(4);
      const pool = createHeapPool(heap, { filename: TASK_URL, minThreads: 1, maxThreads: 1 }, { onRecovered: (r) => reports.push(r) });
      const run = pool.run({ buffer: heap.buffer, identity, mode: 'churn', ready }).catch((e: unknown) => e);
      await withTimeout(until(() => Atomics.load(new Int32Array(ready), 0) === 1), HANG_MS, 'the pool task to start churning');
      await pool.destroy(); // terminates the churning worker
      await run;
      await withTimeout(until(() => reports.some((r) => r.slots.length > 0)), HANG_MS, 'the pool to recover its dead worker');
      const next = createHeapPool(heap, { filename: TASK_URL, minThreads: 1, maxThreads: 1 });
      try {
        const reply = (await withTimeout(next.run({ buffer: heap.buffer, identity, mode: 'work', ready: new SharedArrayBuffer(4) }), HANG_MS, 'the next pool task')) as IdentityReply;
        expect(reply.setThreadId).toBe(expectedClaim(identity));
        expect(reply.ops).toBe(3000);
      } finally {
        await next.destroy();
      }
      expect(heap.stats().attachedThreads).toBe(1);
      heap.check();
      heap.detach();
    });
  }
});

describe('identities that cannot be', () => {
  it('a second live attachment under one id is refused at attach and changes nothing', () => {
    const heap = newHeap();
    try {
      // The same thread claiming a slot again, as a second copy of the library in this
      // thread (or a second thread given the same id) would.
      expect(() => claimSlot(heap.buffer, heap.layout)).toThrow(ThreadIdentityError);
      expect(heap.stats().attachedThreads).toBe(1);
      heap.check();
    } finally {
      heap.detach();
    }
  });
});
