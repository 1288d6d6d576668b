/**
 * threadtest (Hoard): each worker repeatedly allocates a batch of `batch` objects of
 * `size` bytes, stamps them, then verifies and frees them all. Raw per-thread throughput,
 * no sharing.
 *
 * Worker-local state only. A batch cut short by the deadline is finished (freed) in the
 * untimed cleanup. Metric: allocator calls per second.
 */
import { shouldStop } from '../../kit/control.js';
import { CALLS_PER_SECOND, beginTimed, endTimed, newOutcome, SlotBlocks, TaggedBlocks, type WorkloadContext, type WorkloadDef } from './common.js';

export const threadtest: WorkloadDef = {
  name: 'threadtest',
  description: 'each worker allocates a batch of small objects, then frees the batch',
  metric: CALLS_PER_SECOND,
  defaults: { batch: 1000, size: 64 },
  quick: {},
  small: { batch: 100 },
  dataWords: () => 0,
  liveBytes: (p, workers) => workers * p.batch * (p.size + 16),
  rounds: () => 1,

  run(ctx: WorkloadContext) {
    const out = newOutcome();
    const { adapter, params: p } = ctx;
    const ci = ctx.ctl.i32;
    const batch = p.batch;
    const size = p.size;
    const held = new SlotBlocks(new TaggedBlocks(adapter, 'threadtest', ctx.worker), batch);
    let it = 0;
    let allocated = 0;
    let freed = 0;
    let mallocs = 0;
    let frees = 0;

    const deadline = beginTimed(ctx, out);
    outer: for (;;) {
      for (allocated = 0; allocated < batch; allocated++) {
        if (shouldStop(ci, deadline, it++)) break outer;
        held.fill(allocated, size);
        mallocs++;
      }
      for (freed = 0; freed < batch; freed++) {
        if (shouldStop(ci, deadline, it++)) break outer;
        adapter.free(held.checked(freed));
        frees++;
      }
      freed = 0;
      allocated = 0;
    }
    endTimed(ctx, out, mallocs, frees, mallocs + frees);
    // The batch the deadline interrupted: [freed, allocated) are still live.
    held.cleanup(ctx, freed, allocated);
    return out;
  },
};
