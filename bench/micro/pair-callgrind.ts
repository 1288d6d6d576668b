/**
 * Load-independent cost of the malloc(64)+free pair: run under callgrind twice, with 0 and
 * with K batches of 10,000 pairs after the same warm-up; (Ir(K) - Ir(0)) / (K * 10,000) is
 * the instructions per pair. The machine is shared, wall-clock figures are noisy and code
 * placement alone moves them by tens of percent; instruction counts are not.
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     node --no-concurrent-recompilation dist/bench/micro/pair-callgrind.js <mode> <K> [distRoot]
 *
 * Modes: hard (default heap), nohard (hardening: false), thing (@thi.ng/malloc), floor
 * (typed-array pop+push), grow / plain (a hardened heap on a growable / plain
 * SharedArrayBuffer, the only heap in the process), mixed-grow / mixed-plain (both kinds
 * warmed up through the same SharedHeap code first, then the named one measured),
 * two-same / one-warm (two growable heaps warmed, or one; the first measured),
 * four-hard / four-nohard (what `sabmalloc micro` once was in one process: a hardened, a
 * `hardening: false` and a growable-buffer heap, each with its own pair loop, warmed in
 * turn with churn of random sizes on a fourth heap; then the hardened or the
 * `hardening: false` heap's warmed loop is measured), four-churn (the same warm-up, then
 * churn as below on a fresh heap), churn (`sabmalloc micro`'s churn
 * task on a hardened heap, the only one in the process: 1,000 live blocks of 16 B..1 KiB,
 * each op frees a random one and mallocs a random size; a batch is 10,000 ops, so the
 * figure is instructions per free+malloc op), span-churn (the same with 3,000 live blocks of
 * log-uniform sizes 16 B..64 KiB: most ops carve or return a span; the page size's cost).
 * PAGE_SIZE=4096 in the environment sets the page size of churn's and span-churn's heap.
 * distRoot: another build's dist directory (e.g. the code before a change) to measure.
 * docs/notes/2026-11-26-fastpath.md has the commands and the figures.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { between, rng32, unit } from '../kit/prng.js';

interface PairAllocator {
  malloc(n: number): number;
  free(p: number): unknown;
}

const M = 10_000;
const HEAP = 64 << 20;
const [mode = 'hard', ks = '0', root] = process.argv.slice(2);
const LOOP = 'let s = 0; for (let i = 0; i < M; i++) { const p = a.malloc(64); a.free(p); s ^= p; } return s;';
let loops = 0;
/**
 * A pair loop of its own (own type feedback) for each allocator. The source differs per
 * loop (a numbered comment): V8 caches `new Function` by source text, and loops of one
 * source share one feedback vector and one optimized code, so a second allocator's loop
 * would make the first one's call sites polymorphic.
 */
const pairLoop = (): ((a: PairAllocator, M: number) => number) =>
  new Function('a', 'M', `${LOOP} // loop ${++loops}`) as (a: PairAllocator, M: number) => number;

const lib = (await import(root === undefined ? '../../src/index.js' : pathToFileURL(resolve(root, 'src/index.js')).href)) as typeof import('../../src/index.js');
const { SharedHeap } = lib;

/** A hardened heap on the buffer kind create() does not give (see bench/micro/micro.ts). */
function otherKind(growable: boolean): import('../../src/index.js').SharedHeap {
  const h = SharedHeap.create({ size: HEAP });
  if (h.buffer.growable === growable) return h;
  h.detach();
  const n = h.buffer.byteLength;
  const copy = growable ? new SharedArrayBuffer(n, { maxByteLength: n }) : new SharedArrayBuffer(n);
  new Uint8Array(copy).set(new Uint8Array(h.buffer));
  return SharedHeap.attach(copy);
}

/** Random sizes for a churn: micro's 16 B..1 KiB, or log-uniform 16 B..64 KiB (span-churn). */
type SizeOf = (next: () => number) => number;
const microSize: SizeOf = (next) => between(next, 16, 1024);
const logSize: SizeOf = (next) => Math.max(16, Math.floor(16 * 2 ** (unit(next) * 12)));

/**
 * A churn of `LIVE` blocks, M ops per call (each frees a random block and mallocs a random
 * size): with the defaults, the churn of bench/micro/micro.ts (same plan and seed).
 */
