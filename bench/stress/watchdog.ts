/**
 * The watchdog of the racing-misuse mode (race.ts): a thread that runs
 * check({ quiescent: false }) without pause while the racing workers misuse the heap, and
 * counts what it finds in the same control words.
 */
import { threadId } from 'node:worker_threads';
import { SharedHeap } from '../../src/index.js';
import { CN, MAX_WATCHDOG_FAILURES, Outcome, RC, outcomeOf } from './race.js';

export interface WatchdogTask {
  heap: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** pause between two check() calls */
  pauseMs: number;
  channel: string;
}

/**
 * check({ quiescent: false }) in a loop while the racers run, until WD_STOP. Every call
 * that throws counts as corruption found (a HeapCorruptionError: real corruption, or a
 * check() that cannot tell a healthy heap in motion from a broken one) or as unexpected.
 */
export function watchdog(t: WatchdogTask): { threadId: number } {
  const rc = new Int32Array(t.control);
  const heap = SharedHeap.attach(t.heap);
  const channel = new BroadcastChannel(t.channel);
  while (Atomics.load(rc, RC.WD_STOP) === 0) {
    Atomics.store(rc, RC.WD_BUSY, 1);
    try {
      heap.check({ quiescent: false });
    } catch (e) {
      const o = outcomeOf(e);
      Atomics.add(rc, o.outcome === Outcome.CORRUPTION ? CN.CORRUPTION : CN.UNEXPECTED, 1);
      // Its own cap: a check() that keeps failing must not crowd out the racers' reports.
      if (Atomics.add(rc, RC.WD_FAILED, 1) < MAX_WATCHDOG_FAILURES) {
        channel.postMessage({ kind: 'check', seenBy: 'the watchdog', detail: `concurrent check({ quiescent: false }) threw ${o.code}: ${o.message}` });
      }
    }
    Atomics.store(rc, RC.WD_BUSY, 0);
    Atomics.add(rc, RC.WD_BEAT, 1);
    if (t.pauseMs > 0) Atomics.wait(rc, RC.WD_STOP, 0, t.pauseMs);
  }
  heap.detach();
  channel.close();
  return { threadId };
}
