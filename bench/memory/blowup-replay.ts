/**
 * Deterministic single-thread replays of the contention suite's mstress and larson at one
 * worker, for comparing allocator policies on blowup without the noise of timed windows.
 * The same operations, in the same order, for every build and every seed
 * (`sabmalloc memory replay`, command.ts):
 *
 *   sabmalloc memory replay mstress [--seeds 24] [--iters 80000] [--detail]
 *   sabmalloc memory replay larson [--seeds 3] [--iters 1600000]
 *
 * mstress: 4 rounds of `iters` iterations (a ring of 2,000 slots, 1,000 retained blocks, a
 * transfer array of 1,000 cells, sizes as in the suite); the thread detaches and attaches
 * again between rounds, as the suite's round workers do. Blowup = stats().committedBytes at
 * the end (a high-water mark) / the exact peak of the live usable bytes. --detail prints,
 * per seed, the split of the heap at the last rise of the high-water mark and the request
 * that raised it.
 *
 * larson: 10,000 blocks of 8..1000 bytes (the suite's 1-worker live set: its own array and
 * the board's), each iteration frees a random one and allocates a new random size. Also
 * prints the ideal segregated-fit footprint: per size class the most objects ever live at
 * once, in whole spans, summed over the classes, over the peak live bytes: the floor of any
 * allocator whose spans serve one class each.
 *
 * The random stream is xorshift32 (not the suite's table), so figures are comparable between
 * builds and seeds, not identical to the suite's runs. Owns nothing.
 */
import { SharedHeap } from '../../src/index.js';
import { H } from '../../src/core/layout.js';
import { sizeClassTable } from '../../src/core/sizeclasses.js';
import { breakdownOf } from '../contention/adapters/sabmalloc.js';
import { rng32 } from '../kit/prng.js';

const MIB = 2 ** 20;
const kib = (n: number): string => (n / 1024).toFixed(0);

/** 31-bit values of the lab's xorshift32 (kit/prng.ts), seeded apart per seed. */
function xorshift(seed: number): () => number {
  const next = rng32(Math.imul(seed, -1640531535));
  return () => next() >>> 1;
}

/** Heap sizing as the suite's adapter does it for one worker (maxThreads = workers + 2). */
function createHeap(liveBytes: number): SharedHeap {
  const maxSize = Math.max(8 * MIB, Math.ceil((liveBytes * 2.5) / MIB) * MIB);
  return SharedHeap.create({ size: MIB, maxSize, maxThreads: 3 });
}

interface Rise {
  request: number;
  from: number;
  to: number;
  line: string;
}

function mstress(seed: number, iters: number, detail: boolean): { blowup: number; peak: number; metadata: number; rise: Rise | null } {
  const rnd = xorshift(seed);
  let heap = createHeap((2000 + 1000) * 260 + 1000 * 260 + 2 * 512 * 1024);
  const buffer = heap.buffer;
  const header = new Int32Array(buffer, 0, 64);
  let live = 0;
  let peak = 0;
  let mark = 0;
  let rise: Rise | null = null;
  const pick = (r: number, maxShift: number): number => {
    let items = 1 << (r % maxShift);
    const c = (r >>> 8) % 1000;
    if (c < 1) items *= 1000;
    else if (c < 10) items *= 100;
    return items * 8;
  };
  const malloc = (n: number): number => {
    const before = detail && n > 8192 ? breakdownOf(heap).holeSpans : '';
    const p = heap.malloc(n);
    live += heap.usableSize(p);
    if (live > peak) peak = live;
    const touched = header[H.TOUCHED_PAGES]!;
    if (touched > mark) {
      if (detail) {
        const b = breakdownOf(heap);
        rise = {
          request: n,
          from: mark,
          to: touched,
          line: `live ${kib(live)} touched ${kib(b.touched)} metadata ${kib(b.metadata)} thread caches ${kib(b.threadCaches)} transfer ${kib(b.transferCaches)} span free ${kib(b.spanFreeObjects)} tails ${kib(b.spanTails)} holes ${kib(b.holes)} [${b.holeSpans}]${before ? ` free spans before: [${before}]` : ''}`,
        };
      }
      mark = touched;
    }
    return p;
  };
  const free = (p: number): void => {
    live -= heap.usableSize(p);
    heap.free(p);
  };
  const transfer = new Float64Array(1000);
  for (let round = 0; round < 4; round++) {
    const slots = 2000;
    const ring = new Float64Array(slots);
    const kept: number[] = [];
    let top = 0;
    for (let it = 0; it < iters; it++) {
      const r = rnd();
      if (kept.length >= 1000 || (rnd() & 1) !== 0) {
        if (ring[top] !== 0) free(ring[top]!);
        ring[top] = malloc(pick(r >>> 3, 5));
        if (++top === slots) top = 0;
      } else {
        kept.push(malloc(pick(r >>> 3, 7)));
      }
      const r2 = rnd();
      if (r2 % 100 < 66) {
        const i = (r2 >>> 8) % slots;
        if (ring[i] !== 0) {
          free(ring[i]!);
          ring[i] = 0;
        }
      }
      const r3 = rnd();
      if (r3 % 4 === 0) {
        const i = (r3 >>> 4) % slots;
        const c = (r3 >>> 16) % 1000;
        const t = transfer[c]!;
        transfer[c] = ring[i]!;
        ring[i] = t;
      }
    }
    for (const p of ring) if (p !== 0) free(p);
    for (const p of kept) free(p);
    heap.detach();
    heap = SharedHeap.attach(buffer);
  }
  const s = heap.stats();
  heap.detach();
  return { blowup: s.committedBytes / peak, peak, metadata: s.metadataBytes, rise };
}