function churnRun(a: PairAllocator, LIVE = 1000, sizeOf = microSize): () => number {
  const SEQ = 1 << 16;
  const next = rng32(0xc0ffee);
  const initial = Int32Array.from({ length: LIVE }, () => sizeOf(next));
  const slots = Int32Array.from({ length: SEQ }, () => next() % LIVE);
  const sizes = Int32Array.from({ length: SEQ }, () => sizeOf(next));
  const live = new Float64Array(LIVE);
  for (let k = 0; k < LIVE; k++) live[k] = a.malloc(initial[k]!);
  let at = 0;
  return () => {
    let x = 0;
    for (let i = 0; i < M; i++) {
      const k = slots[at]!;
      a.free(live[k]!);
      const p = a.malloc(sizes[at]!);
      live[k] = p;
      x ^= p;
      at = (at + 1) & (SEQ - 1);
    }
    return x;
  };
}

/** PAGE_SIZE in the environment sets the page size of the churn modes' heap. */
const churnHeapOptions = { size: HEAP, ...(process.env.PAGE_SIZE ? { pageSize: Number(process.env.PAGE_SIZE) } : {}) };

let run: (() => number) | undefined;
let s = 0;
if (mode === 'floor') {
  const next = new Int32Array(1024);
  for (let i = 0; i < next.length; i++) next[i] = i + 1 < next.length ? i + 1 : -1;
  let head = 0;
  run = () => {
    let x = 0;
    for (let i = 0; i < M; i++) {
      const p = head;
      head = next[p]!;
      next[p] = head;
      head = p;
      x ^= p;
    }
    return x;
  };
} else if (mode === 'churn') {
  run = churnRun(SharedHeap.create(churnHeapOptions));
} else if (mode === 'span-churn') {
  run = churnRun(SharedHeap.create(churnHeapOptions), 3000, logSize);
} else {
  let a: PairAllocator;
  if (mode === 'thing') {
    const { MemPool } = await import('@thi.ng/malloc');
    a = new MemPool({ buf: new ArrayBuffer(HEAP), align: 16 });
  } else if (mode === 'hard' || mode === 'nohard') {
    a = SharedHeap.create({ size: HEAP, hardening: mode === 'hard' });
  } else if (mode === 'two-same' || mode === 'one-warm') {
    // two-same: two heaps of the same buffer kind warmed through the same code, the first
    // measured; one-warm: the same warm-up with one heap.
    a = otherKind(true);
    const b = mode === 'two-same' ? otherKind(true) : null;
    const [la, lb] = [pairLoop(), pairLoop()];
    for (let i = 0; i < 100; i++) s ^= la(a, M) ^ (b === null ? 0 : lb(b, M));
  } else if (['grow', 'plain', 'mixed-grow', 'mixed-plain'].includes(mode)) {
    const growable = mode.endsWith('grow');
    a = otherKind(growable);
    if (mode.startsWith('mixed')) {
      const b = otherKind(!growable);
      const [la, lb] = [pairLoop(), pairLoop()];
      for (let i = 0; i < 100; i++) s ^= la(a, M) ^ lb(b, M);
    }
  } else if (mode === 'four-hard' || mode === 'four-nohard' || mode === 'four-churn') {
    // The process `sabmalloc micro` used to be: four heaps of both modes and both buffer
    // kinds, each with its own pair loop, warmed in turn, plus churn of random sizes on a
    // fourth (slow paths of many classes); then the named heap's warmed loop is measured.
    const hard = SharedHeap.create({ size: HEAP });
    const nohard = SharedHeap.create({ size: HEAP, hardening: false });
    const grow = otherKind(!hard.buffer.growable);
    const churn = SharedHeap.create({ size: HEAP });
    const heaps = [hard, nohard, grow];
    const loops = heaps.map(() => pairLoop());
    const live = new Float64Array(1000);
    let x = 12345;
    for (let k = 0; k < live.length; k++) live[k] = churn.malloc(16 + (k % 1009));
    for (let r = 0; r < 20; r++) {
      for (let h = 0; h < heaps.length; h++) s ^= loops[h]!(heaps[h]!, M);
      for (let i = 0; i < M; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const k = x % live.length;
        churn.free(live[k]!);
        live[k] = churn.malloc(16 + ((x >>> 10) % 1009));
      }
    }
    if (mode === 'four-churn') {
      // The churn task in that process: a fresh heap's churn through its own loop.
      run = churnRun(SharedHeap.create({ size: HEAP }));
    }
    const target = mode === 'four-hard' ? 0 : 1;
    a = heaps[target]!;
    const warmed = process.env.FRESH ? pairLoop() : loops[target]!;
    run ??= () => warmed(a, M);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  run ??= ((loop) => () => loop(a, M))(pairLoop());
}
const measured = run;
// span-churn's ops cost tens of times a pair's (most reach the PageHeap): a shorter warm-up
for (let i = 0, w = mode === 'span-churn' ? 30 : 200; i < w; i++) s ^= measured();
for (let i = 0, k = Number(ks); i < k; i++) s ^= measured();
if (s === 0.5) console.log(s);
