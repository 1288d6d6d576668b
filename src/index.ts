/**
 * sabmalloc: a TCMalloc-style multithreaded allocator inside a SharedArrayBuffer.
 *
 *   ThreadCache (per thread, no lock) -> CentralCache + TransferCache (per size class,
 *   spinlock) -> PageHeap (one mutex) -> the buffer (grown like brk/mmap)
 *
 * Pointers are byte offsets into `heap.buffer`. See README.md for the API and layout.
 */

export { SharedHeap, TooManyThreadsError, DEFAULT_LOCKS, type HeapOptions } from './core/sharedheap.js';
export type { HeapStats, SizeClassStats, TierLockStats } from './core/stats.js';
export type { CheckOptions } from './core/check.js';
export type { RecoveryReport } from './core/recovery.js';
export type { LeakReportEntry } from './core/sharedheap.js';
export {
  SabmallocError,
  OutOfMemoryError,
  InvalidPointerError,
  DoubleFreeError,
  InvalidHeapError,
  HeapCorruptionError,
  DetachedHeapError,
  LiveThreadError,
} from './core/errors.js';
export { sizeClassTable, SMALL_MAX, type SizeClassInfo, type SizeClassTable } from './core/sizeclasses.js';
export { H as HEADER, LAYOUT_VERSION, MAGIC, HEADER_BYTES } from './core/layout.js';
export { LOCK_KINDS, type LockKind } from './locks/lock.js';

import { sizeClassTable } from './core/sizeclasses.js';
/** The size classes of the default 8 KiB page size (index 0 is the reserved large class). */
export const SIZE_CLASSES = sizeClassTable(8192).classes;
