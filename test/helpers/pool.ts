/**
 * Piscina pool over the compiled heap worker, and a timeout guard so a hung worker fails
 * the test instead of blocking the run.
 */
import Piscina from 'piscina';
import { POOL_EXEC_ARGV } from '../../src/pool/heappool.js';
import { fixtureUrl } from './fixtures.js';

/** The test-only tasks on a stress-tester heap (runOps, probe), compiled; throws when not built. */
export const stressOpsWorker = (): URL => fixtureUrl('stress-ops');

/** A pool of exactly `threads` workers running the compiled test/fixtures/heap-worker.ts. */
export function heapPool(threads: number): Piscina {
  return new Piscina({
    filename: fixtureUrl('heap-worker').href,
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
