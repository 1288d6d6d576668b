/**
 * Choosing a tier's lock: the old option form (a kind) and the new one ({ kind, policy })
 * both build working heaps; lab-only kinds (the negative control busted, and clh, hemlock,
 * anderson, which cannot pass over a dead waiter) and policies a kind lacks are refused
 * with a LockKindRefusedError before any buffer exists; a header naming a lab-only kind
 * is refused when read.
 */
import { describe, expect, it } from 'vitest';
import { LockKindRefusedError, SharedHeap, TIER_LOCK_KINDS, type HeapOptions } from '../../src/index.js';
import { H } from '../../src/core/layout.js';
import { LOCK_KIND_CODE, createTierLock, tierLockCode, tierLockFromCode } from '../../src/locks/index.js';

const MiB = 1024 * 1024;

function churn(heap: SharedHeap): void {
  const ps: number[] = [];
  for (let k = 0; k < 200; k++) ps.push(heap.malloc(16 + ((k * 97) % 3000)));
  ps.push(heap.malloc(300 * 1024));
  for (const p of ps) heap.free(p);
  heap.check();
}

describe('tier lock options', () => {
  it.each(['busted', 'clh', 'hemlock', 'anderson'] as const)('refuses %s as a tier lock with a typed error naming the reason', (kind) => {
    for (const locks of [{ central: kind }, { pageHeap: kind }, { central: { kind } }] as HeapOptions['locks'][]) {
      let err: unknown;
      try {
        SharedHeap.create({ size: MiB, locks });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LockKindRefusedError);
      expect(String((err as Error).message)).toMatch(kind === 'busted' ? /no mutual exclusion/ : /dead|waiter/);
    }
    const i32 = new Int32Array(new SharedArrayBuffer(4096));
    expect(() => createTierLock(kind, { i32, word: 0, ownerId: 1, nodeWord: (id) => 16 + id * 16 })).toThrow(LockKindRefusedError);
  });

  it('refuses a policy the kind lacks, and an unknown kind (RangeError)', () => {
    expect(() => SharedHeap.create({ size: MiB, locks: { central: { kind: 'tas', policy: 'park' } } })).toThrow(LockKindRefusedError);
    expect(() => SharedHeap.create({ size: MiB, locks: { pageHeap: { kind: 'ticket', policy: 'nap' as never } } })).toThrow(LockKindRefusedError);
    expect(() => SharedHeap.create({ size: MiB, locks: { central: 'nope' as never } })).toThrow(RangeError);
  });

  it.each(TIER_LOCK_KINDS)('%s works as both tiers\' lock in the old form (a kind)', (kind) => {
    const heap = SharedHeap.create({ size: 4 * MiB, locks: { central: kind, pageHeap: kind } });
    churn(heap);
    expect(heap.stats().locks.central.kind).toBe(kind);
  });

  it('records { kind, policy } in the header and builds the locks with that policy', () => {
    const heap = SharedHeap.create({ size: 4 * MiB, locks: { central: { kind: 'mcs', policy: 'park' }, pageHeap: { kind: 'twa', policy: 'spin' } } });
    const i32 = new Int32Array(heap.buffer, 0, 64);
    expect(tierLockFromCode(i32[H.CENTRAL_LOCK_KIND]!)).toEqual({ kind: 'mcs', policy: 'park' });
    expect(tierLockFromCode(i32[H.PAGEHEAP_LOCK_KIND]!)).toEqual({ kind: 'twa', policy: 'spin' });
    churn(heap);
    // Without a policy the header keeps the kind's code alone (what heaps recorded before policies).
    const plain = SharedHeap.create({ size: 4 * MiB, locks: { central: 'mcs' } });
    expect(new Int32Array(plain.buffer, 0, 64)[H.CENTRAL_LOCK_KIND]).toBe(LOCK_KIND_CODE.mcs);
  });

  it('refuses a heap whose header names a lab-only kind', () => {
    const heap = SharedHeap.create({ size: 4 * MiB });
    const i32 = new Int32Array(heap.buffer, 0, 64);
    i32[H.CENTRAL_LOCK_KIND] = tierLockCode('busted');
    expect(() => SharedHeap.attach(heap.buffer)).toThrow(/no tier lock kind/);
  });
});
