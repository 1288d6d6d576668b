/**
 * threadtest (Hoard): each worker repeatedly allocates a batch of `batch` objects of
 * `size` bytes, stamps them, then verifies and frees them all. Raw per-thread throughput,
 * no sharing.
 *
 * Worker-local state only. A batch cut short by the deadline is finished (freed) in the
 * untimed cleanup. Metric: allocator calls per second.
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
    const { adapter, worker, params: p } = ctx;
    const h = new HeapView(adapter.buffer);
    const ci = ctx.ctl.i32;
    const batch = p.batch;
    const size = p.size;
    const ptrs = new Int32Array(batch);
    const tags = new Int32Array(batch);
    let tag = tagBase(worker, 0);
    let it = 0;
    let allocated = 0;
    let freed = 0;

    const deadline = beginTimed(ctx, out);
    outer: for (;;) {
      for (allocated = 0; allocated < batch; allocated++) {
        if (shouldStop(ci, deadline, it++)) break outer;
        const q = adapter.malloc(size);
        tag = (tag + TAG_STEP) | 0;
        stampTag(h.h, q, size, tag);
        ptrs[allocated] = q;
        tags[allocated] = tag;
        out.mallocs++;
      }
      for (freed = 0; freed < batch; freed++) {
        if (shouldStop(ci, deadline, it++)) break outer;
        const q = ptrs[freed];
        if (!tagIntact(h.h, q, size, tags[freed])) throw new VerificationError('threadtest', describeTag(h.h, q, size, tags[freed]));
        adapter.free(q);
        out.frees++;
      }
      freed = 0;
      allocated = 0;
    }
    out.ops = out.mallocs + out.frees;
    out.units = out.ops;
    endTimed(ctx, out);

    // The batch the deadline interrupted: [freed, allocated) are still live.
    for (let k = freed; k < allocated; k++) {
      if (!tagIntact(h.h, ptrs[k], size, tags[k])) throw new VerificationError('threadtest', describeTag(h.h, ptrs[k], size, tags[k]));
      cleanupFree(ctx, ptrs[k]);
    }
    return out;
  },
};
