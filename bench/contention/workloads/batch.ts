/**
 * MicroQuill's SmartHeap benchmarks as mimalloc-bench runs them, scaled to a 2-core
 * machine: each worker allocates a batch of blocks, then frees the whole batch, round
 * after round; the free order alternates between LIFO (reverse of allocation) and the
 * allocation order, which stresses free-list reuse both ways.
 *
 *   sh6bench   thread-local batches. mimalloc-bench: 2 x cores threads, sizes 1..1000 B,
 *              batches of a few thousand; here batches of 2,000 (quick 1,000), 8..1000 B.
 *   sh8bench   the same plus cross-thread frees: `cross`% of each batch (default 25) is
 *              handed to the next worker's inbox and freed there.
 *
 * Worker-local state: the batch (ptr, size, tag). Shared: the inboxes (mixes.ts).
 * Metric: allocator calls per second.
 */
import { shouldStop } from '../../kit/control.js';
import { NEW_WORKLOAD_COUNTS, inboxWords, inboxesOf, sizeTable, SIZE_TABLE } from './mixes.js';
import { CALLS_PER_SECOND, beginTimed, cleanupFree, endTimed, newOutcome, SlotBlocks, TaggedBlocks, type WorkerOutcome, type WorkloadContext, type WorkloadDef } from './common.js';

const INBOX_CAP = 4096;

function runBatches(ctx: WorkloadContext, name: string): WorkerOutcome {
  const out = newOutcome();
  const { adapter, worker, workers, params: p, rand } = ctx;
  const ci = ctx.ctl.i32;
  const batch = p.batch;
  const sizes = sizeTable(rand, worker * 1291, 'uniform', p.minSize, p.maxSize);
  const { own, next } = inboxesOf(ctx.data, 0, INBOX_CAP, worker, workers);
  const blocks = new TaggedBlocks(adapter, name, worker);
  const held = new SlotBlocks(blocks, batch);
  const crossEvery = p.cross > 0 ? Math.max(1, Math.round(100 / p.cross)) : 0;
  let si = 0;
  let it = 0;
  let live = 0; // blocks of the current batch still held: [0, live) in LIFO rounds
  let first = 0; // FIFO rounds free from first upwards
  let remoteFrees = 0;
  const takeRemote = (q: number, n: number, t: number): void => {
    blocks.check(q, n, t, 'handed ');
    adapter.free(q);
  };
  const release = (k: number): void => {
    const q = held.checked(k);
    if (crossEvery > 0 && k % crossEvery === 0 && next.push(q, held.len[k], held.tag[k])) return;
    adapter.free(q);
    out.frees++;
  };
  const deadline = beginTimed(ctx, out);
  // Round 0 runs whole whatever the clock says: a worker the scheduler kept off the core
  // for the whole window still allocates and frees one batch, so every run exercises both.
  let round = 0;
  outer: for (;;) {
    for (live = 0, first = 0; live < batch; live++) {
      if (shouldStop(ci, deadline, it++) && round > 0) break outer;
      held.fill(live, sizes[si++ & (SIZE_TABLE - 1)]);
      out.mallocs++;
    }
    if ((round & 1) === 0) {
      while (live > 0) {
        if (shouldStop(ci, deadline, it++) && round > 0) break outer;
        release(--live);
      }
    } else {
      while (first < live) {
        if (shouldStop(ci, deadline, it++) && round > 0) break outer;
        release(first++);
      }
      live = 0;
      first = 0;
    }
    remoteFrees += own.drain(INBOX_CAP, takeRemote);
    round++;
  }
  const frees = out.frees + remoteFrees;
  endTimed(ctx, out, out.mallocs, frees, out.mallocs + frees);
  // The interrupted batch: [first, live) is still held; then the inbox.
  held.cleanup(ctx, first, live);
  own.drain(Infinity, (q, n, t) => {
    blocks.check(q, n, t, 'handed ');
    cleanupFree(ctx, q);
  });
  return out;
}

function batchWorkload(name: string, description: string, cross: number): WorkloadDef {
  return {
    name,
    description,
    metric: CALLS_PER_SECOND,
    defaults: { batch: 2000, minSize: 8, maxSize: 1000, cross },
    quick: { batch: 1000 },
    small: { batch: 64 },
    defaultWorkers: NEW_WORKLOAD_COUNTS,
    dataWords: (_p, workers) => workers * inboxWords(INBOX_CAP),
    liveBytes: (p, workers) => workers * (p.batch + (p.cross > 0 ? INBOX_CAP : 0)) * ((p.minSize + p.maxSize) / 2 + 16),
    rounds: () => 1,
    run: (ctx) => runBatches(ctx, name),
  };
}

export const sh6bench = batchWorkload('sh6bench', 'SmartHeap sh6bench: batches of 2,000 blocks of 8..1000 B per worker, freed LIFO and in allocation order by turns', 0);
export const sh8bench = batchWorkload('sh8bench', 'SmartHeap sh8bench: sh6bench plus cross-thread frees (cross% of each batch freed by the next worker)', 25);
