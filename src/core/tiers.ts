/**
 * One thread's handles on the tiers of a heap, built from a buffer, its layout and the
 * thread's slot: the views (HeapMemory), the undo log (Txn), the SpanTable, the lock
 * objects, PageHeap, CentralCache (+ TransferCache) and ThreadCache.
 *
 * Owns no shared state of its own: it only constructs. SharedHeap keeps one HeapTiers per
 * handle; check.ts, stats.ts and recovery.ts read a heap through it (their own small
 * interfaces, which HeapTiers satisfies), never through SharedHeap. Unit tests build one
 * on a small heap from format.ts without SharedHeap (test/unit/).
 *
 * The lock objects are this thread's: each names the slot (owner id = slot + 1) and its
 * MCS queue node, and writes its statistics into the slot's float64 counters.
 */

import { createTierLock, LOCK_KIND_CODE, tierLockFromCode, type Lock, type LockKind } from '../locks/index.js';
import { CentralCache } from './centralcache.js';
import { InvalidHeapError } from './errors.js';
import { centralWordOf, Flag, H, lockNodeWordOf, slotF64Of, slotWordOf, type HeapLayout } from './layout.js';
import { HeapMemory } from './memory.js';
import { NoLock } from './nolock.js';
import { PageHeap } from './pageheap.js';
import { sizeClassTable, type SizeClassTable } from './sizeclasses.js';
import { SpanTable } from './span.js';
import { ThreadCache } from './threadcache.js';
import { Txn } from './txn.js';

export interface HeapTiers {
  readonly buffer: SharedArrayBuffer;
  readonly layout: HeapLayout;
  readonly sizeClasses: SizeClassTable;
  readonly mem: HeapMemory;
  readonly txn: Txn;
  readonly spans: SpanTable;
  readonly pageHeap: PageHeap;
  readonly central: CentralCache;
  readonly threadCache: ThreadCache;
  /** This thread's slot and the Int32 index of its first word. */
  readonly threadSlot: number;
  readonly slotWord: number;
  readonly modes: { threadCache: boolean; globalLock: boolean };
  /** The lock of the globalLock baseline (built in every mode; used only in that one). */
  readonly globalLock: Lock;
  readonly lockKinds: { central: LockKind; pageHeap: LockKind };
  globalLockHandle(): Lock;
}

/** Builds this thread's tiers on an attached slot (the header already validated by readLayout). */
export function buildTiers(buffer: SharedArrayBuffer, layout: HeapLayout, slot: number): HeapTiers {
  const sizeClasses = sizeClassTable(layout.pageSize);
  const mem = new HeapMemory(buffer, layout);
  const slotWord = slotWordOf(layout, slot);
  const txn = new Txn(mem, slotWord, layout.slot.log);
  const spans = new SpanTable(mem, txn);
  const globalMode = (layout.flags & Flag.GLOBAL_LOCK) !== 0;

  const i32 = mem.i32;
  const ownerId = slot + 1;
  const slotF64 = slotF64Of(layout, slot);
  const nodeWord = (id: number): number => lockNodeWordOf(layout, id);
  const make = (kindCode: number, word: number, statsAt: number): Lock => {
    const spec = tierLockFromCode(kindCode);
    if (spec === undefined) throw new InvalidHeapError(`unknown lock kind code ${kindCode}`);
    return createTierLock(spec.kind, { i32, word, ownerId, nodeWord, stats: mem.f64, statsBase: slotF64 + statsAt, policy: spec.policy });
  };
  const globalLock = make(LOCK_KIND_CODE.futex, layout.globalLock >>> 2, layout.slot.globalLockStats);
  const phLock = globalMode ? new NoLock() : make(i32[H.PAGEHEAP_LOCK_KIND]!, layout.pageHeap >>> 2, layout.slot.pageHeapLockStats);
  const pageHeap = new PageHeap(mem, spans, phLock, txn);
  const centralLocks: Lock[] = [new NoLock()];
  for (let c = 1; c < sizeClasses.count; c++) {
    centralLocks.push(globalMode ? new NoLock() : make(i32[H.CENTRAL_LOCK_KIND]!, centralWordOf(layout, c), layout.slot.centralLockStats));
  }
  const central = new CentralCache(mem, spans, pageHeap, sizeClasses, centralLocks, txn, slotWord);
  const threadCache = new ThreadCache(mem, central, sizeClasses, slot);
  return {
    buffer,
    layout,
    sizeClasses,
    mem,
    txn,
    spans,
    pageHeap,
    central,
    threadCache,
    threadSlot: slot,
    slotWord,
    modes: Object.freeze({ threadCache: (layout.flags & Flag.THREAD_CACHE) !== 0, globalLock: globalMode }),
    globalLock,
    lockKinds: Object.freeze({
      central: tierLockFromCode(i32[H.CENTRAL_LOCK_KIND]!)!.kind,
      pageHeap: tierLockFromCode(i32[H.PAGEHEAP_LOCK_KIND]!)!.kind,
    }),
    globalLockHandle: () => globalLock,
  };
}
