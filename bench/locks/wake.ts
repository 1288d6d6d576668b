/**
 * `sabmalloc locks --wake`: the cost of Atomics.wait/notify itself, after perf bench futex
 * wake / wake-parallel. N waiter threads (workers/wake.ts) sleep in Atomics.wait on one
 * word; each round the coordinator stamps the time, bumps the word and wakes them all with
 * one Atomics.notify. Reported per N: the notify call's own time, and the wake-up latency of
 * every waiter (stamp to the waiter running again), as log2 histograms (bucket bounds).
 * This is the floor under every parking lock's wake-up figure in the sweep.
 *
 * Owns: the waiter threads it starts (all terminated before it returns) and one
 * SharedArrayBuffer per N (layout in bench/locks/wake-loop.ts). Nothing asserts timing.
 */
import { Worker } from 'node:worker_threads';
import { LOCK_LATENCY_BUCKETS } from '../../src/locks/index.js';
import { formatPercentile, fromBuckets, type Histogram } from '../kit/histogram.js';
import { workerUrl } from '../kit/worker-url.js';
import { WAKE, WAKE_F64_OFFSET, wakeBaseOf, wakeBytes } from './wake-loop.js';
import { textTable } from './report.js';

export interface WakeRow {
  waiters: number;
  rounds: number;
  /** wake-ups recorded (a waiter that had not gone to sleep when a round began records none) */
  wakeups: number;
  /** time inside the one Atomics.notify call that wakes all N, ns */
  notify: Histogram;
  /** from the stamp before the notify to each waiter running again, ns */
  wake: Histogram;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function bucket(counts: number[], ns: number): void {
  counts[ns < 1 ? 0 : Math.min(LOCK_LATENCY_BUCKETS - 1, Math.floor(Math.log2(ns)))]!++;
}

/** One N: start the waiters, `rounds` rounds of stamp + bump + notify(all), then STOP. */
export async function wakeRow(waiters: number, rounds: number): Promise<WakeRow> {
  const sab = new SharedArrayBuffer(wakeBytes(waiters + 1));
  const i32 = new Int32Array(sab, 0, WAKE_F64_OFFSET / 4);
  const f = new Float64Array(sab, WAKE_F64_OFFSET, (sab.byteLength - WAKE_F64_OFFSET) / 8);
  f[0] = performance.timeOrigin;
  const threads = Array.from({ length: waiters }, (_, k) => new Worker(workerUrl('wake'), { workerData: { sab, id: k + 1 } }));
  const done = Promise.all(threads.map((w) => new Promise<number>((res, rej) => (w.once('message', res), w.once('error', rej)))));
  const notify = new Array<number>(LOCK_LATENCY_BUCKETS).fill(0);
  try {
    for (let r = 0; r < rounds; r++) {
      const until = Date.now() + 30_000;
      while (Atomics.load(i32, WAKE.arrived) < waiters) {
        if (Date.now() > until) throw new Error(`wake: only ${Atomics.load(i32, WAKE.arrived)}/${waiters} waiters arrived in 30 s`);
        await sleep(0);
      }
      await sleep(1); // arrived is counted just before Atomics.wait: let them fall asleep
      Atomics.store(i32, WAKE.arrived, 0);
      f[1] = performance.now();
      Atomics.add(i32, WAKE.gen, 1);
      const t0 = performance.now();
      Atomics.notify(i32, WAKE.gen);
      bucket(notify, (performance.now() - t0) * 1e6);
    }
  } finally {
    Atomics.store(i32, WAKE.stop, 1);
    Atomics.add(i32, WAKE.gen, 1);
    Atomics.notify(i32, WAKE.gen);
  }
  const counts = await done;
  await Promise.all(threads.map((w) => w.terminate()));
  const wake = new Array<number>(LOCK_LATENCY_BUCKETS).fill(0);
  for (let id = 1; id <= waiters; id++) for (let k = 0; k < LOCK_LATENCY_BUCKETS; k++) wake[k]! += f[wakeBaseOf(id) + k]!;
  return { waiters, rounds, wakeups: counts.reduce((a, b) => a + b, 0), notify: fromBuckets(notify), wake: fromBuckets(wake) };
}

export async function runWakeBench(waiterCounts: readonly number[], rounds: number, progress: (l: string) => void): Promise<WakeRow[]> {
  const rows: WakeRow[] = [];
  for (const n of waiterCounts) {
    progress(`wake: ${n} waiter(s), ${rounds} rounds ...`);
    rows.push(await wakeRow(n, rounds));
  }
  return rows;
}

const bound = (h: Histogram, q: number): string => formatPercentile(h, q, false).replace(/^p[\d.]+ /, '');

export function formatWake(rows: readonly WakeRow[]): string {
  return textTable(
    ['waiters', 'rounds', 'wake-ups', 'notify call p50', 'notify call p99', 'wake-up p50', 'wake-up p99'],
    rows.map((r) => [String(r.waiters), String(r.rounds), String(r.wakeups), bound(r.notify, 0.5), bound(r.notify, 0.99), bound(r.wake, 0.5), bound(r.wake, 0.99)]),
  );
}
