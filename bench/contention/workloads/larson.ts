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
import {
  CALLS_PER_SECOND,
  RAND_MASK,
  VerificationError,
  beginTimed,
  cleanupFree,
  endTimed,
  HeapView,
  newOutcome,
  type WorkloadContext,
  type WorkloadDef,
  type WorkloadParams,
} from './common.js';
import { describeTag, stampTag, TAG_STEP, tagBase, tagIntact } from '../../kit/stamp.js';

const BOARD_WORDS = 16;

function arraysBase(): number {
  return BOARD_WORDS;
}

function boardCells(p: WorkloadParams, workers: number): number {
  return Math.max(1, Math.min(p.board, workers, BOARD_WORDS));
}

/** Allocates every slot of array `arr`; returns the next tag. */
function fillArray(ctx: WorkloadContext, h: HeapView, arr: number, tag: number): number {
  const { params: p, data: d, rand, adapter } = ctx;
  const slots = p.slots;
  const span = p.maxSize - p.minSize + 1;
  let ri = (arr * 7919) & RAND_MASK;
  const base = arraysBase() + arr * slots * 3;
  for (let s = 0; s < slots; s++) {
    const n = p.minSize + (rand[ri] % span);
    ri = (ri + 1) & RAND_MASK;
    const q = adapter.malloc(n);
    tag = (tag + TAG_STEP) | 0;
    stampTag(h.h, q, n, tag);
    const o = base + s * 3;
    d[o] = q;
    d[o + 1] = n;
    d[o + 2] = tag;
  }
  return tag;
}

function drainArray(ctx: WorkloadContext, h: HeapView, arr: number): void {
  const slots = ctx.params.slots;
  const d = ctx.data;
  const base = arraysBase() + arr * slots * 3;
  for (let s = 0; s < slots; s++) {
    const o = base + s * 3;
    const q = d[o];
    if (!tagIntact(h.h, q, d[o + 1], d[o + 2])) throw new VerificationError('larson', describeTag(h.h, q, d[o + 1], d[o + 2]));
    cleanupFree(ctx, q);
  }
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
    const h = new HeapView(adapter.buffer);
    const ci = ctx.ctl.i32;
    const cells = boardCells(p, workers);
    let tag = tagBase(worker, 0);
    tag = fillArray(ctx, h, worker, tag);
    if (worker < cells) tag = fillArray(ctx, h, workers + worker, tag);

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
      const q = d[o];
      const n = d[o + 1];
      if (!tagIntact(h.h, q, n, d[o + 2])) throw new VerificationError('larson', describeTag(h.h, q, n, d[o + 2]));
      adapter.free(q);
      const m = minSize + (rand[ri] % span);
      ri = (ri + 1) & RAND_MASK;
      const r = adapter.malloc(m);
      tag = (tag + TAG_STEP) | 0;
      stampTag(h.h, r, m, tag);
      d[o] = r;
      d[o + 1] = m;
      d[o + 2] = tag;
      if (++it === nextHandoff) {
        nextHandoff += handoffEvery;
        arr = Atomics.exchange(d, cell, arr);
        base = arraysBase() + arr * slots * 3;
      }
    }
    out.ops = it * 2;
    out.mallocs = it;
    out.frees = it;
    out.units = it;
    endTimed(ctx, out);

    drainArray(ctx, h, arr);
    if (worker < cells) drainArray(ctx, h, Atomics.load(d, worker));
    return out;
  },
};
