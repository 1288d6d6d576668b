/**
 * larson (Larson & Krishnan, as in mimalloc-bench): each worker keeps an array of `slots`
 * blocks of 8..1000 bytes; every iteration verifies and frees a random slot and allocates
 * a new random-sized block into it. Server-like churn with remote frees: every
 * `handoffEvery` iterations a worker swaps its whole array for the one parked on the
 * hand-off board (Atomics.exchange), so it goes on freeing blocks another worker
 * allocated.
 *
 * Shared data: [board: `board` cells, padded to 16 words][arrays: (workers + board) x slots
 * x (ptr, size, tag)]. Every array is at every moment held by exactly one worker or parked
 * in exactly one board cell (exchange never empties a cell), so after the end barrier the
 * arrays held plus the board cells cover every live block exactly once.
 *
 * Metric: allocator calls per second (one free + one malloc per iteration).
 */
import { shouldStop } from '../../kit/control.js';
import { CALLS_PER_SECOND, RAND_MASK, beginTimed, cleanupFree, endTimed, newOutcome, TaggedBlocks, type WorkloadContext, type WorkloadDef, type WorkloadParams } from './common.js';

const BOARD_WORDS = 16;

function arraysBase(): number {
  return BOARD_WORDS;
}

function boardCells(p: WorkloadParams, workers: number): number {
  return Math.max(1, Math.min(p.board, workers, BOARD_WORDS));
}

/** Allocates a stamped block of n bytes into the (ptr, size, tag) cell at d[o]. */
function putBlock(d: Int32Array, o: number, blocks: TaggedBlocks, n: number): void {
  d[o] = blocks.malloc(n);
  d[o + 1] = n;
  d[o + 2] = blocks.tag;
}

/** Checks the block of the cell at d[o] and returns its pointer. */
function takeBlock(d: Int32Array, o: number, blocks: TaggedBlocks): number {
  const q = d[o];
  blocks.check(q, d[o + 1], d[o + 2]);
  return q;
}

/** Allocates every slot of array `arr`. */
function fillArray(ctx: WorkloadContext, blocks: TaggedBlocks, arr: number): void {
  const { params: p, data: d, rand } = ctx;
  const slots = p.slots;
  const span = p.maxSize - p.minSize + 1;
  let ri = (arr * 7919) & RAND_MASK;
  const base = arraysBase() + arr * slots * 3;
  for (let s = 0; s < slots; s++) {
    putBlock(d, base + s * 3, blocks, p.minSize + (rand[ri] % span));
    ri = (ri + 1) & RAND_MASK;
  }
}

function drainArray(ctx: WorkloadContext, blocks: TaggedBlocks, arr: number): void {
  const slots = ctx.params.slots;
  const base = arraysBase() + arr * slots * 3;
  for (let s = 0; s < slots; s++) cleanupFree(ctx, takeBlock(ctx.data, base + s * 3, blocks));
}

export const larson: WorkloadDef = {
  name: 'larson',
  description: 'per worker `slots` blocks of 8..1000 B; free a random slot, allocate into it; arrays handed between workers (remote frees)',
  metric: CALLS_PER_SECOND,
  defaults: { slots: 5000, minSize: 8, maxSize: 1000, handoffEvery: 4096, board: 4 },
  quick: { slots: 2000 },
  small: { slots: 200, handoffEvery: 64 },
  dataWords: (p, workers) => arraysBase() + (workers + boardCells(p, workers)) * p.slots * 3,
  initData(data, p, workers) {
    const b = boardCells(p, workers);
    for (let c = 0; c < b; c++) data[c] = workers + c;
  },
  liveBytes: (p, workers) => (workers + boardCells(p, workers)) * p.slots * ((p.minSize + p.maxSize) / 2 + 16),
  rounds: () => 1,

  run(ctx: WorkloadContext) {
    const out = newOutcome();
    const { adapter, data: d, rand, worker, workers, params: p } = ctx;
    const ci = ctx.ctl.i32;
    const cells = boardCells(p, workers);
    const blocks = new TaggedBlocks(adapter, 'larson', worker);
    fillArray(ctx, blocks, worker);
    if (worker < cells) fillArray(ctx, blocks, workers + worker);

    const slots = p.slots;
    const minSize = p.minSize;
    const span = p.maxSize - minSize + 1;
    const handoffEvery = p.handoffEvery;
    const cell = worker % cells;
    let arr = worker;
    let base = arraysBase() + arr * slots * 3;
    let ri = (worker * 40503) & RAND_MASK;
    let it = 0;
    let nextHandoff = handoffEvery;

    const deadline = beginTimed(ctx, out);
    while (!shouldStop(ci, deadline, it)) {
      const o = base + (rand[ri] % slots) * 3;
      ri = (ri + 1) & RAND_MASK;
      adapter.free(takeBlock(d, o, blocks));
      putBlock(d, o, blocks, minSize + (rand[ri] % span));
      ri = (ri + 1) & RAND_MASK;
      if (++it === nextHandoff) {
        nextHandoff += handoffEvery;
        arr = Atomics.exchange(d, cell, arr);
        base = arraysBase() + arr * slots * 3;
      }
    }
    endTimed(ctx, out, it, it, it);

    drainArray(ctx, blocks, arr);
    if (worker < cells) drainArray(ctx, blocks, Atomics.load(d, worker));
    return out;
  },
};
