/**
 * Load-independent cost of the malloc(64)+free pair: run under callgrind twice, with 0 and
 * with K batches of 10,000 pairs after the same warm-up; (Ir(K) - Ir(0)) / (K * 10,000) is
 * the instructions per pair. The machine is shared, wall-clock figures are noisy and code
 * placement alone moves them by tens of percent; instruction counts are not.
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     node --no-concurrent-recompilation dist/bench/pair-callgrind.js <mode> <K> [distRoot]
 *
 * Modes: hard (default heap), nohard (hardening: false), thing (@thi.ng/malloc), floor
 * (typed-array pop+push), grow / plain (a hardened heap on a growable / plain
 * SharedArrayBuffer, the only heap in the process), mixed-grow / mixed-plain (both kinds
 * warmed up through the same SharedHeap code first, then the named one measured),
 * two-same / one-warm (two growable heaps warmed, or one; the first measured).
 * distRoot: another build's dist directory (e.g. the code before a change) to measure.
 * bench/results/fastpath.md has the commands and the figures.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface PairAllocator {
  malloc(n: number): number;
  free(p: number): unknown;
}

const M = 10_000;
const HEAP = 64 << 20;
const [mode = 'hard', ks = '0', root] = process.argv.slice(2);
const LOOP = 'let s = 0; for (let i = 0; i < M; i++) { const p = a.malloc(64); a.free(p); s ^= p; } return s;';
/** A pair loop of its own (own type feedback) for each allocator. */
const pairLoop = (): ((a: PairAllocator, M: number) => number) => new Function('a', 'M', LOOP) as (a: PairAllocator, M: number) => number;

const lib = (await import(root === undefined ? '../src/index.js' : pathToFileURL(resolve(root, 'src/index.js')).href)) as typeof import('../src/index.js');
const { SharedHeap } = lib;

/** A hardened heap on the buffer kind create() does not give (see bench/micro.ts). */
function otherKind(growable: boolean): import('../src/index.js').SharedHeap {
  const h = SharedHeap.create({ size: HEAP });
  if (h.buffer.growable === growable) return h;
  h.detach();
  const n = h.buffer.byteLength;
  const copy = growable ? new SharedArrayBuffer(n, { maxByteLength: n }) : new SharedArrayBuffer(n);
  new Uint8Array(copy).set(new Uint8Array(h.buffer));
  return SharedHeap.attach(copy);
}

let run: () => number;
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
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const loop = pairLoop();
  run = () => loop(a, M);
}
for (let i = 0; i < 200; i++) s ^= run();
for (let i = 0, k = Number(ks); i < k; i++) s ^= run();
if (s === 0.5) console.log(s);
