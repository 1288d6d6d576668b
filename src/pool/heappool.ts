/**
 * Piscina helpers that keep a heap healthy when pool workers die.
 *
 * Owns: one 'exit' listener per pool worker. A worker can die at any moment (terminate(),
 * an uncaught exception, process.exit() inside it); its slot, its thread cache and any lock
 * it held must then be recovered, or the survivors hang on that lock. Each new worker gets
 * heap.recoverWhenExited(worker) on the thread that owns `heap`: it recovers only after the
 * worker's 'exit' (recover() refuses a live thread anyway, with LiveThreadError).
 *
 * Kept apart from src/core so the allocator itself imports no package.
 */

import { Piscina } from 'piscina';
import type { Worker } from 'node:worker_threads';
import type { SharedHeap } from '../core/sharedheap.js';
import type { RecoveryReport } from '../core/recovery.js';

export type PiscinaOptions = ConstructorParameters<typeof Piscina>[0];

/**
 * execArgv for pool workers. Node 20.19+ loads ESM through require() by default, and
 * piscina's worker start sometimes then fails with ERR_INTERNAL_ASSERTION ("module
 * imported again after being required"); turning require(esm) off avoids it.
 */
export const POOL_EXEC_ARGV: readonly string[] = [...process.execArgv, '--no-experimental-require-module'];

/** Piscina hands out a public view of each worker; the Node Worker sits behind a symbol. */
function nodeWorkerOf(view: object): Worker | undefined {
  for (const sym of Object.getOwnPropertySymbols(view)) {
    const info = (view as Record<symbol, unknown>)[sym] as { worker?: Worker } | undefined;
    if (info && typeof info === 'object' && info.worker && typeof info.worker.once === 'function') return info.worker;
  }
  return undefined;
}

export interface RecoveryHooks {
  /** Called after each recovery (a worker that had detached cleanly reports no slots). */
  onRecovered?: (report: RecoveryReport) => void;
  onError?: (err: unknown) => void;
}

/**
 * Recovers `heap` from every worker of `pool` that exits. Returns a function that stops
 * listening. Call it right after creating the pool (workers created before are missed).
 */
export function recoverOnWorkerExit(pool: Piscina, heap: SharedHeap, hooks: RecoveryHooks = {}): () => void {
  const onCreate = (view: object): void => {
    const worker = nodeWorkerOf(view);
    if (worker === undefined || heap.isDetached) return;
    heap.recoverWhenExited(worker).then(
      (report) => hooks.onRecovered?.(report),
      (err: unknown) => {
        if (!heap.isDetached) hooks.onError?.(err);
      },
    );
  };
  pool.on('workerCreate', onCreate);
  return () => pool.off('workerCreate', onCreate);
}

/** A Piscina pool whose dying workers are recovered from `heap` automatically. */
export function createHeapPool(heap: SharedHeap, options: PiscinaOptions, hooks: RecoveryHooks = {}): Piscina {
  const pool = new Piscina({ execArgv: [...POOL_EXEC_ARGV], ...options });
  recoverOnWorkerExit(pool, heap, hooks);
  return pool;
}