function larson(seed: number, iters: number): { blowup: number; ideal: number; touched: number; metadata: number } {
  const rnd = xorshift(seed);
  const slots = 10_000;
  const heap = createHeap(2 * 5000 * 520);
  const table = sizeClassTable(heap.stats().pageSize);
  const classOf = (n: number): number => table.classOf[(n + 15) >>> 4]!;
  const count = new Int32Array(table.count);
  const most = new Int32Array(table.count);
  const ptr = new Float64Array(slots);
  const cls = new Uint8Array(slots);
  let live = 0;
  const take = (i: number, n: number): void => {
    ptr[i] = heap.malloc(n);
    live += heap.usableSize(ptr[i]!);
    const c = (cls[i] = classOf(n));
    if (++count[c]! > most[c]!) most[c] = count[c]!;
  };
  for (let i = 0; i < slots; i++) take(i, 8 + (rnd() % 993));
  let peak = live;
  for (let it = 0; it < iters; it++) {
    const i = rnd() % slots;
    live -= heap.usableSize(ptr[i]!);
    heap.free(ptr[i]!);
    count[cls[i]!]!--;
    take(i, 8 + (rnd() % 993));
    if (live > peak) peak = live;
  }
  let ideal = 0;
  for (let c = 1; c < table.count; c++) {
    const k = table.classes[c]!;
    if (most[c]! > 0) ideal += Math.ceil(most[c]! / k.objectsPerSpan) * k.pages * table.pageSize;
  }
  const s = heap.stats();
  heap.detach();
  return { blowup: s.committedBytes / peak, ideal: ideal / peak, touched: s.touchedBytes / peak, metadata: s.metadataBytes / peak };
}

export interface ReplayOptions {
  seeds: number;
  iters: number;
  detail: boolean;
}

export const REPLAY_DEFAULTS: Record<'mstress' | 'larson', { seeds: number; iters: number }> = {
  mstress: { seeds: 24, iters: 80_000 },
  larson: { seeds: 3, iters: 1_600_000 },
};

/** Runs the mstress replay over seeds 1..seeds and prints the blowup per seed. */
export function replayMstress({ seeds, iters, detail }: ReplayOptions): void {
  const runs = Array.from({ length: seeds }, (_, k) => mstress(k + 1, iters, detail));
  const mean = runs.reduce((a, r) => a + r.blowup, 0) / runs.length;
  console.log(`mstress, 1 worker, ${seeds} seeds x 4 rounds x ${iters} iterations: blowup mean ${mean.toFixed(3)}, max ${Math.max(...runs.map((r) => r.blowup)).toFixed(3)}`);
  console.log(`  per seed: ${runs.map((r) => r.blowup.toFixed(2)).join(' ')}`);
  if (detail) {
    runs.forEach((r, k) => {
      if (r.rise) console.log(`  seed ${k + 1}: blowup ${r.blowup.toFixed(2)}, peak live ${kib(r.peak)} KiB; last rise (pages ${r.rise.from} -> ${r.rise.to}, malloc(${r.rise.request})): ${r.rise.line}`);
    });
  }
}

/** Runs the larson replay for seeds 1..seeds and prints each one's blowup and ideal fit. */
export function replayLarson({ seeds, iters }: ReplayOptions): void {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = larson(seed, iters);
    console.log(
      `larson, 1 worker, seed ${seed}: blowup ${r.blowup.toFixed(3)}; pages touched / peak live ${r.touched.toFixed(3)}; ` +
        `ideal segregated fit ${r.ideal.toFixed(3)} (+ metadata ${(r.ideal + r.metadata).toFixed(3)})`,
    );
  }
}
