/**
 * mstress (mimalloc-bench, after Daan Leijen's test): random sizes (8..128 B, retained
 * ones up to 512 B; 0.9% of blocks x100 and 0.1% x1000, so up to 512 KiB: above the
 * small-object limit), with each iteration: allocate (into a local ring of `slots`) or
 * retain (kept until the worker's round ends), a 66% chance to free a random local block,
 * and a 25% chance to swap a random local block with a random cell of the shared transfer
 * array (Atomics.exchange). Workers are replaced over `rounds` rounds: each round is a
 * fresh set of tasks that attach, run, free everything local and detach (a thread exit),
 * while the blocks parked in the transfer array outlive them into the next round. The last
 * round's workers free the transfer array after the end barrier.
 *
 * Block layout: word 0 = requested size, the remaining words = the tag. A block received
 * through the transfer array carries its own size and tag (checked for consistency);
 * blocks a worker allocated itself are also checked against the tag it remembers.
 *
 * Shared data: `transfer` cells of block pointers (0 = empty), then one Int32 word: the live
 * bytes of the run (usable sizes, adapter.usableSize), kept with Atomics.add by every malloc
 * and free. Each worker compares the value its own add produced with its peak, so the largest
 * worker peak is the exact peak of the live set (the blocks parked in the transfer array
 * included): the main thread's 5 ms samples miss the short peaks of this workload (a
 * 128 KB ring block lives ~1,400 iterations, about a millisecond). Adapters without
 * usableSize fall back to the samples.
 * Metric: allocator calls per second, plus peak memory (blowup) over all rounds.
 */
import { shouldStop } from '../../kit/control.js';
import { CALLS_PER_SECOND, RAND_MASK, VerificationError, beginTimed, cleanupFree, endTimed, newOutcome, TaggedBlocks, type WorkloadContext, type WorkloadDef } from './common.js';
import { stampTag, TAG_STEP, tagIntact } from '../../kit/stamp.js';

/** Tag value meaning "not known locally: take the block's own". */
const UNKNOWN = 0;

/** Size in bytes for `items` 8-byte words, with the rare large multipliers. */
function pickSize(r: number, maxShift: number): number {
  let items = 1 << (r % maxShift);
  const c = (r >>> 8) % 1000;
  if (c < 1) items *= 1000;
  else if (c < 10) items *= 100;
  return items * 8;
}

/**
 * One worker's mstress blocks in one round: each carries its size in word 0 and its tag
 * over the rest, and with `exact` every malloc and free moves the run's live-bytes word
 * (Atomics.add of the usable size; `peak` is the highest value this worker's adds made).
 */
class CountedBlocks {
  readonly h: Int32Array;
  peak = 0;

  constructor(
    readonly blocks: TaggedBlocks,
    readonly data: Int32Array,
    readonly liveWord: number,
    readonly exact: boolean,
  ) {
    this.h = blocks.h;
  }

  /** Allocates n bytes: size word, then the next tag (blocks.tag) over the rest; counted. */
  malloc(n: number): number {
    const q = this.blocks.adapter.malloc(n);
    if (this.exact) {
      const u = this.blocks.adapter.usableSize!(q);
      const v = Atomics.add(this.data, this.liveWord, u) + u;
      if (v > this.peak) this.peak = v;
    }
    this.blocks.tag = (this.blocks.tag + TAG_STEP) | 0;
    this.h[q >>> 2] = n;
    stampTag(this.h, q + 4, n - 4, this.blocks.tag);
    return q;
  }

  /** Checks block p (its own tag, or `want` unless UNKNOWN), uncounts it and frees it (cleanup: cleanupFree). */
  free(ctx: WorkloadContext, p: number, want: number, cleanup: boolean): void {
    const h = this.h;
    const a = p >>> 2;
    const n = h[a];
    const tag = h[a + 1];
    if (n < 8 || (want !== UNKNOWN && tag !== want) || !tagIntact(h, p + 4, n - 4, tag)) {
      throw new VerificationError(
        'mstress',
        `block ${p}: size word ${n}, tag ${tag}${want !== UNKNOWN ? ` (expected ${want})` : ''}, last word ${n >= 8 ? h[((p + n) >>> 2) - 1] : 'n/a'}`,
      );
    }
    if (this.exact) Atomics.sub(this.data, this.liveWord, this.blocks.adapter.usableSize!(p));
    if (cleanup) cleanupFree(ctx, p);
    else this.blocks.adapter.free(p);
  }
}

