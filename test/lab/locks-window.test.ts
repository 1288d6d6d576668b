/**
 * The lock lab's timed window (bench/locks/hammer.ts windowMayClose, used by the Node
 * lab's runTasks and the web lab's lock sweep): it closes once its time is up and the lock
 * has been acquired at least once, so a point whose hammers were all descheduled through
 * the whole window (8 workers on 2 busy cores) still measures the lock instead of
 * reporting 0 acquisitions. Driven by a pool of in-thread hammers that start only well
 * after the window's time: no real thread, nothing timed is asserted.
 */
import { describe, expect, it } from 'vitest';
import { CTRL, LOCK_WORD, hammerWords, windowMayClose, type HammerResult, type HammerTask } from '../../bench/locks/hammer.js';
import { runTasks, type LockPool } from '../../bench/locks/tasks.js';
import { initLockBlock } from '../../src/locks/index.js';

const WINDOW_MS = 20;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A hammer that passes the barrier, then gets no CPU until `lateMs` after GO. */
async function lateHammer(t: HammerTask, lateMs: number): Promise<HammerResult> {
  const i32 = new Int32Array(t.sab, 0, t.sab.byteLength >> 2);
  Atomics.add(i32, CTRL.ready, 1);
  while (Atomics.load(i32, CTRL.go) === 0) await sleep(1);
  await sleep(lateMs);
  const t0 = performance.now();
  let acquisitions = 0;
  while (Atomics.load(i32, CTRL.stop) === 0) {
    i32[CTRL.counter]++; // the lock is uncontended here: one hammer at a time on this thread
    acquisitions++;
    await sleep(1);
  }
  return { ownerId: t.ownerId, acquisitions, violations: 0, tryLockSuccesses: 0, elapsedMs: performance.now() - t0 };
}

function latePool(lateMs: (ownerId: number) => number): LockPool {
  return { threads: 2, run: (t: HammerTask) => lateHammer(t, lateMs(t.ownerId)), restart: async () => undefined } as unknown as LockPool;
}

describe('the lock lab window', () => {
  it('stays open past its time until the lock has been acquired', async () => {
    // both hammers start 5 windows late: a window closed on time saw 0 acquisitions
    const r = await runTasks(latePool(() => 5 * WINDOW_MS), 'tas', 2, { iterations: 0, csWrites: 0, outsideWork: 0, useTryLock: false }, WINDOW_MS);
    expect(r.violation).toBeNull();
    const total = r.results.reduce((a, x) => a + x.acquisitions, 0);
    expect(total).toBeGreaterThan(0);
  });

  it('closes once its time is up and the counter has moved, not before either', () => {
    const i32 = new Int32Array(hammerWords(2));
    initLockBlock(i32, LOCK_WORD);
    expect(windowMayClose(i32, 10, 5)).toBe(false); // no acquisition yet
    i32[CTRL.counter] = 1;
    expect(windowMayClose(i32, 4, 5)).toBe(false); // time not up
    expect(windowMayClose(i32, 5, 5)).toBe(true);
  });
});
