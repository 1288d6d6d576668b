/**
 * ring (emscripten's test_malloc_multithreading): each worker keeps a ring of `slots`
 * blocks; every iteration verifies and frees the block in the next slot and allocates
 * `base + slot` bytes into it (1000..2023 B by default). No sharing at all: the case where
 * one global lock collapses while per-thread caches should scale.
 *
 * Worker-local state only (the ring is a SlotBlocks: local arrays of pointer, size and
 * tag). Blocks are written and checked through the README's user view (one
 * `new Int32Array(buffer)` per worker, HeapView).
 *
 * Warm-up: every worker first runs the very same loop function untimed for
 * WARM_ITERATIONS iterations or WARM_MS, whichever ends first, then meets the others at
 * the start barrier. Each worker is
 * its own isolate and compiles the loop itself; at 32 workers on 2 cores the compile
 * threads get little CPU, and a short cold window would measure the JIT, not the
 * allocator. (Parking at the barrier frees cores for compile jobs still queued.)
 * Metric: allocator calls per second (one free + one malloc per iteration).
 */
import { shouldStop } from '../../kit/control.js';
import { CALLS_PER_SECOND, beginTimed, endTimed, newOutcome, SlotBlocks, TaggedBlocks, type WorkloadContext, type WorkloadDef } from './common.js';
import type { AllocatorAdapter } from '../adapters/types.js';

/** Untimed iterations each worker runs before the start barrier (16 passes of 1,024 slots). */
export const WARM_ITERATIONS = 16_384;
/**
 * ... or this long, whichever ends first: an O(live blocks) baseline (@thi.ng/malloc under
 * one lock, 16 workers x 1,024 live blocks) needs minutes for 16,384 iterations a worker,
 * which ran a round past its deadline. The JIT has compiled the loop well before either.
 */
export const WARM_MS = 300;
const WARM_CHUNK = 256;

/**
 * The ring loop from slot `start`: up to maxIt iterations or until stop/deadline, each
 * checking and freeing one slot's block and allocating `sizeBase + slot` bytes into it.
 * Returns the iterations done (the next slot is (start + iterations) mod slots).
 */
function ringLoop(
  adapter: AllocatorAdapter,
  ring: SlotBlocks,
  sizeBase: number,
  start: number,
  ci: Int32Array,
  deadline: number,
  maxIt: number,
): number {
  const slots = ring.ptr.length;
  let s = start;
  let it = 0;
  while (it < maxIt && !shouldStop(ci, deadline, it)) {
    adapter.free(ring.checked(s));
    ring.fill(s, sizeBase + s);
    if (++s === slots) s = 0;
    it++;
  }
  return it;
}

export const ring: WorkloadDef = {
  name: 'ring',
  description: 'per worker a ring of 1,024 slots: free the old block, allocate 1000+slot bytes',
  metric: CALLS_PER_SECOND,
  defaults: { slots: 1024, base: 1000 },
  quick: {},
  small: { slots: 64 },
  dataWords: () => 0,
  liveBytes: (p, workers) => workers * p.slots * (p.base + p.slots / 2 + 16),
  rounds: () => 1,

  run(ctx: WorkloadContext) {
    const out = newOutcome();
    const { adapter, params: p } = ctx;
    const ci = ctx.ctl.i32;
    const slots = p.slots;
    const sizeBase = p.base;
    const ring = new SlotBlocks(new TaggedBlocks(adapter, 'ring', ctx.worker), slots);
    for (let s = 0; s < slots; s++) ring.fill(s, sizeBase + s);

    // Warm-up, untimed, in chunks so its time bound is checked (not through shouldStop,
    // whose deadline would stop every worker's timed loop).
    let slot = 0;
    const warmEnd = performance.now() + WARM_MS;
    for (let done = 0; done < WARM_ITERATIONS && performance.now() < warmEnd; done += WARM_CHUNK) {
      slot = (slot + ringLoop(adapter, ring, sizeBase, slot, ci, Infinity, WARM_CHUNK)) % slots;
    }
    const deadline = beginTimed(ctx, out);
    const it = ringLoop(adapter, ring, sizeBase, slot, ci, deadline, Infinity);
    endTimed(ctx, out, it, it, it);
    ring.cleanup(ctx, 0, slots);
    return out;
  },
};
