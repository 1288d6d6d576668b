/**
 * What the mimalloc-bench style workloads share: size tables drawn from the seeded random
 * stream, and the per-worker inbox through which blocks are handed to another worker to
 * be freed there (cross-thread frees).
 *
 * Owns: nothing itself. An inbox lives in the workload's shared data: worker w's inbox
 * has exactly one producer, worker (w - 1) mod n, and one consumer, w (a single-producer
 * single-consumer ring). The producer writes an entry's words, then publishes it with an
 * Atomics.store of `tail`; the consumer reads entries below `tail`, then publishes the
 * space back with an Atomics.store of `head`. A full inbox makes the producer free the
 * block itself. After the end barrier nobody produces any more, so a consumer's final
 * drain frees every block still in flight.
 */
import { RAND_MASK } from './common.js';

/**
 * Worker counts of the mimalloc-bench style workloads and kvmap in the default run: on 2
 * cores 4 workers already time-share, and the full run has to stay near 15 minutes.
 * `--workers` runs them at any count.
 */
export const NEW_WORKLOAD_COUNTS: readonly number[] = [1, 2, 4];

/** distinct size-table entries (a power of two) */
export const SIZE_TABLE = 4096;

export type SizeShape = 'uniform' | 'loguniform' | 'pareto';

/**
 * SIZE_TABLE sizes in [min, max] (multiples of 8 where min is) from rand:
 * uniform; log-uniform (as many 16-32 B as 16-32 KiB requests: glibc's bench-malloc-thread
 * skews to small sizes the same way); pareto (shape 1.1, scale min, cut at max: most
 * requests near min, a long tail up to max, as alloc-test draws them).
 */
export function sizeTable(rand: Uint32Array, offset: number, shape: SizeShape, min: number, max: number): Int32Array {
  const t = new Int32Array(SIZE_TABLE);
  for (let i = 0; i < SIZE_TABLE; i++) {
    const u = (rand[(offset + i) & RAND_MASK] + 0.5) / 4294967296;
    let n: number;
    if (shape === 'uniform') n = min + Math.floor(u * (max - min + 1));
    else if (shape === 'loguniform') n = Math.floor(min * Math.pow(max / min, u));
    else n = Math.floor(min / Math.pow(u, 1 / 1.1));
    t[i] = Math.max(min, Math.min(max, n));
  }
  return t;
}

/** Words of one inbox: head, tail, padding to a cache line, then cap entries of (ptr, size, tag). */
export const INBOX_HEADER = 16;
export function inboxWords(cap: number): number {
  return INBOX_HEADER + cap * 3;
}

/** The inbox of `worker`, starting at word `base` of the data. */
export class Inbox {
  constructor(
    private readonly d: Int32Array,
    private readonly base: number,
    private readonly cap: number,
  ) {}

  /** producer side: false when full (the caller frees the block itself) */
  push(ptr: number, size: number, tag: number): boolean {
    const d = this.d;
    const tail = Atomics.load(d, this.base + 1);
    if (tail - Atomics.load(d, this.base) >= this.cap) return false;
    const o = this.base + INBOX_HEADER + (tail % this.cap) * 3;
    d[o] = ptr;
    d[o + 1] = size;
    d[o + 2] = tag;
    Atomics.store(d, this.base + 1, tail + 1);
    return true;
  }

  /**
   * consumer side: calls take(ptr, size, tag) for every published entry, up to max, and
   * returns how many it took
   */
  drain(max: number, take: (ptr: number, size: number, tag: number) => void): number {
    const d = this.d;
    const head = Atomics.load(d, this.base);
    const tail = Math.min(Atomics.load(d, this.base + 1), head + max);
    for (let i = head; i < tail; i++) {
      const o = this.base + INBOX_HEADER + (i % this.cap) * 3;
      take(d[o], d[o + 1], d[o + 2]);
    }
    Atomics.store(d, this.base, tail);
    return tail - head;
  }
}

/** worker w's inbox and the one of the worker it hands blocks to */
export function inboxesOf(d: Int32Array, dataBase: number, cap: number, worker: number, workers: number): { own: Inbox; next: Inbox } {
  const at = (w: number): number => dataBase + w * inboxWords(cap);
  return { own: new Inbox(d, at(worker), cap), next: new Inbox(d, at((worker + 1) % workers), cap) };
}
