/**
 * ring (emscripten's test_malloc_multithreading): each worker keeps a ring of `slots`
 * blocks; every iteration verifies and frees the block in the next slot and allocates
 * `base + slot` bytes into it (1000..2023 B by default). No sharing at all: the case where
 * one global lock collapses while per-thread caches should scale.
 *
 * Worker-local state only (the ring is a local Int32Array of (ptr, tag)). Blocks are
 * written and checked through the README's user view (one `new Int32Array(buffer)` per
 * worker, HeapView).
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
import {
  CALLS_PER_SECOND,
  VerificationError,
  beginTimed,
  cleanupFree,
  endTimed,
  HeapView,
  newOutcome,
  type WorkloadContext,
  type WorkloadDef,
} from './common.js';
import { describeTag, stampTag, TAG_STEP, tagBase, tagIntact } from '../../kit/stamp.js';
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

/** Ring cursor and tag carried from the warm-up into the timed loop. */
interface RingState {
  slot: number;
  tag: number;
}

/** The ring loop: up to maxIt iterations or until stop/deadline. Returns iterations. */
function ringLoop(
  adapter: AllocatorAdapter,
  h: HeapView,
  ringPtr: Int32Array,
  ringTag: Int32Array,
  sizeBase: number,
  st: RingState,
  ci: Int32Array,
  deadline: number,
  maxIt: number,
): number {
  const slots = ringPtr.length;
  let s = st.slot;
  let tag = st.tag;
  let it = 0;
  while (it < maxIt && !shouldStop(ci, deadline, it)) {
    const n = sizeBase + s;
    const q = ringPtr[s];
    if (!tagIntact(h.h, q, n, ringTag[s])) throw new VerificationError('ring', describeTag(h.h, q, n, ringTag[s]));
    adapter.free(q);
    const r = adapter.malloc(n);
    tag = (tag + TAG_STEP) | 0;
    stampTag(h.h, r, n, tag);
    ringPtr[s] = r;
    ringTag[s] = tag;
    if (++s === slots) s = 0;
    it++;
  }
  st.slot = s;
  st.tag = tag;
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
    const { adapter, worker, params: p } = ctx;
    const h = new HeapView(adapter.buffer);
    const ci = ctx.ctl.i32;
    const slots = p.slots;
    const sizeBase = p.base;
    const ringPtr = new Int32Array(slots);
    const ringTag = new Int32Array(slots);
    let tag = tagBase(worker, 0);
    for (let s = 0; s < slots; s++) {
      const q = adapter.malloc(sizeBase + s);
      tag = (tag + TAG_STEP) | 0;
      stampTag(h.h, q, sizeBase + s, tag);
      ringPtr[s] = q;
      ringTag[s] = tag;
    }

    const st: RingState = { slot: 0, tag };
    // Warm-up, untimed, in chunks so its time bound is checked (not through shouldStop,
    // whose deadline would stop every worker's timed loop).
    const warmEnd = performance.now() + WARM_MS;
    for (let done = 0; done < WARM_ITERATIONS && performance.now() < warmEnd; done += WARM_CHUNK) {
      ringLoop(adapter, h, ringPtr, ringTag, sizeBase, st, ci, Infinity, WARM_CHUNK);
    }
    const deadline = beginTimed(ctx, out);
    const it = ringLoop(adapter, h, ringPtr, ringTag, sizeBase, st, ci, deadline, Infinity);
    out.ops = it * 2;
    out.mallocs = it;
    out.frees = it;
    out.units = it;
    endTimed(ctx, out);

    for (let k = 0; k < slots; k++) {
      const n = sizeBase + k;
      if (!tagIntact(h.h, ringPtr[k], n, ringTag[k])) throw new VerificationError('ring', describeTag(h.h, ringPtr[k], n, ringTag[k]));
      cleanupFree(ctx, ringPtr[k]);
    }
    return out;
  },
};
