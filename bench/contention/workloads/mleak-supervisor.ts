/**
 * mleak's supervisor (Node only: it starts worker_threads): one per contention worker,
 * it keeps one child alive in its slot through the timed window, ends each child's life
 * the way the turn says, settles what a dead child left half done, starts the replacement,
 * and after the end barrier frees every block left (its slot's table; worker 0 also the
 * mailbox). Runs as the contention worker's asynchronous task (workers/contention.ts):
 * while a child lives the supervisor waits on events, never in Atomics.wait, so Node's
 * exit event (recoverWhenExited's proof of death) reaches it.
 *
 * Owns: its slot's words whenever no child of the slot runs (between a child's exit and
 * the next start); the mailbox only after the end barrier (worker 0).
 *
 * Invariants: a replacement starts only after the previous child has exited and, for
 * sabmalloc, been recovered and settled, so no slot ever has two children and the heap
 * never holds a dead thread's slot while its successor runs.
 */
import { Worker } from 'node:worker_threads';
import { SharedHeap } from '../../../src/index.js';
import type { RecoveryReport } from '../../../src/core/recovery.js';
import { CTL_I32, aborted } from '../../kit/control.js';
import { rng32 } from '../../kit/prng.js';
import { workerUrl } from '../../kit/worker-url.js';
import { VerificationError, beginTimed, cleanupFree, endTimed, HeapView, newChurn, newOutcome, type ChurnCounts, type WorkerOutcome, type WorkloadContext } from './common.js';
import { describeTag, stampTag, tagIntact } from '../../kit/stamp.js';
import {
  CELL_WORDS, EMPTY, END_CLEAN, END_EXIT, END_THROW, FULL, I_FREE, I_MALLOC, I_NONE, I_RECV, I_SEND, PLANNED_THROW, S, SENDING, SLOT_HEADER, TAKING,
  slotBase, type ChildData, type ExitMode, type MleakLayout,
} from './mleak-child.js';

const TURNS: readonly ExitMode[] = ['clean', 'exit', 'terminate', 'clean', 'throw', 'terminate'];

interface Life {
  code: number;
  error: unknown;
  killed: boolean;
  report: RecoveryReport | null;
}

/** Starts one child and resolves when it has exited (and, for sabmalloc, been recovered). */
function live(url: URL, cd: ChildData, heap: SharedHeap | null, killWithinMs: number): Promise<Life> {
  const w = new Worker(url, { workerData: cd });
  const recovered = heap ? heap.recoverWhenExited(w) : null;
  return new Promise<Life>((resolve) => {
    let error: unknown = null;
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    w.on('error', (e) => (error = e));
    if (cd.mode === 'terminate') {
      // from the moment the child has attached and taken over its blocks: a kill then lands
      // in the exchange loop (or in its first fill), not in module loading
      w.once('message', () => {
        timer = setTimeout(() => {
          killed = true;
          void w.terminate();
        }, killWithinMs);
      });
    }
    w.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, error, killed, report: null });
    });
  }).then(async (life) => ({ ...life, report: recovered ? await recovered : null }));
}

/** Reads how the child left; throws the child's own error when it failed. */
function tally(life: Life, end: number, mode: ExitMode, churn: ChurnCounts): void {
  const msg = life.error instanceof Error ? life.error.message : life.error === null ? '' : String(life.error);
  if (end === END_THROW && msg === PLANNED_THROW) churn.throws++;
  else if (life.error !== null) throw life.error instanceof Error ? life.error : new Error(msg);
  else if (end === END_EXIT) churn.processExits++;
  else if (end === END_CLEAN && life.code === 0) churn.cleanExits++;
  else if (life.killed) churn.terminated++;
  else throw new Error(`mleak child (${mode}) exited with code ${life.code} without saying how`);
  if (life.report && life.report.slots.length > 0) churn.recovered++;
}

/**
 * Settles the dead child's interrupted operation (its intent) against the heap's count of
 * its mallocs minus frees (`net`: the slot's since the child attached), exact for a kill
 * between allocator calls. A child killed before it wrote that baseline has made no call
 * yet, and has nothing to settle.
 */
