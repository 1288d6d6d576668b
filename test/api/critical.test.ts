/**
 * Critical sections survive a throw. An internal error (undo-log
 * overflow, a broken list found halfway, any bug) thrown inside a critical section must
 * not leave the lock held or the transaction open: the application may catch it and run on.
 *
 * Method: for each tier's operation (CentralCache refill and release, TransferCache
 * insert/remove, PageHeap allocate/free of spans and large blocks, realloc's claim, the
 * global-lock mode), make the k-th logged write of the operation (Txn.set, fillPageClass,
 * setByte) throw, for k = 1 .. every logged write the operation does. After each injected
 * throw: no lock is held, no transaction is open, check() passes, and the heap serves the
 * same operation again.
 */
import { describe, expect, it } from 'vitest';
import { SharedHeap, type HeapOptions } from '../../src/index.js';
import { PENDING_SPANS, S } from '../../src/core/layout.js';
import { NO_SPAN } from '../../src/core/span.js';
import { Txn } from '../../src/core/txn.js';
import { MiB } from '../helpers/heap.js';

class Injected extends Error {}

type LogMethod = 'set' | 'fillPageClass' | 'setByte';
const LOGGED: LogMethod[] = ['set', 'fillPageClass', 'setByte'];

/** Makes the k-th logged write of heap's Txn throw (k = 0: never); returns the count so far. */
function inject(heap: SharedHeap, k: number): { count: () => number; restore: () => void } {
  let n = 0;
  const txn = heap.txn as unknown as Record<LogMethod, (...a: number[]) => void>;
  for (const m of LOGGED) {
    const original = Txn.prototype[m] as (...a: number[]) => void;
    txn[m] = function (this: Txn, ...a: number[]): void {
      if (++n === k) throw new Injected(`injected throw at logged write ${k} (${m})`);
      original.apply(this, a);
    };
  }
  return {
    count: () => n,
    restore: () => {
      for (const m of LOGGED) delete txn[m];
    },
  };
}

function pendingSpans(heap: SharedHeap): boolean {
  const i32 = heap.mem.i32;
  for (let k = 0; k < PENDING_SPANS; k++) if (i32[heap.slotWord + S.PENDING + k] !== NO_SPAN) return true;
  return false;
}

function heldLocks(heap: SharedHeap): string[] {
  const held: string[] = [];
  if (heap.pageHeap.lock.holder() !== 0) held.push('pageHeap');
  if (heap.globalLockHandle().holder() !== 0) held.push('global');
  heap.central.locks.forEach((l, c) => {
    if (l.holder() !== 0) held.push(`central[${c}]`);
  });
  return held;
}

interface Scenario {
  name: string;
  options: HeapOptions;
  /** Brings a fresh heap to the state just before the operation; returns its argument. */
  setup: (heap: SharedHeap) => number[];
  op: (heap: SharedHeap, arg: number[]) => void;
}

const SMALL = 48;
const scenarios: Scenario[] = [
  {
    name: 'CentralCache.removeRange + populate + PageHeap.allocateSpan (first malloc of a class)',
    options: { size: 2 * MiB },
    setup: () => [],
    op: (h) => void h.malloc(SMALL),
  },
  {
    name: 'CentralCache.insertRange + TransferCache.insert (a full thread-cache list)',
    options: { size: 2 * MiB },
    setup: (h) => {
      const ps: number[] = [];
      for (let i = 0; i < 200; i++) ps.push(h.malloc(SMALL));
      for (const p of ps.slice(1)) h.free(p); // max length grows on the way: lists overflow
      return [ps[0]!];
    },
    op: (h, [p]) => {
      h.free(p!);
      h.releaseCachedMemory(); // flush (spans emptied: S.PENDING -> PageHeap), drain transfer caches
    },
  },
  {
    name: 'TransferCache.remove (a refill from a stored batch)',
    options: { size: 2 * MiB },
    setup: (h) => {
      const ps: number[] = [];
      for (let i = 0; i < 600; i++) ps.push(h.malloc(SMALL));
      for (const p of ps) h.free(p);
      return [];
    },
    op: (h) => {
      for (let i = 0; i < 600; i++) h.malloc(SMALL);
    },
  },
  {
    name: 'PageHeap large allocate and free (one transaction each)',
    options: { size: 2 * MiB },
    setup: () => [],
    op: (h) => h.free(h.malloc(300_000)),
  },
  {
    name: 'realloc of a large block (claim under the PageHeap lock, allocate, release)',
    options: { size: 4 * MiB },
    setup: (h) => [h.malloc(300_000)],
    op: (h, [p]) => void h.realloc(p!, 1 * MiB),
  },
  {
    name: 'debug heap: free of a large block (claim, guard check, release)',
    options: { size: 2 * MiB, debug: true },
    setup: (h) => [h.malloc(300_000)],
    op: (h, [p]) => h.free(p!),
  },
  {
    name: 'threadCache: false: every malloc/free through the central lock',
    options: { size: 2 * MiB, threadCache: false },
    setup: () => [],
    op: (h) => {
      const a = h.malloc(SMALL);
      const b = h.malloc(SMALL);
      h.free(a);
      h.free(b);
    },
  },
  {
    name: 'globalLock: small and large malloc/free under the global lock',
    options: { size: 2 * MiB, globalLock: true },
    setup: () => [],
    op: (h) => {
      const a = h.malloc(SMALL);
      h.free(h.malloc(300_000));
      h.free(a);
      h.releaseCachedMemory();
    },
  },
];

/**
 * One thread runs every scenario, so two thread slots are enough; a heap's create(),
 * check() and stats() visit every slot, and each injection point builds a fresh heap.
 */
const fresh = (sc: Scenario): SharedHeap => SharedHeap.create({ maxThreads: 2, ...sc.options });

describe('a throw inside any critical section releases its lock and rolls back', () => {
  for (const sc of scenarios) {
    it(sc.name, () => {
      // How many logged writes the operation does when nothing throws.
      const clean = fresh(sc);
      const arg = sc.setup(clean);
      const counter = inject(clean, 0);
      sc.op(clean, arg);
      const writes = counter.count();
      counter.restore();
      clean.check();
      clean.detach();
      expect(writes).toBeGreaterThan(0);
      const step = Math.max(1, Math.floor(writes / 120));
      for (let k = 1; k <= writes; k += k < 8 || writes - k < 8 ? 1 : step) {
        const heap = fresh(sc);
        const a = sc.setup(heap);
        const inj = inject(heap, k);
        let thrown: unknown;
        try {
          sc.op(heap, a);
        } catch (e) {
          thrown = e;
        } finally {
          inj.restore();
        }
        const where = `${sc.name}: throw at logged write ${k} of ${writes}`;
        expect(thrown, where).toBeInstanceOf(Injected);
        expect(heldLocks(heap), `${where}: locks left held`).toEqual([]);
        expect(heap.txn.length(), `${where}: open transaction`).toBe(0);
        // Spans this thread emptied wait in its slot (S.PENDING) when the PageHeap section
        // that takes them threw; its next central operation hands them over. check() (a
        // quiescent walk) counts them as class spans, so it runs after that operation.
        if (!pendingSpans(heap)) expect(() => heap.check(), where).not.toThrow();
        // Still serving: small and large blocks, and the drain.
        const p = heap.malloc(SMALL);
        const q = heap.malloc(300_000);
        heap.free(p);
        heap.free(q);
        heap.releaseCachedMemory();
        expect(() => heap.check(), `${where}: after more work`).not.toThrow();
        heap.detach();
      }
    });
  }
});
