/**
 * cache-thrash and cache-scratch (Hoard): tiny objects, each written `writes` times in a
 * loop between its malloc and its free.
 * - cache-thrash (active false sharing): every worker allocates its own objects; an
 *   allocator that hands neighbouring bytes of one cache line to different threads makes
 *   their writes fight over the line.
 * - cache-scratch (passive false sharing): worker 0 allocates one object per worker
 *   back to back before the start; each worker frees the object it was handed first, then
 *   loops. An allocator that gives a freed block to the freeing thread's cache (TCMalloc
 *   does) keeps serving each worker memory on a line it shares with the others.
 *
 * Shared data: cache-scratch keeps the handed-over objects as (ptr, tag) per worker.
 * Verification: each object is stamped with its tag, each of its words is incremented
 * `writes` times, and before the free every word must equal tag + writes.
 *
 * Metric: elapsed time for 100,000 object iterations (lower is better), from the
 * fixed-duration throughput.
 */
import { shouldStop } from '../../kit/control.js';
import { beginTimed, endTimed, newOutcome, TaggedBlocks, type WorkloadContext, type WorkloadDef, type WorkerOutcome } from './common.js';

function makeCache(scratch: boolean): WorkloadDef {
  const name = scratch ? 'cache-scratch' : 'cache-thrash';
  return {
    name,
    description: scratch
      ? 'tiny objects handed to each worker, freed there, then allocated and written in a loop (passive false sharing)'
      : 'tiny objects allocated by each worker and written in a loop (active false sharing)',
    metric: {
      name: 'ms per 100k iterations',
      unit: 'ms / 100,000 object iterations',
      higherIsBetter: false,
      compute: (t) => (t.units > 0 ? (t.seconds * 1000 * 100_000) / t.units : Number.POSITIVE_INFINITY),
    },
    defaults: { size: 8, writes: 100 },
    quick: {},
    small: { writes: 10 },
    dataWords: (_p, workers) => (scratch ? workers * 2 : 0),
    liveBytes: (p, workers) => workers * (p.size + 16) * 4,
    rounds: () => 1,
    run: (ctx) => runCache(ctx, name, scratch),
  };
}

function runCache(ctx: WorkloadContext, name: string, scratch: boolean): WorkerOutcome {
  const out = newOutcome();
  const { adapter, data: d, worker, workers, params: p } = ctx;
  const blocks = new TaggedBlocks(adapter, name, worker);
  const w32 = blocks.h;
  const ci = ctx.ctl.i32;
  const size = p.size;
  const writes = p.writes;
  const words = size >>> 2;
  if (scratch && worker === 0) {
    for (let w = 0; w < workers; w++) {
      d[w * 2] = blocks.malloc(size);
      d[w * 2 + 1] = blocks.tag;
    }
  }
  let it = 0;
  let frees = 0;

  const deadline = beginTimed(ctx, out);
  if (scratch) {
    const q = d[worker * 2];
    blocks.check(q, size, d[worker * 2 + 1]);
    adapter.free(q);
    frees++;
  }
  while (!shouldStop(ci, deadline, it)) {
    const q = blocks.malloc(size);
    const a = q >>> 2;
    for (let r = 0; r < writes; r++) {
      for (let k = 0; k < words; k++) w32[a + k] = (w32[a + k] + 1) | 0;
    }
    blocks.check(q, size, (blocks.tag + writes) | 0);
    adapter.free(q);
    it++;
  }
  endTimed(ctx, out, it, frees + it, it);
  return out;
}

export const cacheThrash = makeCache(false);
export const cacheScratch = makeCache(true);
