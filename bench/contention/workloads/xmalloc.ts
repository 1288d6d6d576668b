/**
 * xmalloc-test (mimalloc-bench): producers allocate `size`-byte objects in batches of
 * `batch` and pass each full batch through a shared queue in the data buffer; consumers
 * take batches, verify and free every object (remote frees: the freeing worker never
 * allocated the object). With one worker it plays both roles in turn. Workers
 * 0..ceil(n/2)-1 produce, the rest consume.
 *
 * Shared data (int32 words):
 *   [free queue header (enqueue pos, dequeue pos on separate lines)]
 *   [full queue header][sleep word]
 *   [free queue cells: slots x (seq, batch id)][full queue cells: slots x (seq, batch id)]
 *   [batches: slots x (count, pad, batch x (ptr, tag))]
 * Both queues are Vyukov bounded MPMC queues over `slots` batch ids (a power of two). The
 * free queue starts full, so a producer never holds more than one batch and a batch id is
 * always in exactly one queue or in one worker's hands. Neither queue is ever full, yet a
 * push can find its cell still taken (see enqueue): it then waits, it never drops the id.
 *
 * Invariants: a batch's contents (count, pointers, tags) are written before its id is
 * published with Atomics.store on the cell sequence, and read after the consumer's
 * Atomics.load of it. A producer stopped mid-batch publishes the partial batch (count); a
 * consumer stopped mid-batch finishes it after the end barrier. The cleanup drains the
 * full queue, so every object is freed once.
 *
 * Metric: frees per second (of objects freed inside the timed window).
 */
import { AbortedError, CTL_I32, shouldStop } from '../../kit/control.js';
import { beginTimed, cleanupFree, endTimed, newOutcome, TaggedBlocks, type WorkloadContext, type WorkloadDef, type WorkloadParams } from './common.js';

const FREE_Q = 0; // enqueue pos at +0, dequeue pos at +16
const FULL_Q = 32;
const SLEEP = 64;
const CELLS = 80;
/** Sleep (ms) of a worker that finds nothing to do: gives its core away under oversubscription. */
const IDLE_MS = 0.05;

function queueSlots(p: WorkloadParams, workers: number): number {
  let s = 16;
  while (s < workers * 2 || s < p.minSlots) s *= 2;
  return s;
}

interface Layout {
  slots: number;
  mask: number;
  freeCells: number;
  fullCells: number;
  batches: number;
  batchWords: number;
}

function layout(p: WorkloadParams, workers: number): Layout {
  const slots = queueSlots(p, workers);
  return {
    slots,
    mask: slots - 1,
    freeCells: CELLS,
    fullCells: CELLS + slots * 2,
    batches: CELLS + slots * 4,
    batchWords: 2 + p.batch * 2,
  };
}

/**
 * Vyukov bounded queue: push. The queue has one cell per batch id, so it is never full;
 * but a cell is free for the next lap only once the pop of the previous lap has released
 * it, and that pop can be preempted between its claim (the CAS) and its release (the
 * sequence store) while the other workers go a whole lap round the ring: with 64 workers
 * on 2 cores that happens. Vyukov's push reports that cell as "full"; here it means "wait
 * for the preempted pop", so the push waits (yielding the core) and tries again. Dropping
 * the id instead, as this push once did, lost the batch and every object in it: the
 * "N objects still in use after every block was freed" . A pop that
 * never resumes is a dead worker: the run is aborted then, and so is the wait.
 */
export function enqueue(d: Int32Array, hdr: number, cells: number, mask: number, v: number, ctl: Int32Array): void {
  let pos = Atomics.load(d, hdr);
  for (;;) {
    const c = cells + ((pos & mask) << 1);
    const dif = (Atomics.load(d, c) - pos) | 0;
    if (dif === 0) {
      if (Atomics.compareExchange(d, hdr, pos, (pos + 1) | 0) === pos) {
        d[c + 1] = v;
        Atomics.store(d, c, (pos + 1) | 0);
        return;
      }
    } else if (dif < 0) {
      if (Atomics.load(ctl, CTL_I32.abort) !== 0) throw new AbortedError();
      Atomics.wait(d, SLEEP, 0, IDLE_MS);
    }
    pos = Atomics.load(d, hdr);
  }
}

