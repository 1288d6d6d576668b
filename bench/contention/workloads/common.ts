/**
 * What every workload shares: the task a worker receives, the context it runs in, the
 * barriers around the timed window and the pre-generated random numbers.
 *
 * Owns: nothing shared. A workload's shared state lives in `data` (a SharedArrayBuffer the
 * suite sizes from the workload's `dataWords`), never in the heap under test.
 *
 * Invariants:
 * - Every block a workload allocates is stamped with the kit's tag variant
 *   (bench/kit/stamp.ts: stampTag, a tag unique to that allocation over its requested bytes)
 *   and checked (tagIntact: first, middle and last word) before it is freed, through
 *   TaggedBlocks (and SlotBlocks for blocks held in numbered slots). Two live blocks that
 *   overlap, or one block handed out twice, break some tag: the run then fails with a
 *   VerificationError naming the block (describeTag).
 * - Requested sizes are >= 8 bytes, so a block has at least two whole words.
 * - Hot loops draw random numbers from `rand` (a pre-generated seeded xorshift32 table,
 *   RAND_MASK + 1 entries) and allocate nothing but the blocks under test.
 */
import type { AllocatorAdapter } from '../adapters/types.js';
import { endBarrier, startBarrier, type ControlViews } from '../../kit/control.js';
import { rng32 } from '../../kit/prng.js';
import { describeTag, setTagDensity, stampTag, TAG_STEP, tagBase, tagIntact, type TagDensity } from '../../kit/stamp.js';

export const RAND_BITS = 16;
export const RAND_MASK = (1 << RAND_BITS) - 1;

export class VerificationError extends Error {
  constructor(workload: string, detail: string) {
    super(`${workload}: verification failed: ${detail}`);
    this.name = 'VerificationError';
  }
}

/** What the main thread sends each worker of a run (structured-clonable). */
export interface WorkerTask {
  workload: string;
  allocator: import('../adapters/types.js').AllocatorSpec;
  heap: SharedArrayBuffer;
  /** peers compiled to WebAssembly: the memory `heap` is the buffer of */
  wasmMemory?: import('../peers/wasm.js').WasmMemory;
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  worker: number;
  workers: number;
  params: Record<string, number>;
  seed: number;
  round: number;
  rounds: number;
  durationMs: number;
  /** skip frees in the untimed cleanup (blocks are still verified); see HeapInstance.cheapCleanup */
  skipCleanupFrees: boolean;
  touch: TouchMode;
  /** time one allocator call in this many (0: no latency sampling) */
  latencyEvery?: number;
}

export interface WorkerOutcome {
  /** allocator calls (malloc + free) in the timed window */
  ops: number;
  mallocs: number;
  frees: number;
  /** workload-specific count (e.g. object iterations of cache-*) */
  units: number;
  /** present in the result of the worker that released the start / end barrier */
  startSnapshot?: import('../adapters/types.js').AllocatorSnapshot;
  endSnapshot?: import('../adapters/types.js').AllocatorSnapshot;
  /** memory sampled by this worker (end-barrier releaser: just before cleanup) */
  peakCommitted: number;
  peakLive: number;
  /** allocator metadata inside peakCommitted */
  metadata: number;
  /**
   * Peak of the workload's own live-bytes counter, where it keeps one (mstress): every
   * change is an Atomics.add of the block's usable size, and the worker compares the value
   * its add produced, so the maximum over workers is the exact peak (no sampling).
   */
  exactPeakLive?: number;
  /** sampled malloc/free latency of this worker's task (latency.ts), when sampling is on */
  latency?: import('../latency.js').LatencyHistograms;
  /** worker churn (mleak): how children left and what recovery found */
  churn?: ChurnCounts;
}

/** How a churning workload's children left, and what became of their blocks (mleak). */
export interface ChurnCounts {
  created: number;
  cleanExits: number;
  processExits: number;
  throws: number;
  terminated: number;
  /** children recovered with recoverWhenExited that still held a slot */
  recovered: number;
  /** interrupted operations settled from the intent log (a free redone, a cell put back...) */
  settled: number;
  /**
   * blocks whose malloc returned in a killed child before their pointer was stored (after
   * the run: including those of mallocsInDoubt the heap's final in-use count shows)
   */
  lostOnKill: number;
  /** calls of killed children the slot's count cannot settle (a malloc killed inside a slow path, a free killed inside its push, or a count off by one or two with no call open) */
  mallocsInDoubt: number;
  /** blocks whose free a killed child had begun and the supervisor completed */
  reclaimed: number;
  /** blocks taken over by a replacement from the slot's table */
  adopted: number;
}

