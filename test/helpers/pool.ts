/**
 * Piscina pool over the compiled heap worker, and a timeout guard so a hung worker fails
 * the test instead of blocking the run.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Piscina from 'piscina';
import { POOL_EXEC_ARGV } from '../../src/pool/heappool.js';

export const HEAP_WORKER = new URL('../../dist/test/fixtures/heap-worker.js', import.meta.url);
/** The test-only tasks on a stress-tester heap (runOps, probe), compiled. */
export const STRESS_OPS_WORKER = new URL('../../dist/test/fixtures/stress-ops.js', import.meta.url);

/** A pool of exactly `threads` workers running dist/test/fixtures/heap-worker.js. */
export function heapPool(threads: number): Piscina {
  if (!existsSync(fileURLToPath(HEAP_WORKER))) {
    throw new Error(`${fileURLToPath(HEAP_WORKER)} is missing: run \`npm run build\` first (npm test does)`);
  }
  return new Piscina({
    filename: HEAP_WORKER.href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
    // Tasks wait in the queue; the pool never spawns more than `threads`.
    maxQueue: 'auto',
    execArgv: [...POOL_EXEC_ARGV],
  });
}

/** Rejects with a "hang" error after `ms`; the caller destroys the pool in `finally`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (hang?)`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}
