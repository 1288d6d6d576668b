// A user's allocator for the contention suite: power-of-two size classes, one free list
// per class, a bump pointer for fresh memory, all behind one futex-style mutex, in a
// SharedArrayBuffer. Run it next to the built-in allocators:
//   npx sabmalloc bench --quick --no-micro --allocator-module bench/examples/pow2-allocator.js
// The interface is documented at the top of bench/contention/adapters/module.ts.
export const id = 'pow2';
export const label = 'pow2 free lists + one mutex (example module)';

const LOCK = 0, TOP = 1, LIVE_BYTES = 2, LIVE_OBJECTS = 3, END = 4, LISTS = 8; // Int32 header words
const HEADER = 16; // bytes before each block: its class; keeps blocks 16-aligned
const FIRST = 256; // first block byte offset (after the header words)

class Pow2 {
  constructor(buffer) {
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer);
  }
  acquire() { // Drepper's mutex: 0 free, 1 held, 2 held with waiters
    const a = this.i32;
    let c = Atomics.compareExchange(a, LOCK, 0, 1);
    if (c === 0) return;
    if (c !== 2) c = Atomics.exchange(a, LOCK, 2);
    while (c !== 0) {
      Atomics.wait(a, LOCK, 2);
      c = Atomics.exchange(a, LOCK, 2);
    }
  }
  release() {
    if (Atomics.sub(this.i32, LOCK, 1) !== 1) {
      Atomics.store(this.i32, LOCK, 0);
      Atomics.notify(this.i32, LOCK, 1);
    }
  }
  malloc(n) {
    const c = Math.max(5, 32 - Math.clz32(n + HEADER - 1)); // block of 2^c bytes, >= 32
    const a = this.i32;
    this.acquire();
    let b = a[LISTS + c];
    if (b !== 0) a[LISTS + c] = a[(b + HEADER) >> 2]; // pop: the next link is in the block
    else if (a[TOP] + (1 << c) <= a[END]) { b = a[TOP]; a[TOP] = b + (1 << c); }
    else { this.release(); throw new RangeError(`pow2: out of memory for ${n} bytes`); }
    a[b >> 2] = c;
    a[LIVE_BYTES] += 1 << c;
    a[LIVE_OBJECTS]++;
    this.release();
    return b + HEADER;
  }
  free(p) {
    const a = this.i32, b = p - HEADER, c = a[b >> 2];
    this.acquire();
    a[(b + HEADER) >> 2] = a[LISTS + c];
    a[LISTS + c] = b;
    a[LIVE_BYTES] -= 1 << c;
    a[LIVE_OBJECTS]--;
    this.release();
  }
  detach() {}
  memory() {
    return { committed: Atomics.load(this.i32, TOP), live: Atomics.load(this.i32, LIVE_BYTES), metadata: FIRST };
  }
}

export function createHeap({ liveBytes, workers }) {
  const bytes = Math.min(2 ** 31 - 2 ** 16, Math.max(64 * 2 ** 20, 4 * liveBytes + workers * 2 ** 20));
  const buffer = new SharedArrayBuffer(bytes & ~15);
  const a = new Int32Array(buffer);
  a[TOP] = FIRST;
  a[END] = buffer.byteLength;
  const adapter = new Pow2(buffer);
  return {
    buffer,
    adapter,
    check() { // every free block lies inside the used part and carries its own class
      for (let c = 5; c < 31; c++) {
        for (let b = a[LISTS + c], n = 0; b !== 0; b = a[(b + HEADER) >> 2], n++) {
          if (b < FIRST || b + (1 << c) > a[TOP] || a[b >> 2] !== c || n > a[TOP] >> 5) throw new Error(`pow2: corrupt free list ${c} at ${b}`);
        }
      }
    },
    liveObjects: () => a[LIVE_OBJECTS],
    dispose() {},
  };
}

export function attach(buffer) {
  return new Pow2(buffer);
}
