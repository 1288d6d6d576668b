/**
 * sabmalloc: a TCMalloc-style multithreaded allocator inside a SharedArrayBuffer.
 *
 *   ThreadCache (per thread, no lock) -> CentralCache + TransferCache (per size class,
 *   spinlock) -> PageHeap (one mutex) -> the buffer (a commit watermark grown like brk)
 *
 * Pointers are byte offsets into `heap.buffer`, a plain SharedArrayBuffer that never changes
 * (a growable heap grows inside its reservation): one `new Uint8Array(heap.buffer)` per
 * thread reads and writes every block; heap.mallocAs(type, n) returns a typed view. See README.md for the API and layout.
 */

export { SharedHeap, TooManyThreadsError, DEFAULT_LOCKS, type HeapOptions } from './core/sharedheap.js';
export { ELEMENT_TYPES, type ElementType, type TypedArrayOf } from './core/typed.js';
export type { HeapStats, SizeClassStats, TierLockStats, MetadataRegion } from './core/stats.js';
export type { MemoryReport, MemoryReportOptions } from './core/memreport.js';
export type { CheckOptions } from './core/check.js';
export {
  heapPicture,
  sizeClassOfRequest,
  tierLocks,
  sampleLock,
  type LockParty,
  type HeapPicture,
  type PictureOptions,
  type SpanView,
  type SpanKind,
  type ClassView,
  type ThreadView,
  type LockView,
} from './core/introspect.js';
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
  ThreadIdentityError,
  CannotBlockError,
  LiveThreadError,
} from './core/errors.js';
export { setThreadId, threadId, canBlock } from './core/thread.js';
export { sizeClassTable, SMALL_MAX, type SizeClassInfo, type SizeClassTable } from './core/sizeclasses.js';
export { H as HEADER, LAYOUT_VERSION, MAGIC, HEADER_BYTES } from './core/layout.js';
export {
  LOCK_KINDS,
  TIER_LOCK_KINDS,
  ALL_LOCK_KINDS,
  WAIT_POLICIES,
  LOCK_POLICIES,
  LockKindRefusedError,
  type LockKind,
  type WaitPolicy,
} from './locks/lock.js';
export type { TierLockOption } from './core/options.js';

import { sizeClassTable } from './core/sizeclasses.js';
/** The size classes of the default 8 KiB page size (index 0 is the reserved large class). */
export const SIZE_CLASSES = sizeClassTable(8192).classes;
