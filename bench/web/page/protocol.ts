/**
 * Messages between the lab page (main thread) and its workers. Everything here is
 * structured-clonable; SharedArrayBuffers travel by reference.
 *
 * Roles of a worker (one role per worker, fresh workers for every run):
 * - monitor: creates the heap of a run (SharedHeap.create attaches it), answers stats()
 *   while the run goes on, runs check() after it, detaches last;
 * - runner: one worker's share of a contention workload (bench/contention/workloads);
 * - hammer: one worker of a lock-lab sweep point (bench/locks/hammer.ts);
 * - stepper: slow motion (stepper.ts): creates a small heap of its own and makes one
 *   malloc or free per request, answering with a picture of the heap after it
 *   (heapPicture) and the heap's own stats() counters, to check the picture against.
 * Every worker gets its thread id from the page (setThreadId) before it attaches.
 */
import type { AllocatorSpec, HeapSizing, MemorySample } from '../../contention/adapters/types.js';
import type { WorkerOutcome, WorkerTask } from '../../contention/workloads/common.js';
import type { HeapPicture, HeapStats } from '../../../src/index.js';
import type { HammerResult, HammerTask } from '../../locks/hammer.js';

export type ToWorker =
  | { type: 'create'; threadId: number; spec: AllocatorSpec; sizing: HeapSizing }
  | { type: 'stats' }
  | { type: 'check' }
  | { type: 'dispose' }
  | { type: 'run'; threadId: number; task: WorkerTask; counts: SharedArrayBuffer }
  | { type: 'hammer'; threadId: number; task: HammerTask }
  | { type: 'step-open'; threadId: number; size: number; maxSize: number }
  | { type: 'step'; op: 'malloc'; size: number }
  | { type: 'step'; op: 'free'; ptr: number };

/** The heap's own counters after a step (stats()), beside the picture the page explains. */
export interface StepCounters {
  threadCacheHits: number;
  threadCacheMisses: number;
  centralLockAcquisitions: number;
  pageHeapLockAcquisitions: number;
  growCount: number;
  smallSpanBytes: number;
  largeBytes: number;
  inUseObjects: number;
}

export type FromWorker =
  | { type: 'created'; buffer: SharedArrayBuffer; stats: HeapStats; memory: MemorySample }
  | { type: 'stats'; stats: HeapStats; memory: MemorySample }
  | { type: 'checked'; ok: boolean; error?: string; checkMs: number; stats: HeapStats }
  | { type: 'disposed' }
  | { type: 'done'; outcome: WorkerOutcome }
  | { type: 'hammered'; result: HammerResult }
  | { type: 'stepped'; ptr: number; buffer: SharedArrayBuffer; picture: HeapPicture; counters: StepCounters }
  | { type: 'error'; message: string; code?: string; name?: string };

/** Float64 slots between two workers' live operation counters (one cache line each). */
export const COUNT_STRIDE = 8;
