/**
 * Debug heaps check that a reused block is still poisoned past its link word, and past its
 * second word when that word holds the depth its thread-cache list gave it. The depth
 * must be judged when the block is popped: a fetch from the central cache pops its block
 * and then (over budget) gives half of every list back, the list the block came from
 * included, after which the block's depth no longer matches what is left of the list.
 * Read then, the heap's own depth word looked like a write after free: a false
 * HeapCorruptionError, and the block it was about stayed allocated for good.
 */
import { describe, expect, it } from 'vitest';
import { SharedHeap, sizeClassTable } from '../../src/index.js';

const REQUEST = 500;
const DEBUG_EXTRA = 12;

describe('debug heap: the depth-word check', () => {
  it('does not take a fetch that scavenged its own list for a use after free', () => {
    const table = sizeClassTable(8192);
    const size = table.classes[table.classOf[(REQUEST + DEBUG_EXTRA + 15) >>> 4]!]!.size;
    // The first fetch (1 object, max length 1 -> 2) brings capacity to 3 sizes; the second
    // (2 objects, max length 2 -> 3) to 4 sizes: over this budget, so it scavenges the
    // list it has just popped from, leaving it empty while the popped block says depth 2.
    const heap = SharedHeap.create({ size: 4 << 20, debug: true, threadCacheThreadBudget: Math.floor(3.5 * size) });
    try {
      const a = heap.malloc(REQUEST);
      const b = heap.malloc(REQUEST);
      const c = heap.malloc(REQUEST);
      for (const p of [a, b, c]) heap.free(p);
      heap.releaseCachedMemory();
      expect(heap.stats().inUseObjects, 'no block kept allocated by a false error').toBe(0);
      heap.check();
    } finally {
      heap.detach();
    }
  });

  it('still reports a write after free over the depth word of a block popped off a longer list', () => {
    const heap = SharedHeap.create({ size: 4 << 20, debug: true });
    try {
      const ps = Array.from({ length: 8 }, () => heap.malloc(REQUEST));
      for (const p of ps) heap.free(p);
      const last = ps[ps.length - 1]!; // the list's head: the next malloc pops it
      const u32 = new Uint32Array(heap.buffer, 0, heap.buffer.byteLength >>> 2);
      u32[(last >>> 2) + 1] = 12345; // a stray write into the freed block's second word
      expect(() => heap.malloc(REQUEST)).toThrow(/written at offset 4 while it was free/);
    } finally {
      heap.detach();
    }
  });
});
