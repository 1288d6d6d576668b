/**
 * Racing misuse: 2..8 workers free the same block at the same
 * moment (a spin barrier on a small SAB, then free(p) in each), or one reallocs it while
 * the others free it. Of the racers exactly one succeeds; every other one gets
 * DoubleFreeError or InvalidPointerError. After each round: check() passes, a successful
 * realloc moved the contents, nothing leaked (inUseObjects is 0 once everything is freed),
 * and every participant then mallocs blocks of the same size, stamps them and checks the
 * stamps: a block handed out twice shows up as a clash or a wrong stamp.
 *
 * Exactness (README, errors): large blocks in every heap (re-validated under the PageHeap
 * lock); small blocks in heaps whose free is off the lock-free fast path (debug,
 * threadCache: false, globalLock), by an atomic SHADOW claim. A default heap's fast path
 * has no atomics, so its small-block races are documented, not tested, as exact.
 * Workers run the compiled dist/test/fixtures/race-worker.js (`npm test` builds first).
 *
 * Each size races on a heap of its own, sized for it: check() walks every page, so a
 * 2 MiB heap for 48-byte blocks checks in a sixteenth of the time a 32 MiB one takes.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedHeap, type HeapOptions } from '../../src/index.js';
import { pattern, type RaceAction, type RaceReply, type RaceStep } from '../fixtures/race-worker.js';
import { firstOverlap, MiB } from '../helpers/heap.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const WORKERS = 8;
// Per size and action: every participant count 2..8 once by default (RACE_ROUNDS=14 or more,
// a multiple of 7, for a soak; docs/hacking.md).
const ROUNDS = Number(process.env.RACE_ROUNDS ?? 7);
const WORKER_URL = fixtureUrl('race-worker');
const LOSER_CODES = ['ERR_SABMALLOC_DOUBLE_FREE', 'ERR_SABMALLOC_INVALID_POINTER'];


interface Size {
  size: number;
  /** realloc target: a move (different class, or less than half) */
  newSize: number;
  /** blocks each participant mallocs afterwards */
  fill: number;
  /** the heap its rounds run on: room for 8 participants' fill blocks and the realloc target */
  heap: number;
}
const SMALL: Size = { size: 48, newSize: 200, fill: 16, heap: 2 * MiB };
const MEDIUM: Size = { size: 20000, newSize: 100000, fill: 4, heap: 4 * MiB };
const LARGE: Size = { size: 600000, newSize: 2 * MiB, fill: 1, heap: 12 * MiB };
const HUGE: Size = { size: 3 * MiB, newSize: 1 * MiB, fill: 1, heap: 26 * MiB };

class Crew {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(8));
  readonly workers: Worker[] = [];
  private readonly waiting: ((r: RaceReply) => void)[][] = [];

  constructor() {
    for (let i = 0; i < WORKERS; i++) {
      const w = new Worker(WORKER_URL, { workerData: { index: i, ctrl: this.ctrl.buffer } });
      this.waiting.push([]);
      w.on('message', (r: RaceReply) => this.waiting[i]!.shift()!(r));
      w.on('error', (e) => {
        throw e;
      });
      this.workers.push(w);
    }
  }

  send(i: number, step: RaceStep): Promise<RaceReply> {
    let timer: NodeJS.Timeout | undefined;
    const reply = new Promise<RaceReply>((resolve) => {
      this.waiting[i]!.push(resolve);
      this.workers[i]!.postMessage(step);
    });
    const hang = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`worker ${i} ${step.op}: no answer in 120 s (hang?)`)), 120_000)),
    );
    return Promise.race([reply, hang]).finally(() => clearTimeout(timer));
  }

  all(step: RaceStep): Promise<RaceReply[]> {
    return Promise.all(this.workers.map((_, i) => this.send(i, step)));
  }
}

let crew: Crew;
beforeAll(() => {
  crew = new Crew();
});
afterAll(async () => {
  await Promise.all(crew.workers.map((w) => w.terminate()));
});

async function raceRounds(what: string, options: Omit<HeapOptions, 'size'>, action: RaceAction, sizes: Size[]): Promise<void> {
  for (const { size, newSize, fill, heap: heapBytes } of sizes) {
    const heap = SharedHeap.create({ ...options, size: heapBytes });
    await crew.all({ op: 'attach', buffer: heap.buffer });
    const u8 = new Uint8Array(heap.buffer);
    for (let round = 0; round < ROUNDS; round++) {
      const participants = 2 + (round % 7);
      const where = `${what}: ${action} race of a ${size}-byte block, ${participants} threads, round ${round}`;
      const seed = round * 31 + size;
      const p = heap.malloc(size);
      u8.set(pattern(seed, size), p);
      Atomics.store(crew.ctrl, 0, 0);
      const replies = (await crew.all({ op: 'race', p, size, action, newSize, participants, seed })).slice(0, participants);
      const results = replies.map((r) => r.result!);
      expect(results.filter((r) => r === 'ok').length, `${where}: exactly one success, got ${results.join(', ')}`).toBe(1);
      expect(results.filter((r) => r !== 'ok' && !LOSER_CODES.includes(r)), `${where}: losers' errors`).toEqual([]);
      heap.check();
      const q = replies.find((r) => r.result === 'ok')!.q;
      if (q !== undefined) heap.free(q); // the block a successful realloc returned
      const ptrs: [number, number][] = [];
      for (let i = 0; i < participants; i++) {
        const r = await crew.send(i, { op: 'fill', size, count: fill, tag: i + 1 });
        expect(r.bad ?? [], `${where}: fill`).toEqual([]);
        for (const b of r.ptrs!) ptrs.push([b, size]);
      }
      expect(firstOverlap(ptrs), `${where}: a block handed out twice`).toBeNull();
      const bad = (await Promise.all(replies.map((_, i) => crew.send(i, { op: 'verify' })))).flatMap((r) => r.bad!);
      expect(bad, `${where}: stamps`).toEqual([]);
      // No check() here: the next round's check() (after one malloc and the race) walks
      // this state, and the last round's is checked below.
      expect(heap.stats().inUseObjects, `${where}: blocks still in use (leak)`).toBe(0);
    }
    await crew.all({ op: 'detach' });
    heap.releaseCachedMemory();
    heap.check();
    expect(heap.stats().inUseObjects).toBe(0);
    heap.detach();
  }
}

const HEAPS: [string, Omit<HeapOptions, 'size'>, Size[]][] = [
  ['default heap: large and multi-MiB blocks', {}, [LARGE, HUGE]],
  ['debug heap: every size range', { debug: true }, [SMALL, MEDIUM, LARGE, HUGE]],
  ['threadCache: false heap: every size range', { threadCache: false }, [SMALL, MEDIUM, LARGE, HUGE]],
  ['globalLock heap: every size range', { globalLock: true }, [SMALL, MEDIUM, LARGE, HUGE]],
];

describe('racing frees of one block: exactly one succeeds', () => {
  for (const [what, options, sizes] of HEAPS) {
    it(what, { timeout: 300_000 }, async () => {
      await raceRounds(what, options, 'free', sizes);
    });
  }
});

describe('realloc racing frees of one block: exactly one succeeds, no leak, no dangling block', () => {
  for (const [what, options, sizes] of HEAPS) {
    it(what, { timeout: 300_000 }, async () => {
      await raceRounds(what, options, 'realloc', sizes);
    });
  }
});

describe('reallocs of one block racing each other: exactly one moves it', () => {
  for (const [what, options, sizes] of HEAPS) {
    it(what, { timeout: 300_000 }, async () => {
      await raceRounds(what, options, 'reallocs', sizes);
    });
  }
});
