/**
 * Liveness probe of a thread slot: lets recover() tell a dead thread from a live one, so it
 * can refuse a live one before it changes anything.
 *
 * Owns the slot words S.ALIVE, S.PROBES, S.ACKED. While a thread holds a slot it keeps
 * PROBE_WAITERS `Atomics.waitAsync` waiters pending on S.ALIVE (which stays 0). V8 drops
 * the waiters of an isolate when it is torn down, so a notify that wakes nobody means the
 * thread is gone. A live thread may be busy (its event loop not turning), so each probe
 * first reserves one waiter (S.PROBES, compare-exchange); a woken waiter re-arms itself
 * and only then counts S.ACKED. Invariant: armed waiters >= PROBE_WAITERS - (PROBES - ACKED),
 * so with a reservation below PROBE_WAITERS a live thread always has a waiter to wake; with
 * every waiter reserved and none re-armed yet the answer is 'unknown' (treated as alive).
 *
 * A pending waiter holds the buffer (V8's wait list keeps its backing store), so it must not
 * outlive the attachment: detach(), or the finalizer of a dropped handle detaching it
 * (handles.ts), stops the probe and wakes its waiters, which then do not re-arm. They do it while the slot is still theirs:
 * a notify wakes every waiter on the word, and waking a next owner's waiters would leave it
 * looking dead until its event loop turns. The waiters' callbacks reference the
 * Int32Array and this small state object, never the handle, so a dropped handle stays
 * collectable. A pending waitAsync does not keep a thread's event loop alive.
 */

import { S } from './layout.js';

export const PROBE_WAITERS = 4;

/** One slot occupancy's probe: stopped when the attachment is detached (detach() or a dropped handle's finalizer). */
export interface Probe {
  readonly i32: Int32Array;
  /** Int32 index of the slot. */
  readonly slotWord: number;
  /** S.GENERATION of the occupancy: waiters of an earlier occupant stop on their own. */
  readonly generation: number;
  stopped: boolean;
}

/** Called by the slot's new owner right after it claimed the slot. */
export function startProbe(i32: Int32Array, slotWord: number): Probe {
  Atomics.store(i32, slotWord + S.ALIVE, 0);
  Atomics.store(i32, slotWord + S.PROBES, 0);
  Atomics.store(i32, slotWord + S.ACKED, 0);
  const probe: Probe = { i32, slotWord, generation: Atomics.load(i32, slotWord + S.GENERATION), stopped: false };
  for (let k = 0; k < PROBE_WAITERS; k++) arm(probe);
  return probe;
}

function arm(probe: Probe): void {
  const r = Atomics.waitAsync(probe.i32, probe.slotWord + S.ALIVE, 0);
  if (r.async) void r.value.then(() => probed(probe));
}

function probed(probe: Probe): void {
  if (probe.stopped || Atomics.load(probe.i32, probe.slotWord + S.GENERATION) !== probe.generation) return;
  arm(probe);
  Atomics.add(probe.i32, probe.slotWord + S.ACKED, 1);
}

/** Stops the probe and wakes its waiters, so nothing pending holds the buffer any more. */
export function stopProbe(probe: Probe): void {
  if (probe.stopped) return;
  probe.stopped = true;
  Atomics.notify(probe.i32, probe.slotWord + S.ALIVE);
}

/**
 * Is the thread holding the slot at `slotWord` alive? 'dead' only when a waiter it must
 * have armed is gone. Any thread may call it; a live thread only loses one waiter to it
 * (re-armed when its event loop turns).
 */
export function probeSlot(i32: Int32Array, slotWord: number): 'alive' | 'dead' | 'unknown' {
  for (;;) {
    const probes = Atomics.load(i32, slotWord + S.PROBES);
    if (probes - Atomics.load(i32, slotWord + S.ACKED) >= PROBE_WAITERS) return 'unknown';
    if (Atomics.compareExchange(i32, slotWord + S.PROBES, probes, probes + 1) === probes) break;
  }
  return Atomics.notify(i32, slotWord + S.ALIVE, 1) > 0 ? 'alive' : 'dead';
}
