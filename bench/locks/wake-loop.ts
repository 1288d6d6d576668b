/**
 * The waiter's side of the Atomics.wait/notify micro-benchmark (`sabmalloc locks --wake`,
 * after perf bench futex wake / wake-parallel): sleep in Atomics.wait on GEN, and on each
 * wake-up record how long after the coordinator's stamp this thread ran.
 *
 * Owns nothing; the SharedArrayBuffer (WAKE layout below) belongs to the coordinator
 * (bench/locks/wake.ts). Each waiter writes only its own histogram (LOCK_LATENCY_BUCKETS
 * float64 from wakeBaseOf(id)) and ARRIVED (an atomic add); the coordinator writes the
 * stamp before it bumps GEN, and the waiter reads it after Atomics.wait returned 'ok' on
 * GEN's change, so the atomic bump orders stamp-then-read.
 */
import { LOCK_LATENCY_BUCKETS } from '../../src/locks/index.js';

/** Int32 words: GEN (generation the waiters sleep on), ARRIVED (waiters about to sleep), STOP. */
export const WAKE = { gen: 0, arrived: 16, stop: 32 } as const;
/** Float64 slots after the int32 words: [0] epoch (coordinator's timeOrigin), [1] the notify stamp (ms since epoch). */
export const WAKE_F64_OFFSET = 64 * 4;
export const WAKE_HEAD = 8;
export const wakeBaseOf = (id: number): number => WAKE_HEAD + id * (LOCK_LATENCY_BUCKETS + 1);
export const wakeBytes = (waiters: number): number => WAKE_F64_OFFSET + wakeBaseOf(waiters) * 8;

export interface WakeTask {
  sab: SharedArrayBuffer;
  id: number;
}

/** Runs until STOP; returns the number of wake-ups recorded (the last slot of its histogram holds it too). */
export function wakeLoop({ sab, id }: WakeTask): number {
  const i32 = new Int32Array(sab, 0, WAKE_F64_OFFSET / 4);
  const f = new Float64Array(sab, WAKE_F64_OFFSET, (sab.byteLength - WAKE_F64_OFFSET) / 8);
  const epoch = performance.timeOrigin - f[0]!;
  const base = wakeBaseOf(id);
  let n = 0;
  while (Atomics.load(i32, WAKE.stop) === 0) {
    const g = Atomics.load(i32, WAKE.gen);
    Atomics.add(i32, WAKE.arrived, 1);
    // 'not-equal' (the round started before we slept) and 'timed-out' are not wake-ups
    if (Atomics.wait(i32, WAKE.gen, g, 1000) !== 'ok') continue;
    if (Atomics.load(i32, WAKE.stop) !== 0) break; // the stopping wake is not a measured round
    const ns = (epoch + performance.now() - f[1]!) * 1e6;
    f[base + (ns < 1 ? 0 : Math.min(LOCK_LATENCY_BUCKETS - 1, Math.floor(Math.log2(ns))))]++;
    n++;
  }
  f[base + LOCK_LATENCY_BUCKETS] = n;
  return n;
}
