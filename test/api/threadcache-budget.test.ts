/**
 * The thread-cache budget on a thread that has used every size class: the big classes,
 * one object per span, must not hold the cache over its budget for good. Counted at two
 * blocks each they add up to more than the default 4 MiB, and a cache over budget
 * scavenges (gives half of every list back) on every fetch: small lists then never grow,
 * and each malloc miss costs central-lock trips for every class. Counted by the central
 * lock's acquisitions, one thread, no timing.
 */
import { describe, expect, it } from 'vitest';
import { SharedHeap } from '../../src/index.js';
import { sizeClassTable } from '../../src/core/sizeclasses.js';

const MiB = 1 << 20;

/** Central-lock acquisitions of 30 rounds of 256 mallocs of 64 B and their frees. */
function smallRounds(heap: SharedHeap): number {
  const before = heap.stats().locks.central.acquisitions;
  const blocks: number[] = [];
  for (let round = 0; round < 30; round++) {
    for (let k = 0; k < 256; k++) blocks.push(heap.malloc(64));
    while (blocks.length) heap.free(blocks.pop()!);
  }
  return heap.stats().locks.central.acquisitions - before;
}

describe('thread-cache budget with every size class used', () => {
  it('small classes cost no more central-lock trips after the one-object-span classes were used', () => {
    const fresh = SharedHeap.create({ size: 64 * MiB });
    const baseline = smallRounds(fresh);

    const used = SharedHeap.create({ size: 64 * MiB });
    const table = sizeClassTable(used.layout.pageSize);
    const spanSizes = table.classes.slice(1).filter((c) => c.objectsPerSpan === 1).map((c) => c.size);
    expect(spanSizes.length).toBeGreaterThan(20);
    for (const size of spanSizes) used.free(used.malloc(size));
    const after = smallRounds(used);

    expect(baseline).toBeGreaterThan(0);
    expect(after).toBeLessThanOrEqual(baseline + 4);
    used.check();
    fresh.check();
  });
});
