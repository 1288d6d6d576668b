/**
 * recover() misuse and the attached count across kills:
 * - recover(threadId) of a thread that still runs (here: blocked in Atomics.wait, so its
 *   event loop does not turn) is refused with LiveThreadError, every time, and changes
 *   nothing: the thread then allocates, frees, checks and detaches normally;
 * - once the thread has exited, recover(threadId) and recoverWhenExited(worker) recover it;
 * - a thread killed while attaching or detaching leaves H.ATTACHED equal to the number of
 *   attached slots after recovery (real kills at random moments, and the two exact states
 *   such a kill leaves).
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HEADER as H, LiveThreadError, SharedHeap, type RecoveryReport } from '../../src/index.js';
import { S, SlotState, slotWordOf } from '../../src/core/layout.js';
import { withTimeout } from '../helpers/pool.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const WORKER_URL = fixtureUrl('misuse-worker');
const MiB = 1 << 20;

function startHolder(heap: SharedHeap, exitAttached = false): { worker: Worker; control: Int32Array; hello: Promise<{ threadId: number; slot: number }>; result: () => Promise<{ ok: boolean; error?: string }> } {
  const control = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_URL, { workerData: { mode: 'hold', buffer: heap.buffer, control: control.buffer, exitAttached } });
  const messages: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  worker.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else messages.push(m);
  });
  const next = <T>(): Promise<T> =>
    messages.length > 0 ? Promise.resolve(messages.shift() as T) : new Promise<T>((r) => waiters.push(r as (m: unknown) => void));
  const hello = next<{ threadId: number; slot: number }>();
  return { worker, control, hello, result: () => next() };
}

function release(control: Int32Array): void {
  Atomics.store(control, 0, 1);
  Atomics.notify(control, 0);
}

function exited(worker: Worker): Promise<void> {
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

/** Slots in state ATTACHED or DEAD, counted from the slot words. */
function attachedSlots(heap: SharedHeap): number {
  const i32 = new Int32Array(heap.buffer);
  let n = 0;
  for (let s = 0; s < heap.layout.maxThreads; s++) {
    const st = Atomics.load(i32, slotWordOf(heap.layout, s) + S.STATE);
    if (st === SlotState.ATTACHED || st === SlotState.DEAD) n++;
  }
  return n;
}

describe('recover() of a live thread', () => {
  it('is refused with LiveThreadError, repeatedly, before anything changes', async () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const { worker, control, hello, result } = startHolder(heap);
    try {
      const { threadId } = await withTimeout(hello, 30_000, 'worker attach');
      const before = new Uint8Array(heap.buffer).slice();
      // More probes than the thread keeps waiters: it sleeps in Atomics.wait meanwhile, so
      // it cannot re-arm them; the later answers are 'unknown', still a refusal.
      for (let k = 0; k < 7; k++) {
        let err: unknown;
        try {
          heap.recover(threadId);
        } catch (e) {
          err = e;
        }
        expect(err, `attempt ${k}`).toBeInstanceOf(LiveThreadError);
        expect((err as LiveThreadError).code).toBe('ERR_SABMALLOC_LIVE_THREAD');
      }
      // Nothing changed but the probe words of the worker's slot.
      const after = new Uint8Array(heap.buffer);
      const diff: number[] = [];
      for (let b = 0; b < after.length; b++) if (after[b] !== before[b]) diff.push(b);
      const { slot } = await hello;
      const sw = slotWordOf(heap.layout, slot) * 4;
      expect(diff.filter((b) => b < sw + S.ALIVE * 4 || b >= sw + (S.ACKED + 1) * 4)).toEqual([]);
      release(control);
      expect(await withTimeout(result(), 30_000, 'worker after refused recover')).toEqual({ ok: true });
      heap.check();
      expect(heap.stats().attachedThreads).toBe(1);
    } finally {
      release(control);
      await worker.terminate();
    }
  });

  it('a thread that died after probes took every waiter: recover(id) still refuses, recoverWhenExited recovers', async () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const { worker, hello } = startHolder(heap);
    const { threadId } = await withTimeout(hello, 30_000, 'worker attach');
    // Listeners run in order: this one sees the dead thread before recoverWhenExited's.
    let refusal: unknown;
    worker.once('exit', () => {
      try {
        heap.recover(threadId);
      } catch (e) {
        refusal = e;
      }
    });
    const recovered = heap.recoverWhenExited(worker);
    for (let k = 0; k < 7; k++) expect(() => heap.recover(threadId)).toThrow(LiveThreadError);
    await worker.terminate();
    // Dead now, but its probe cannot show it (no waiter was left to vanish): refused.
    expect(refusal).toBeInstanceOf(LiveThreadError);
    expect((refusal as Error).message).toMatch(/not answered earlier liveness probes/);
    // Node's exit event is the proof the probe could not give.
    const report = await withTimeout(recovered, 30_000, 'recoverWhenExited');
    expect(report.slots.length).toBe(1);
    expect(heap.stats().attachedThreads).toBe(1);
    heap.check();
  });

  it('after the thread exited: recover(threadId) frees its slot', async () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const { worker, control, hello } = startHolder(heap, true);
    const { threadId } = await withTimeout(hello, 30_000, 'worker attach');
    const gone = exited(worker);
    release(control);
    await withTimeout(gone, 30_000, 'worker exit');
    const report = heap.recover(threadId);
    expect(report.slots.length).toBe(1);
    expect(heap.stats().attachedThreads).toBe(1);
    expect(Atomics.load(new Int32Array(heap.buffer), H.ATTACHED)).toBe(1);
    heap.check();
  });

  it('recoverWhenExited(worker) waits for the exit, then recovers (exit and terminate)', async () => {
    for (const how of ['exit', 'terminate'] as const) {
      const heap = SharedHeap.create({ size: 4 * MiB });
      const { worker, control, hello } = startHolder(heap, true);
      await withTimeout(hello, 30_000, 'worker attach');
      const recovered = heap.recoverWhenExited(worker);
      let settled = false;
      void recovered.then(() => (settled = true), () => (settled = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(settled, 'nothing happens while the worker runs').toBe(false);
      if (how === 'exit') release(control);
      else await worker.terminate();
      const report: RecoveryReport = await withTimeout(recovered, 30_000, 'recoverWhenExited');
      expect(report.slots.length, how).toBe(1);
      expect(heap.stats().attachedThreads).toBe(1);
      heap.check();
      await expect(heap.recoverWhenExited(worker)).rejects.toMatchObject({ code: 'ERR_SABMALLOC_LIVE_THREAD' });
    }
  });
});

