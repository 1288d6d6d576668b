/**
 * HeapOptions: what SharedHeap.create() accepts, and the one place that validates it.
 *
 * Owns nothing shared. planHeap() checks every option (RangeError / TypeError naming the
 * option, before any buffer exists) and turns them into the header fields of a new heap
 * (layout.ts writeHeader). Only create() (format.ts) calls it; the header is the record
 * every later thread reads, never the options.
 */

import { checkTierLock, tierLockCode, type LockKind, type WaitPolicy } from '../locks/index.js';
import { bufferBytesFor, computeRegions, Flag, MAX_BUFFER_BYTES, type HeaderFields } from './layout.js';
import { sizeClassTable } from './sizeclasses.js';

export interface HeapOptions {
  /** Initial bytes of the heap's pages (1 MiB .. 4 GiB). */
  size: number;
  /** Largest size the heap may grow to (reserved in the buffer up front; > size: the heap grows). */
  maxSize?: number;
  /** Page size, a power of two from 4 KiB to 64 KiB; default 8 KiB. */
  pageSize?: number;
  /** Thread slots (threads attached at once); default 128. */
  maxThreads?: number;
  /**
   * Lock per tier: a kind, or { kind, policy } to choose its waiting policy too (default:
   * the kind's own, LOCK_POLICIES). Defaults: central 'ttas', pageHeap 'futex'. Lab-only
   * kinds (clh, hemlock, anderson, busted) are refused with a LockKindRefusedError.
   */
  locks?: { central?: TierLockOption; pageHeap?: TierLockOption };
  /** Thread caches in front of the central caches; default true. */
  threadCache?: boolean;
  /** Baseline mode: one mutex around every operation, no thread caches. */
  globalLock?: boolean;
  /** Total bytes all thread caches may hold (default min(32 MiB, heap/8)). */
  threadCacheBudget?: number;
  /** Bytes one thread cache may hold (default 4 MiB). */
  threadCacheThreadBudget?: number;
  /**
   * Debugging aids (slower): freed blocks are poisoned and checked when reused, guard bytes
   * after each block are checked on free, allocation stacks are kept for leakReport().
   */
  debug?: boolean;
  /** Freed memory is zeroed, so no worker ever sees another's old data. */
  zeroOnFree?: boolean;
  /**
   * Hardened fast path (default true): safe-linked free lists, every popped link and every
   * freed pointer validated against the shadow bytes, so a double free, an interior
   * pointer or a write after free is a typed error. false is for benchmarking (mimalloc's
   * non-secure mode): plain links and no validation on the thread-cache fast path, so
   * such bugs corrupt the heap silently. Recorded in the header: every thread attached
   * to the heap uses the same mode. Slow paths (large blocks, debug, check()) validate in
   * both modes.
   */
  hardening?: boolean;
}

/** One tier's lock in HeapOptions.locks. */
export type TierLockOption = LockKind | { readonly kind: LockKind; readonly policy?: WaitPolicy };

/** The header code of one tier's lock option (validated: unknown kind RangeError, refused kind or policy LockKindRefusedError). */
function tierLockOptionCode(o: TierLockOption | undefined, dflt: LockKind, tier: string): number {
  const spec = o === undefined ? { kind: dflt } : typeof o === 'string' ? { kind: o } : o;
  if (spec === null || typeof spec !== 'object') throw new TypeError(`locks.${tier} must be a lock kind or { kind, policy }`);
  const kind = spec.kind ?? dflt;
  const policy = 'policy' in spec ? spec.policy : undefined;
  checkTierLock(kind, policy);
  return tierLockCode(kind, policy);
}

export const DEFAULT_LOCKS: { central: LockKind; pageHeap: LockKind } = { central: 'ttas', pageHeap: 'futex' };
const MIN_HEAP = 1 << 20;
const DEFAULT_PAGE_SIZE = 8192;
const DEFAULT_MAX_THREADS = 128;

/**
 * Validates the options and plans the heap: geometry, regions, header words (all but the
 * random key and heap id, which the caller draws). The metadata is sized for the largest
 * heap; the pages region is what is left of 4 GiB.
 */
export function planHeap(options: HeapOptions): Omit<HeaderFields, 'key' | 'heapIdLo' | 'heapIdHi'> {
  if (options === null || typeof options !== 'object') throw new TypeError('SharedHeap.create needs an options object');
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 4096 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new RangeError(`pageSize must be a power of two from 4096 to 65536, got ${pageSize}`);
  }
  const size = options.size;
  if (!Number.isInteger(size) || size < MIN_HEAP || size > MAX_BUFFER_BYTES) {
    throw new RangeError(`size must be an integer from 1 MiB to 4 GiB, got ${size}`);
  }
  const maxSize = options.maxSize ?? size;
  if (!Number.isInteger(maxSize) || maxSize < size || maxSize > MAX_BUFFER_BYTES) {
    throw new RangeError(`maxSize must be an integer from size (${size}) to 4 GiB, got ${maxSize}`);
  }
  const maxThreads = options.maxThreads ?? DEFAULT_MAX_THREADS;
  if (!Number.isInteger(maxThreads) || maxThreads < 1 || maxThreads > 4096) {
    throw new RangeError(`maxThreads must be an integer from 1 to 4096, got ${maxThreads}`);
  }
  const centralLockKind = tierLockOptionCode(options.locks?.central, DEFAULT_LOCKS.central, 'central');
  const pageHeapLockKind = tierLockOptionCode(options.locks?.pageHeap, DEFAULT_LOCKS.pageHeap, 'pageHeap');
  const numClasses = sizeClassTable(pageSize).count;
  const pageShift = 31 - Math.clz32(pageSize);
  const growable = maxSize > size;
  let capacityPages = Math.floor(maxSize / pageSize);
  let regions = computeRegions({ pageSize, pageShift, capacityPages, committedPages: 0, maxThreads, numClasses });
  while (bufferBytesFor(regions, pageSize, capacityPages) > MAX_BUFFER_BYTES) {
    capacityPages = Math.floor((MAX_BUFFER_BYTES - regions.pages) / pageSize);
    regions = computeRegions({ pageSize, pageShift, capacityPages, committedPages: 0, maxThreads, numClasses });
  }
  const committedPages = Math.min(capacityPages, Math.floor(size / pageSize));
  const heapBudget = capacityPages * pageSize;
  const tcTotalBudget = Math.min(options.threadCacheBudget ?? 32 << 20, Math.max(heapBudget >>> 3, 64 << 10));
  return {
    pageSize,
    pageShift,
    capacityPages,
    committedPages,
    maxThreads,
    numClasses,
    regions,
    flags:
      (options.globalLock ? Flag.GLOBAL_LOCK : options.threadCache === false ? 0 : Flag.THREAD_CACHE) |
      (growable ? Flag.GROWABLE : 0) |
      (options.debug ? Flag.DEBUG : 0) |
      (options.zeroOnFree ? Flag.ZERO_ON_FREE : 0) |
      (options.hardening === false ? Flag.UNHARDENED : 0),
    centralLockKind,
    pageHeapLockKind,
    tcTotalBudget,
    tcThreadBudget: Math.min(options.threadCacheThreadBudget ?? 4 << 20, tcTotalBudget),
  };
}

/** Size arguments of malloc/calloc/realloc: a non-negative integer no larger than any heap. */
export function checkSize(n: number, what: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${typeof n === 'number' ? n : typeof n}`);
  }
  if (n > MAX_BUFFER_BYTES) throw new RangeError(`${what} ${n} is larger than any heap (4 GiB)`);
}