export function newChurn(): ChurnCounts {
  return { created: 0, cleanExits: 0, processExits: 0, throws: 0, terminated: 0, recovered: 0, settled: 0, lostOnKill: 0, mallocsInDoubt: 0, reclaimed: 0, adopted: 0 };
}

export function addChurn(into: ChurnCounts, more: ChurnCounts): void {
  for (const key of Object.keys(into) as (keyof ChurnCounts)[]) into[key] += more[key];
}

/** The context of one worker's task, over the views it needs (rand: the filled table). */
export function workloadContext(task: WorkerTask, adapter: AllocatorAdapter, ctl: ControlViews, rand: Uint32Array): WorkloadContext {
  return {
    task,
    adapter,
    ctl,
    data: new Int32Array(task.data),
    rand,
    worker: task.worker,
    workers: task.workers,
    params: task.params,
  };
}

export interface WorkloadContext {
  readonly task: WorkerTask;
  readonly adapter: AllocatorAdapter;
  readonly ctl: ControlViews;
  /** view over the shared workload data */
  readonly data: Int32Array;
  readonly rand: Uint32Array;
  readonly worker: number;
  readonly workers: number;
  readonly params: Record<string, number>;
}

/**
 * This thread's int32 view of the heap buffer, taken the way the README tells users to:
 * one `new Int32Array(buffer)` per worker. Every allocator's buffer here is a plain
 * SharedArrayBuffer that never changes (a sabmalloc heap reserves its maxSize and grows
 * inside it), so the view is an ordinary fixed-length one and covers every block.
 */
export class HeapView {
  readonly h: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.h = new Int32Array(buffer);
  }
}

/**
 * One worker's stamped blocks in one round: the heap view it writes them through
 * (HeapView), the running tag (tagBase(worker, round), then TAG_STEP per allocation, so no
 * two live blocks share a tag) and the workload's name for a failed check. Hot loops
 * allocate with `malloc` and check with `check`; neither allocates anything.
 */
export class TaggedBlocks {
  readonly h: Int32Array;
  /** the tag of the block `malloc` returned last */
  tag: number;

  constructor(
    readonly adapter: AllocatorAdapter,
    readonly workload: string,
    worker: number,
    round = 0,
  ) {
    this.h = new HeapView(adapter.buffer).h;
    this.tag = tagBase(worker, round);
  }

  /** Allocates n bytes and stamps them with the next tag (left in `tag`). */
  malloc(n: number): number {
    const q = this.adapter.malloc(n);
    this.tag = (this.tag + TAG_STEP) | 0;
    stampTag(this.h, q, n, this.tag);
    return q;
  }

  /**
   * Throws the workload's VerificationError unless block q still carries tag t over its n
   * bytes; `what` (a constant, e.g. 'handed ') opens the message.
   */
  check(q: number, n: number, t: number, what = ''): void {
    if (!tagIntact(this.h, q, n, t)) throw new VerificationError(this.workload, what + describeTag(this.h, q, n, t));
  }
}

/**
 * Blocks a worker holds in numbered slots: pointer, requested size and tag in local
 * arrays (threadtest's batch, ring's ring, the replacement workloads' slots).
 */
export class SlotBlocks {
  readonly ptr: Int32Array;
  readonly len: Int32Array;
  readonly tag: Int32Array;

  constructor(
    readonly blocks: TaggedBlocks,
    slots: number,
  ) {
    this.ptr = new Int32Array(slots);
    this.len = new Int32Array(slots);
    this.tag = new Int32Array(slots);
  }

  /** Allocates a stamped block of n bytes into slot s (whatever s held is gone already). */
  fill(s: number, n: number): void {
    this.ptr[s] = this.blocks.malloc(n);
    this.len[s] = n;
    this.tag[s] = this.blocks.tag;
  }

  /** Checks slot s's block (see TaggedBlocks.check) and returns its pointer. */
  checked(s: number): number {
    const q = this.ptr[s];
    this.blocks.check(q, this.len[s], this.tag[s]);
    return q;
  }

  /** Untimed cleanup: checks and frees (cleanupFree) the blocks of slots [from, to). */
  cleanup(ctx: WorkloadContext, from: number, to: number): void {
    for (let s = from; s < to; s++) cleanupFree(ctx, this.checked(s));
  }
}

/**
 * How much of each block a workload writes: the kit's tag stamp density (bench/kit/stamp.ts).
 * 'full': every word, the strongest check and a realistic cost, but on 1-2 KiB blocks the
 * fill costs several times what the allocator does, so it hides the allocators'
 * differences. 'sparse' (the benchmark's default): blocks up to 128 bytes whole, larger ones
 * one word in 16 plus the last. The heap's own check() after every run covers the structure.
 */
export type TouchMode = TagDensity;
export const setTouchMode: (mode: TouchMode) => void = setTagDensity;