export const mstress: WorkloadDef = {
  name: 'mstress',
  description: 'random sizes with rare large ones, random frees, swaps through a shared array (Atomics.exchange); workers replaced each round',
  metric: CALLS_PER_SECOND,
  defaults: { slots: 2000, retain: 1000, transfer: 1000, rounds: 4 },
  quick: { rounds: 2 },
  small: { slots: 100, retain: 50, transfer: 64, rounds: 2 },
  dataWords: (p) => p.transfer + 1,
  // average request about 200 B (small ones plus the rare x100 / x1000) plus headers
  liveBytes: (p, workers) => workers * (p.slots + p.retain) * 260 + p.transfer * 260 + 2 * 512 * 1024 * workers,
  rounds: (p) => p.rounds,

  run(ctx: WorkloadContext) {
    const out = newOutcome();
    const { adapter, data: transfer, rand, worker, workers, params: p, task } = ctx;
    const ci = ctx.ctl.i32;
    const slots = p.slots;
    const retainCap = p.retain;
    const cells = p.transfer;
    // the live-bytes counter follows the transfer cells
    const mine = new CountedBlocks(new TaggedBlocks(adapter, 'mstress', worker, task.round), transfer, cells, typeof adapter.usableSize === 'function');
    const ptr = new Int32Array(slots);
    const ptag = new Int32Array(slots);
    const kept = new Int32Array(retainCap);
    const keptTag = new Int32Array(retainCap);
    let keptCount = 0;
    let top = 0;
    let ri = ((worker + 1) * 7919 + task.round * 104729) & RAND_MASK;
    let it = 0;
    let mallocs = 0;
    let frees = 0;

    const deadline = beginTimed(ctx, out);
    while (!shouldStop(ci, deadline, it++)) {
      const r = rand[ri];
      ri = (ri + 1) & RAND_MASK;
      if (keptCount >= retainCap || (r & 0x80000000) !== 0) {
        // allocate into the ring, freeing whatever the ring still holds there
        const old = ptr[top];
        if (old !== 0) {
          mine.free(ctx, old, ptag[top], false);
          frees++;
        }
        ptr[top] = mine.malloc(pickSize(r >>> 3, 5));
        ptag[top] = mine.blocks.tag;
        mallocs++;
        if (++top === slots) top = 0;
      } else {
        kept[keptCount] = mine.malloc(pickSize(r >>> 3, 7));
        keptTag[keptCount++] = mine.blocks.tag;
        mallocs++;
      }
      const r2 = rand[ri];
      ri = (ri + 1) & RAND_MASK;
      if (r2 % 100 < 66) {
        const i = (r2 >>> 8) % slots;
        const q = ptr[i];
        if (q !== 0) {
          mine.free(ctx, q, ptag[i], false);
          frees++;
          ptr[i] = 0;
        }
      }
      const r3 = rand[ri];
      ri = (ri + 1) & RAND_MASK;
      if (r3 % 4 === 0) {
        const i = (r3 >>> 4) % slots;
        const c = (r3 >>> 16) % cells;
        ptr[i] = Atomics.exchange(transfer, c, ptr[i]);
        ptag[i] = UNKNOWN;
      }
    }
    if (mine.exact) out.exactPeakLive = mine.peak;
    endTimed(ctx, out, mallocs, frees, mallocs + frees);

    // The worker "exits": everything it holds locally is freed (always: later rounds
    // would otherwise see a live set that grows with every round).
    for (let i = 0; i < slots; i++) if (ptr[i] !== 0) mine.free(ctx, ptr[i], ptag[i], false);
    for (let i = 0; i < keptCount; i++) mine.free(ctx, kept[i], keptTag[i], false);
    if (task.round === task.rounds - 1) {
      for (let c = worker; c < cells; c += workers) {
        const q = Atomics.exchange(transfer, c, 0);
        if (q !== 0) mine.free(ctx, q, UNKNOWN, true);
      }
    }
    return out;
  },
};
