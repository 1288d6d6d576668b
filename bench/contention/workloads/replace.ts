/**
 * The random-replacement workloads of mimalloc-bench, scaled to a 2-core machine: each
 * worker keeps `slots` blocks; every iteration picks a random slot, verifies its block and
 * frees it (or, with probability cross/100, hands it to the next worker's inbox to be
 * freed there), then allocates a new block of a size from the workload's size table.
 *
 *   rptest        rpmalloc's benchmark as mimalloc-bench runs it (16..1000 B, a cross-thread
 *                 free rate as a parameter). mimalloc-bench: 1,000 blocks per thread, 2 x
 *                 cores threads; here 1,000 slots per worker, `cross` = % of frees handed
 *                 to another worker (default 25; 0 = none).
 *   alloc-test    alloc-test's Pareto sizes up to 1 KiB. mimalloc-bench keeps ~2^14 live
 *                 blocks per thread; here 4,096 (quick 2,048).
 *   glibc-thread  glibc's bench-malloc-thread: 1,024-block working set per thread, sizes
 *                 log-uniform 8 B..32 KiB (glibc: 4 B..32 KiB; 8 B is the workloads'
 *                 minimum), purely thread-local.
 *   malloc-large  mimalloc-bench's malloc-large: 5-25 MiB blocks. mimalloc-bench keeps 20
 *                 live on one thread; here 4 live per worker and at most 2 workers (20 x
 *                 15 MiB x 64 workers would not fit a wasm32 peer nor this machine's RAM).
 *
 * Worker-local state: the slot arrays (ptr, size, tag). Shared: the inboxes (mixes.ts).
 * Metric: allocator calls per second (frees here + frees of handed blocks + mallocs).
 */
import { shouldStop } from '../../kit/control.js';
import { NEW_WORKLOAD_COUNTS, inboxWords, inboxesOf, sizeTable, SIZE_TABLE, type SizeShape } from './mixes.js';
import { CALLS_PER_SECOND, RAND_MASK, beginTimed, cleanupFree, endTimed, newOutcome, SlotBlocks, TaggedBlocks, type WorkloadContext, type WorkloadDef, type WorkloadParams, type WorkerOutcome } from './common.js';

const INBOX_CAP = 1024;
const DRAIN_EVERY = 32;

interface ReplaceSpec {
  name: string;
  description: string;
  shape: SizeShape;
  defaults: WorkloadParams;
  quick: WorkloadParams;
  small: WorkloadParams;
  maxWorkers?: number;
}

/** One worker's share: fill, timed replacement loop, end barrier, drain and free everything. */
function runReplace(ctx: WorkloadContext, name: string, shape: SizeShape): WorkerOutcome {
  const out = newOutcome();
  const { adapter, worker, workers, params: p, rand } = ctx;
  const ci = ctx.ctl.i32;
  const slots = p.slots;
  const sizes = sizeTable(rand, worker * 977, shape, p.minSize, p.maxSize);
  const { own, next } = inboxesOf(ctx.data, 0, INBOX_CAP, worker, workers);
  const blocks = new TaggedBlocks(adapter, name, worker);
  const held = new SlotBlocks(blocks, slots);
  let si = 0;
  for (let s = 0; s < slots; s++) held.fill(s, sizes[si++ & (SIZE_TABLE - 1)]);
  let remoteFrees = 0;
  const takeRemote = (q: number, n: number, t: number): void => {
    blocks.check(q, n, t, 'handed ');
    adapter.free(q);
  };
  const crossBelow = Math.floor((p.cross / 100) * 65536);
  let ri = (worker * 40503) & RAND_MASK;
  let it = 0;
  let frees = 0;
  const deadline = beginTimed(ctx, out);
  while (!shouldStop(ci, deadline, it)) {
    const r = rand[ri];
    ri = (ri + 1) & RAND_MASK;
    const s = r % slots;
    const q = held.checked(s);
    if ((r >>> 16) >= crossBelow || !next.push(q, held.len[s], held.tag[s])) {
      adapter.free(q);
      frees++;
    }
    held.fill(s, sizes[si++ & (SIZE_TABLE - 1)]);
    if (++it % DRAIN_EVERY === 0) remoteFrees += own.drain(INBOX_CAP, takeRemote);
  }
  endTimed(ctx, out, it, frees + remoteFrees, it);
  // Nobody hands blocks any more: what is in the inbox, and every slot, is freed here.
  own.drain(Infinity, (q, n, t) => {
    blocks.check(q, n, t, 'handed ');
    cleanupFree(ctx, q);
  });
  held.cleanup(ctx, 0, slots);
  return out;
}

function replaceWorkload(spec: ReplaceSpec): WorkloadDef {
  return {
    name: spec.name,
    description: spec.description,
    metric: CALLS_PER_SECOND,
    defaults: spec.defaults,
    quick: spec.quick,
    small: spec.small,
    ...(spec.maxWorkers ? { maxWorkers: spec.maxWorkers } : {}),
    defaultWorkers: NEW_WORKLOAD_COUNTS,
    dataWords: (_p, workers) => workers * inboxWords(INBOX_CAP),
    // live: the slots, plus inboxes full of handed blocks
    liveBytes: (p, workers) => workers * (p.slots + (p.cross > 0 ? INBOX_CAP : 0)) * (avgSize(spec.shape, p.minSize, p.maxSize) + 16),
    maxBlockBytes: (p) => p.maxSize,
    rounds: () => 1,
    run: (ctx) => runReplace(ctx, spec.name, spec.shape),
  };
}

/** Mean request of a size shape, for heap sizing (generous for the skewed shapes). */
function avgSize(shape: SizeShape, min: number, max: number): number {
  if (shape === 'uniform') return (min + max) / 2;
  if (shape === 'loguniform') return (max - min) / Math.log(max / min);
  return Math.min(max, min * 11);
}

export const rptest = replaceWorkload({
  name: 'rptest',
  description: 'rpmalloc-style: random slot of 1,000 per worker replaced by 16..1000 B; cross% of frees handed to the next worker',
  shape: 'uniform',
  defaults: { slots: 1000, minSize: 16, maxSize: 1000, cross: 25 },
  quick: {},
  small: { slots: 64 },
});

export const allocTest = replaceWorkload({
  name: 'alloc-test',
  description: 'alloc-test: random slot of 4,096 per worker replaced by a Pareto-distributed size 8..1024 B',
  shape: 'pareto',
  defaults: { slots: 4096, minSize: 8, maxSize: 1024, cross: 0 },
  quick: { slots: 2048 },
  small: { slots: 64 },
});

export const glibcThread = replaceWorkload({
  name: 'glibc-thread',
  description: "glibc bench-malloc-thread: 1,024-block working set per worker, log-uniform 8 B..32 KiB, thread-local",
  shape: 'loguniform',
  defaults: { slots: 1024, minSize: 8, maxSize: 32768, cross: 0 },
  quick: {},
  small: { slots: 64 },
});

export const mallocLarge = replaceWorkload({
  name: 'malloc-large',
  description: 'malloc-large: 4 live blocks of 5-25 MiB per worker (mimalloc-bench: 20 on one thread), replaced at random',
  shape: 'uniform',
  defaults: { slots: 4, minSize: 5 << 20, maxSize: 25 << 20, cross: 0 },
  quick: { slots: 3 },
  // tests: 16 blocks of eight sizes near 8 KiB (a test's exact-size toy allocator reuses its frees)
  small: { slots: 16, minSize: 8192, maxSize: 8192 + 112 },
  maxWorkers: 2,
});