export function settle(heap: SharedHeap, d: Int32Array, h: HeapView, l: MleakLayout, slot: number, net: number, churn: ChurnCounts): void {
  const b = slotBase(l, slot);
  const tbl = b + SLOT_HEADER;
  const intent = d[b + S.intent];
  const k = d[b + S.k];
  const p = d[b + S.p];
  const c = d[b + S.cell];
  const delta = net - (d[b + S.mallocs] - d[b + S.frees]);
  const bad = (why: string): never => {
    throw new VerificationError('mleak', `settling a dead child of slot ${slot}: ${why} (intent ${intent}, heap net - counted = ${delta})`);
  };
  if (intent === I_MALLOC && d[b + S.mallocs] === d[b + S.counted]) {
    churn.settled++;
    if (d[tbl + k] !== 0) stampTag(h.h, d[tbl + k], d[tbl + l.slots + k], d[tbl + 2 * l.slots + k]); // a stamp cut short
    // killed inside malloc's slow path the slot's count can be off (measured: by 2): the
    // run's end count of blocks in use decides those
    else if (delta === 1) churn.lostOnKill++;
    else if (delta !== 0) churn.mallocsInDoubt++;
  } else if (intent === I_FREE && d[b + S.frees] === d[b + S.counted]) {
    churn.settled++;
    if (c < 0 && d[tbl + k] === p) return clearIntent(d, b); // killed before it let go: still the slot's
    settleFree(heap, h, p, c < 0 ? d[tbl + l.slots + k] : d[c + 2], c < 0 ? d[tbl + 2 * l.slots + k] : d[c + 3], delta, churn);
    if (c >= 0 && d[c] === TAKING + slot) d[c] = EMPTY;
  } else {
    // With no call open the counts agree but for the recovery report's own inexactness
    // around the allocator's slow paths (seen: +1 with no intent, at 4 workers, once in
    // several runs): such a block is counted in doubt and the run's end count of blocks
    // in use decides it; a larger gap is a broken count.
    if (delta !== 0) {
      if (Math.abs(delta) > 2) bad('the heap counts a call the child did not');
      churn.mallocsInDoubt += Math.abs(delta);
    }
    if (intent === I_FREE && c >= 0 && d[c] === TAKING + slot) d[c] = EMPTY; // counted, cell not yet emptied
    if (intent === I_SEND) {
      churn.settled++;
      if (d[c] === SENDING + slot) d[c] = EMPTY; // never published: still in the table
      else if (d[b + S.phase] === 1) d[tbl + k] = 0; // published: the cell owns it
    }
    if (intent === I_RECV && d[c] === TAKING + slot) {
      churn.settled++;
      d[c] = FULL;
    }
  }
  clearIntent(d, b);
}

function clearIntent(d: Int32Array, b: number): void {
  d[b + S.intent] = I_NONE;
}

/**
 * A free the dead child had begun on block p (n bytes, stamped with tag), verified whole
 * just before: finishes it unless it had happened. Freeing p to find out is wrong: once the
 * child's free went through, recovery hands the child's cached blocks back to the central
 * cache, where a live child can take p (or its whole span, re-carved for another class)
 * before this runs, and a second free would then release that child's block (seen: a
 * replacement adopting a block whose first word was a free-list link, and a free refused
 * as "inside a block of size class 18"). So the block tells: a free writes its list link
 * over the block's first word before the heap counts it (the link equals the tag one time
 * in 2^32), and a live child that took p stamps its own tag, so an intact stamp means the
 * free never touched p, and p is still the slot's. A broken stamp with the free counted
 * (delta -1, or more when a kill inside the free's overflow release left a batch
 * uncounted) means it had happened; with nothing counted (a kill inside the push, between
 * its link and its list head, or a one-block release left uncounted after a finished
 * free) it is in doubt, left alone, and the run's end count of blocks in use decides it.
 */
function settleFree(heap: SharedHeap, h: HeapView, p: number, n: number, tag: number, delta: number, churn: ChurnCounts): void {
  if (tagIntact(h.h, p, n, tag)) {
    heap.free(p);
    churn.reclaimed++;
  } else if (delta === 0) {
    churn.mallocsInDoubt++;
  }
}

function childData(ctx: WorkloadContext, life: number, mode: ExitMode): ChildData {
  const t = ctx.task;
  return {
    allocator: t.allocator, heap: t.heap, ...(t.wasmMemory ? { wasmMemory: t.wasmMemory } : {}), ctl: t.ctl, data: t.data,
    slot: ctx.worker, workers: ctx.workers, index: ctx.workers + ctx.worker, life, mode, params: ctx.params, seed: t.seed, touch: t.touch,
  };
}

