/**
 * TransferCache alone, on a small formatted heap: it only moves (head, count) pairs of a
 * class block, so fake chain heads serve. Slot insert/remove (LIFO), full and empty,
 * counters, classes kept apart, and a section that aborts is rolled back by the undo log.
 */
import { describe, expect, it } from 'vitest';
import { CC, centralWordOf, S, TRANSFER_SLOTS } from '../../src/core/layout.js';
import { NoLock } from '../../src/core/nolock.js';
import { TransferCache } from '../../src/core/transfercache.js';
import { smallHeap } from '../helpers/tiers.js';

function setup() {
  const h = smallHeap();
  const tc = new TransferCache(h.mem, h.txn);
  const lock = new NoLock();
  /** Runs fn as one committed critical section, as CentralCache does. */
  const section = <T>(fn: () => T): T => {
    h.txn.enter(lock);
    try {
      const r = fn();
      h.txn.commit();
      return r;
    } finally {
      h.txn.exit(lock);
    }
  };
  return { h, tc, lock, section };
}

describe('TransferCache on a small layout', () => {
  it('fills every slot, then refuses a batch', () => {
    const { h, tc, section } = setup();
    for (let k = 0; k < TRANSFER_SLOTS; k++) expect(section(() => tc.insert(3, 0x10000 + 16 * k, 8))).toBe(true);
    expect(section(() => tc.insert(3, 0x90000, 8))).toBe(false);
    expect(tc.used(3)).toBe(TRANSFER_SLOTS);
    const b = centralWordOf(h.layout, 3);
    expect(h.mem.i32[b + CC.TRANSFER_OBJECTS]).toBe(8 * TRANSFER_SLOTS);
    expect([tc.slotHead(3, 5), tc.slotCount(3, 5)]).toEqual([0x10000 + 16 * 5, 8]);
  });

  it('hands batches back last in, first out, then reports empty', () => {
    const { h, tc, section } = setup();
    section(() => tc.insert(7, 0x20000, 4));
    section(() => tc.insert(7, 0x30000, 5));
    expect(section(() => tc.remove(7))).toBe(5);
    expect(tc.removedHead).toBe(0x30000);
    expect(section(() => tc.remove(7))).toBe(4);
    expect(tc.removedHead).toBe(0x20000);
    expect(section(() => tc.remove(7))).toBe(0);
    expect(tc.used(7)).toBe(0);
    expect(h.mem.i32[centralWordOf(h.layout, 7) + CC.TRANSFER_OBJECTS]).toBe(0);
  });

  it('keeps classes apart', () => {
    const { tc, section } = setup();
    section(() => tc.insert(2, 0x40000, 3));
    expect(tc.used(1)).toBe(0);
    expect(tc.used(3)).toBe(0);
    expect(section(() => tc.remove(3))).toBe(0);
    expect(tc.used(2)).toBe(1);
  });

  it('an aborted section leaves the slots as they were', () => {
    const { h, tc, lock, section } = setup();
    section(() => tc.insert(4, 0x50000, 6));
    h.txn.enter(lock);
    try {
      tc.insert(4, 0x60000, 6);
      tc.remove(4);
      tc.remove(4);
      // no commit: exit() rolls the three changes back
    } finally {
      h.txn.exit(lock);
    }
    expect(tc.used(4)).toBe(1);
    expect([tc.slotHead(4, 0), tc.slotCount(4, 0)]).toEqual([0x50000, 6]);
    expect(h.mem.i32[centralWordOf(h.layout, 4) + CC.TRANSFER_OBJECTS]).toBe(6);
    expect(h.mem.i32[h.slotWord + S.LOG_LEN]).toBe(0);
  });
});