/** Fills `out` from a seeded xorshift32 stream (seed 0 is replaced). */
export function fillRandom(out: Uint32Array, seed: number): Uint32Array {
  const next = rng32((seed ^ 0x9e3779b9) >>> 0 || 0x1234567);
  for (let i = 0; i < out.length; i++) out[i] = next();
  return out;
}

export function nowMs(): number {
  return performance.now();
}

/** A fresh outcome record for one worker. */
export function newOutcome(): WorkerOutcome {
  return { ops: 0, mallocs: 0, frees: 0, units: 0, peakCommitted: 0, peakLive: 0, metadata: 0 };
}

/**
 * Waits for all workers at the start barrier (the releaser snapshots the allocator first)
 * and returns the deadline as a local performance.now() value.
 */
export function beginTimed(ctx: WorkloadContext, out: WorkerOutcome): number {
  const { adapter } = ctx;
  return startBarrier(ctx.ctl, ctx.workers, ctx.task.durationMs, () => {
    out.startSnapshot = adapter.snapshot();
    sampleInto(adapter, out);
  });
}

/**
 * Books the timed window's counts (ops = mallocs + frees) and waits for all workers at the
 * end barrier. The last one to finish stamps the end time, snapshots the allocator and
 * samples its memory while every other worker is parked (the live set is at its
 * steady-state high, before any cleanup).
 */
export function endTimed(ctx: WorkloadContext, out: WorkerOutcome, mallocs: number, frees: number, units: number): void {
  out.mallocs = mallocs;
  out.frees = frees;
  out.ops = mallocs + frees;
  out.units = units;
  const { adapter } = ctx;
  endBarrier(ctx.ctl, ctx.workers, () => {
    out.endSnapshot = adapter.snapshot();
    sampleInto(adapter, out);
  });
}

function sampleInto(adapter: AllocatorAdapter, out: WorkerOutcome): void {
  const m = adapter.memory();
  if (m.committed > out.peakCommitted) out.peakCommitted = m.committed;
  if (m.live > out.peakLive) out.peakLive = m.live;
  if (m.metadata > out.metadata) out.metadata = m.metadata;
}

/** Parameter values of one run: defaults, overridden per mode and by the user. */
export type WorkloadParams = Record<string, number>;

/** A workload as the suite sees it (main side) plus its worker-side `run`. */
export interface WorkloadDef {
  readonly name: string;
  readonly description: string;
  /** the workload's own metric, derived from the run's totals */
  readonly metric: {
    readonly name: string;
    readonly unit: string;
    readonly higherIsBetter: boolean;
    compute(t: { ops: number; mallocs: number; frees: number; units: number; seconds: number }): number;
  };
  readonly defaults: WorkloadParams;
  /** overrides for --quick */
  readonly quick: WorkloadParams;
  /** overrides for the tests (tiny live sets) */
  readonly small: WorkloadParams;
  /** int32 words of shared workload data the run needs */
  dataWords(p: WorkloadParams, workers: number): number;
  /** initialises the shared data before any worker starts */
  initData?(data: Int32Array, p: WorkloadParams, workers: number): void;
  /** expected peak live bytes (heap sizing) */
  liveBytes(p: WorkloadParams, workers: number): number;
  /** the largest block the run asks for, when it dwarfs the average (heap sizing) */
  maxBlockBytes?(p: WorkloadParams): number;
  /** largest worker count the workload runs at (its live set would not fit beyond); none = any */
  readonly maxWorkers?: number;
  /**
   * the suite's worker counts this workload runs at when the user gives none (keeps the full
   * default run within its time budget); none = all of them
   */
  readonly defaultWorkers?: readonly number[];
  /**
   * true when the worker side starts worker_threads of its own (mleak): the Node contention
   * worker runs it asynchronously, the browser lab leaves it out
   */
  readonly nodeOnly?: boolean;
  /** threads attached to the heap at once, for heap sizing (default: the worker count) */
  attachedThreads?(workers: number): number;
  /** rounds of fresh attach/detach (mstress); 1 for the others */
  rounds(p: WorkloadParams): number;
  /** worker side: one worker's share of one round */
  run(ctx: WorkloadContext): WorkerOutcome;
}

/** Frees p unless the run skips cleanup frees (blocks are verified either way). */
export function cleanupFree(ctx: WorkloadContext, p: number): void {
  if (!ctx.task.skipCleanupFrees) ctx.adapter.free(p);
}

/** The metric of the throughput workloads: allocator calls per second. */
export const CALLS_PER_SECOND: WorkloadDef['metric'] = {
  name: 'ops/s',
  unit: 'malloc+free calls/s',
  higherIsBetter: true,
  compute: (t) => t.ops / t.seconds,
};