describe('attached count across threads killed while attaching or detaching', () => {
  it('real kills at random moments of an attach/detach loop', async () => {
    const heap = SharedHeap.create({ size: 4 * MiB, maxThreads: 8 });
    const control = new SharedArrayBuffer(4);
    for (let run = 0; run < 12; run++) {
      const worker = new Worker(WORKER_URL, { workerData: { mode: 'attachLoop', buffer: heap.buffer, control } });
      const ready = new Promise((r) => worker.once('message', r));
      await withTimeout(ready, 30_000, 'attach loop start');
      const tid = worker.threadId;
      await new Promise((r) => setTimeout(r, 1 + ((run * 7) % 13)));
      await worker.terminate();
      heap.recover(tid);
      heap.check();
      expect(Atomics.load(new Int32Array(heap.buffer), H.ATTACHED), `run ${run}`).toBe(attachedSlots(heap));
      expect(attachedSlots(heap)).toBe(1);
    }
  });

  it('the states a kill can leave: claiming with the count taken, detaching with the count dropped or the slot marked', async () => {
    for (const state of ['claiming', 'detaching', 'detaching, slot marked'] as const) {
      const heap = SharedHeap.create({ size: 4 * MiB });
      const { worker, control, hello } = startHolder(heap, true);
      const { threadId, slot } = await withTimeout(hello, 30_000, 'worker attach');
      const gone = exited(worker);
      release(control);
      await withTimeout(gone, 30_000, 'worker exit');
      const i32 = new Int32Array(heap.buffer);
      const sw = slotWordOf(heap.layout, slot);
      if (state === 'claiming') {
        // Killed after counting itself in, before its slot said ATTACHED.
        Atomics.store(i32, sw + S.STATE, -(threadId + 1)); // claimingState(threadId)
      } else if (state === 'detaching') {
        // (Old code) killed after counting itself out, before its slot said FREE.
        Atomics.sub(i32, H.ATTACHED, 1);
      } else {
        // Killed inside detach() after its slot said DETACHING (probe stopped).
        Atomics.store(i32, sw + S.STATE, SlotState.DETACHING);
      }
      expect(heap.recover(threadId).slots, state).toEqual([slot]);
      expect(Atomics.load(i32, H.ATTACHED), state).toBe(1);
      expect(attachedSlots(heap)).toBe(1);
      heap.check();
    }
  });
});

