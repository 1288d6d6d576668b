/**
 * The JS-native alternative to kvmap (workloads/kvmap.ts), on the same operation mix, key
 * space, value-size table and prefill: each worker keeps its own Map of key -> value
 * (an Int32Array, stamped and verified like kvmap's value blocks) and replicates its
 * writes and deletes to every other worker by postMessage (batched: one message per peer
 * every `batch` operations, value bytes included, transferred when there is one peer).
 * Reads are local. This is what a user does without a shared allocator.
 *
 * Owns: the worker threads of one run (workers/kvmap-native.ts, started by URL),
 * their MessageChannels and the start barrier SharedArrayBuffer; all end with the run.
 *
 * Timing: workers meet on a barrier, run their operations for durationMs (checking the
 * clock every batch, yielding to the event loop after each batch so peers' updates are
 * applied while it runs), then send an end marker; a worker reports once it has applied
 * every peer's updates up to that marker. ops/s = all workers' operations / the longest
 * worker's window.
 */
import { workerUrl } from '../kit/worker-url.js';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { WorkloadParams } from './workloads/common.js';

export interface NativeKvTask {
  worker: number;
  workers: number;
  params: WorkloadParams;
  seed: number;
  durationMs: number;
  batch: number;
  barrier: SharedArrayBuffer;
  ports: MessagePort[];
}

export interface NativeKvOutcome {
  ops: number;
  seconds: number;
  /** remote updates this worker applied */
  applied: number;
  /** entries in this worker's map at the end (every replica must agree) */
  size: number;
  /** sum of key * 31 + value length over the final map, to compare replicas */
  digest: number;
}

export interface NativeKvResult {
  workers: number;
  opsPerSecond: number;
  ops: number;
  seconds: number;
  applied: number;
  /** true when every worker's final map agrees (same size and digest) */
  replicasAgree: boolean;
}

export function nativeKvWorkerFile(): URL {
  return workerUrl('kvmap-native');
}

/** One run of the postMessage map on `workers` threads. */
export async function runNativeKvmap(o: { workers: number; params: WorkloadParams; seed: number; durationMs: number; batch?: number }): Promise<NativeKvResult> {
  const n = o.workers;
  const ports: MessagePort[][] = Array.from({ length: n }, () => new Array<MessagePort>(n));
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const ch = new MessageChannel();
      ports[a][b] = ch.port1;
      ports[b][a] = ch.port2;
    }
  }
  const barrier = new SharedArrayBuffer(8);
  const file = nativeKvWorkerFile();
  const outs = await Promise.all(
    Array.from({ length: n }, (_, w) => {
      const mine = ports[w].filter((p): p is MessagePort => p !== undefined);
      const task: NativeKvTask = { worker: w, workers: n, params: o.params, seed: o.seed, durationMs: o.durationMs, batch: o.batch ?? 64, barrier, ports: ports[w] };
      return new Promise<NativeKvOutcome>((resolve, reject) => {
        const t = new Worker(file, { workerData: task, transferList: mine });
        t.once('message', (m: NativeKvOutcome) => resolve(m));
        t.once('error', reject);
        t.once('exit', (code) => (code !== 0 ? reject(new Error(`kvmap-native worker ${w} exited with code ${code}`)) : undefined));
      });
    }),
  );
  const ops = outs.reduce((s, x) => s + x.ops, 0);
  const seconds = Math.max(...outs.map((x) => x.seconds));
  return {
    workers: n,
    opsPerSecond: ops / seconds,
    ops,
    seconds,
    applied: outs.reduce((s, x) => s + x.applied, 0),
    replicasAgree: outs.every((x) => x.size === outs[0].size && x.digest === outs[0].digest),
  };
}