/** Vyukov bounded queue: pop. -1 when empty (or when the next cell's push is not published yet). */
export function dequeue(d: Int32Array, hdr: number, cells: number, mask: number): number {
  let pos = Atomics.load(d, hdr + 16);
  for (;;) {
    const c = cells + ((pos & mask) << 1);
    const dif = (Atomics.load(d, c) - ((pos + 1) | 0)) | 0;
    if (dif === 0) {
      if (Atomics.compareExchange(d, hdr + 16, pos, (pos + 1) | 0) === pos) {
        const v = d[c + 1];
        Atomics.store(d, c, (pos + mask + 1) | 0);
        return v;
      }
      pos = Atomics.load(d, hdr + 16);
    } else if (dif < 0) {
      return -1;
    } else {
      pos = Atomics.load(d, hdr + 16);
    }
  }
}

export const xmalloc: WorkloadDef = {
  name: 'xmalloc',
  description: 'producers allocate 64 B objects in batches and pass them through a shared queue; consumers free them',
  metric: {
    name: 'frees/s',
    unit: 'frees/s',
    higherIsBetter: true,
    compute: (t) => t.frees / t.seconds,
  },
  defaults: { batch: 1024, size: 64, minSlots: 16 },
  quick: {},
  small: { batch: 64 },
  dataWords: (p, workers) => {
    const l = layout(p, workers);
    return l.batches + l.slots * l.batchWords;
  },
  initData(d, p, workers) {
    const l = layout(p, workers);
    for (let i = 0; i < l.slots; i++) {
      // free queue: full of every batch id; full queue: empty
      d[l.freeCells + i * 2] = i + 1;
      d[l.freeCells + i * 2 + 1] = i;
      d[l.fullCells + i * 2] = i;
    }
    d[FREE_Q] = l.slots;
  },
  liveBytes: (p, workers) => queueSlots(p, workers) * p.batch * (p.size + 16),
  rounds: () => 1,

  run(ctx: WorkloadContext) {
    const out = newOutcome();
    const { adapter, data: d, worker, workers, params: p } = ctx;
    const blocks = new TaggedBlocks(adapter, 'xmalloc', worker);
    const ci = ctx.ctl.i32;
    const l = layout(p, workers);
    const mask = l.mask;
    const batch = p.batch;
    const size = p.size;
    const producers = workers === 1 ? 1 : Math.ceil(workers / 2);
    const produces = worker < producers;
    const consumes = workers === 1 || !produces;
    let it = 0;
    let mallocs = 0;
    let frees = 0;
    // a batch this consumer was freeing when the window closed: id and next index
    let pendingId = -1;
    let pendingAt = 0;

    const deadline = beginTimed(ctx, out);
    while (!shouldStop(ci, deadline, it++)) {
      let idle = true;
      if (produces) {
        const id = dequeue(d, FREE_Q, l.freeCells, mask);
        if (id >= 0) {
          idle = false;
          const b = l.batches + id * l.batchWords;
          let j = 0;
          for (; j < batch; j++) {
            if (shouldStop(ci, deadline, it++)) break;
            d[b + 2 + j * 2] = blocks.malloc(size);
            d[b + 3 + j * 2] = blocks.tag;
          }
          mallocs += j;
          d[b] = j;
          enqueue(d, FULL_Q, l.fullCells, mask, id, ci);
        }
      }
      if (consumes && Atomics.load(ci, CTL_I32.stop) === 0) {
        const id = dequeue(d, FULL_Q, l.fullCells, mask);
        if (id >= 0) {
          idle = false;
          const b = l.batches + id * l.batchWords;
          const count = d[b];
          let j = 0;
          for (; j < count; j++) {
            if (shouldStop(ci, deadline, it++)) break;
            const q = d[b + 2 + j * 2];
            blocks.check(q, size, d[b + 3 + j * 2]);
            adapter.free(q);
          }
          frees += j;
          if (j < count) {
            pendingId = id;
            pendingAt = j;
          } else {
            enqueue(d, FREE_Q, l.freeCells, mask, id, ci);
          }
        }
      }
      if (idle) Atomics.wait(d, SLEEP, 0, IDLE_MS);
    }
    endTimed(ctx, out, mallocs, frees, frees);

    const finish = (id: number, from: number): void => {
      const b = l.batches + id * l.batchWords;
      const count = d[b];
      for (let j = from; j < count; j++) {
        const q = d[b + 2 + j * 2];
        blocks.check(q, size, d[b + 3 + j * 2]);
        cleanupFree(ctx, q);
      }
    };
    if (pendingId >= 0) finish(pendingId, pendingAt);
    for (let id = dequeue(d, FULL_Q, l.fullCells, mask); id >= 0; id = dequeue(d, FULL_Q, l.fullCells, mask)) finish(id, 0);
    return out;
  },
};