/** Frees the slot's table and (worker 0) every block still published in the mailbox. */
function freeLeftovers(ctx: WorkloadContext, h: HeapView, l: MleakLayout): void {
  const d = ctx.data;
  const tbl = slotBase(l, ctx.worker) + SLOT_HEADER;
  const take = (p: number, n: number, t: number, what: string): void => {
    if (!tagIntact(h.h, p, n, t)) throw new VerificationError('mleak', `${what} ${describeTag(h.h, p, n, t)}`);
    cleanupFree(ctx, p);
  };
  for (let k = 0; k < l.slots; k++) if (d[tbl + k] !== 0) take(d[tbl + k], d[tbl + l.slots + k], d[tbl + 2 * l.slots + k], 'left in the table');
  if (ctx.worker !== 0) return;
  for (let c = 0; c < l.cells * CELL_WORDS; c += CELL_WORDS) {
    if (d[c] === FULL) take(d[c + 1], d[c + 2], d[c + 3], 'left in the mailbox');
    else if (d[c] !== EMPTY) throw new VerificationError('mleak', `mailbox cell ${c / CELL_WORDS} left in state ${d[c]}`);
  }
}

/** One worker's share of an mleak run. */
export async function superviseMleak(ctx: WorkloadContext): Promise<WorkerOutcome> {
  const out = newOutcome();
  const churn = newChurn();
  const { ctl, params: p } = ctx;
  const l = p as unknown as MleakLayout;
  const d = ctx.data;
  const b = slotBase(l, ctx.worker);
  const h = new HeapView(ctx.adapter.buffer);
  const heap = ctx.task.allocator.family === 'sabmalloc' ? SharedHeap.attach(ctx.task.heap) : null;
  const url = workerUrl('mleak');
  const deadline = beginTimed(ctx, out);
  const stopAt = setTimeout(() => Atomics.store(ctl.i32, CTL_I32.stop, 1), Math.max(0, deadline - performance.now()));
  const lifeRand = rng32((ctx.task.seed * 2654435761 + ctx.worker * 40503) >>> 0 || 1);
  try {
    // at least minLives children, however few fit in the window (a child that starts after
    // it leaves at once, by its turn's way)
    for (let life = 0; (life < p.minLives || Atomics.load(ctl.i32, CTL_I32.stop) === 0) && !aborted(ctl); life++) {
      // the first turn moves with the worker and the repetition's seed: consecutive workers'
      // first two lives cover three consecutive turns, which hold a terminate and an exit
      // or a throw, so 2 workers with minLives 2 see every way of leaving
      const mode = heap ? TURNS[(life + ctx.worker + ctx.task.seed) % TURNS.length] : 'clean';
      for (const w of [S.intent, S.mallocs, S.frees, S.counted, S.end, S.sends, S.receives, S.base, S.based]) d[b + w] = 0;
      const held = countHeld(d, b + SLOT_HEADER, l.slots);
      const lived = await live(url, childData(ctx, life, mode), heap, 1 + (lifeRand() % p.lifeMs));
      churn.created++;
      if (life > 0) churn.adopted += held;
      const end = Atomics.load(d, b + S.end);
      tally(lived, end, mode, churn);
      if (heap && lived.report && lived.report.slots.length > 0 && d[b + S.based] === 1) {
        settle(heap, d, h, l, ctx.worker, ((lived.report.netAllocationsBySlot[lived.report.slots[0]] ?? 0) - d[b + S.base]) | 0, churn);
      } else if (d[b + S.intent] !== I_NONE) throw new VerificationError('mleak', `a child of slot ${ctx.worker} left an operation half done and no recovery report`);
      out.mallocs += d[b + S.mallocs];
      out.frees += d[b + S.frees];
    }
  } finally {
    clearTimeout(stopAt);
  }
  out.churn = churn;
  endTimed(ctx, out, out.mallocs, out.frees, churn.created);
  freeLeftovers(ctx, h, l);
  return out;
}

function countHeld(d: Int32Array, tbl: number, slots: number): number {
  let n = 0;
  for (let k = 0; k < slots; k++) if (d[tbl + k] !== 0) n++;
  return n;
}
