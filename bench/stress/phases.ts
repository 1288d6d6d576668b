/**
 * Steps that both stress modes (run.ts, misuse.ts) take between their phases: bounded
 * waits that turn a hang into a failure, summing what the workers report, and the final
 * clean-heap checks.
 */
import { join } from 'node:path';
import { SharedHeap } from '../../src/index.js';
import { CW, statsBase, WS, type ControlViews } from './shared.js';
import { OP_COUNT_KEYS, zeroOpCounts } from './shared.js';
import type { StressFailure, WorkCounts } from './types.js';
import type { ResolvedStressOptions, StressSummary } from './options.js';

export class PhaseTimeout extends Error {}

export async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PhaseTimeout(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

export function emptySummary(o: ResolvedStressOptions, heap: SharedHeap): StressSummary {
  return {
    ok: false,
    failures: [],
    options: o,
    rounds: 0,
    ...zeroOpCounts(),
    workMs: 0,
    elapsedMs: 0,
    opsPerSec: 0,
    peakLiveBytes: 0,
    peakCommittedBytes: heap.stats().committedBytes,
    peakLiveBlocks: 0,
    growCount: 0,
    heapBytes: 0,
    maxHeapBytes: 0,
    threadsUsed: 0,
    kills: 0,
    killsMidTask: 0,
    inFlightRecovered: 0,
    lostToKills: 0,
    locks: null,
    misuse: null,
    final: null,
  };
}

/**
 * The racing-misuse mode: `workers` racers (bench/stress/race.ts race) in lock-step
 * phases for `ops` phases (or `durationSec`), and one watchdog thread running
 * check({ quiescent: false }) all along. The main thread supervises: a racer pool that
 * does not finish, or a watchdog whose check() call does not return, within the bounds is
 * a hang (then the heap may be wedged and the end checks are skipped). Afterwards the heap
 * must be what a normal run leaves: check() passes, nothing in use, every page free in
 * one span, only the main thread attached.
 */
export async function boundedSettle<T>(tasks: Promise<T>[], ms: number, stop: () => void): Promise<PromiseSettledResult<T>[] | null> {
  const all = Promise.allSettled(tasks);
  try {
    return await bounded(all, ms, 'tasks');
  } catch (e) {
    if (!(e instanceof PhaseTimeout)) throw e;
    stop();
    try {
      return await bounded(all, 10_000, 'tasks');
    } catch {
      return null;
    }
  }
}

export function account(summary: StressSummary, c: WorkCounts, threads: Set<number>, failures: StressFailure[], drain = false): void {
  for (const k of OP_COUNT_KEYS) if (k !== 'ops' || !drain) summary[k] += c[k];
  threads.add(c.threadId);
  failures.push(...c.failures);
}

/** Waits for every task, bounded; a hang raises STOP, waits a little more, then gives up. */
export async function settle(tasks: Promise<WorkCounts | null>[], ms: number, what: string, cv: ControlViews, failures: StressFailure[]): Promise<WorkCounts[]> {
  const all = Promise.allSettled(tasks);
  let results: PromiseSettledResult<WorkCounts | null>[];
  try {
    results = await bounded(all, ms, what);
  } catch (e) {
    if (!(e instanceof PhaseTimeout)) throw e;
    Atomics.store(cv.i32, CW.STOP, 1);
    try {
      results = await bounded(all, 10_000, what);
      failures.push({ kind: 'hang', seenBy: 'the main thread', detail: `${what} needed a STOP after ${ms} ms (progress too slow or stuck)` });
    } catch {
      const stuck: number[] = [];
      for (let w = 0; w < cv.layout.workers; w++) if (cv.f64[statsBase(w) + WS.DONE] !== 1) stuck.push(w);
      failures.push({
        kind: 'hang',
        seenBy: 'the main thread',
        detail: `${what} did not finish within ${ms} ms, nor 10 s after STOP; workers not done: ${stuck.slice(0, 20).join(', ')}${stuck.length > 20 ? ', ...' : ''}`,
      });
      return [];
    }
  }
  const ok: WorkCounts[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') {
      if (r.value !== null) ok.push(r.value);
    }
    else failures.push({ kind: 'error', seenBy: 'a worker', detail: `task failed: ${(r.reason as Error)?.stack ?? String(r.reason)}` });
  }
  return ok;
}

/** The end-of-round requirements; returns the figures, pushes failures. */
export function finalState(heap: SharedHeap, failures: StressFailure[], when: string, lost = 0): NonNullable<StressSummary['final']> {
  let checkPassed = true;
  try {
    heap.check();
  } catch (e) {
    checkPassed = false;
    failures.push({ kind: 'check', seenBy: 'the main thread', detail: `check() at ${when}: ${(e as Error).message}` });
  }
  const s = heap.stats();
  const fin = {
    checkPassed,
    inUseObjects: s.inUseObjects,
    attachedThreads: s.attachedThreads,
    pageHeapFreeBytes: s.pageHeapFreeBytes,
    heapBytes: s.heapBytes,
    pageHeapFreeSpanCount: s.pageHeapFreeSpanCount,
  };
  const problems: string[] = [];
  if (fin.attachedThreads !== 1) problems.push(`${fin.attachedThreads} threads attached (only the main thread should be)`);
  if (fin.inUseObjects !== lost) {
    problems.push(`${fin.inUseObjects} objects still in use (${s.inUseBytes} bytes)${lost > 0 ? `, ${lost} of them lost to killed workers` : ''}`);
  }
  // Blocks lost to killed workers stay allocated: then the pages cannot all be free.
  if (lost === 0 && fin.pageHeapFreeBytes !== fin.heapBytes) {
    problems.push(
      `page heap holds ${fin.pageHeapFreeBytes} of ${fin.heapBytes} bytes free (central ${s.centralCacheFreeBytes} B, ` +
        `transfer ${s.transferCacheFreeBytes} B, thread caches ${s.threadCacheFreeBytes} B, small spans ${s.smallSpanBytes} B, large ${s.largeBytes} B)`,
    );
  }
  if (lost === 0 && fin.pageHeapFreeSpanCount !== 1) {
    problems.push(`free pages in ${fin.pageHeapFreeSpanCount} spans, not coalesced into 1: ${JSON.stringify(s.pageHeapFreeSpans)}`);
  }
  if (problems.length > 0) failures.push({ kind: 'leak', seenBy: 'the main thread', detail: `at ${when}: ${problems.join('; ')}` });
  return fin;
}
