// A user's lock for the lock lab: test-and-set with exponential backoff, then a short
// timed Atomics.wait once the backoff is long. Run it next to the built-in kinds:
//   npx sabmalloc locks --quick --lock-module bench/examples/backoff-lock.js
// The interface is documented at the top of bench/locks/modules.ts.
const ACQUISITIONS = 0; // LockStat slots (src/locks/lock.ts)
const CONTENDED = 1;
const MAX_BACKOFF = 1 << 10;

export const name = 'tas-backoff';

class BackoffLock {
  kind = name;
  constructor({ i32, word, ownerId, stats, statsBase = 0 }) {
    this.i32 = i32;
    this.word = word; // the lock word holds the owner id, 0 = free
    this.me = ownerId;
    this.stats = stats;
    this.statsBase = statsBase;
  }
  tryLock() {
    if (Atomics.compareExchange(this.i32, this.word, 0, this.me) !== 0) return false;
    if (this.stats) this.stats[this.statsBase + ACQUISITIONS]++;
    return true;
  }
  lock() {
    if (this.tryLock()) return;
    if (this.stats) this.stats[this.statsBase + CONTENDED]++;
    let backoff = 1;
    for (;;) {
      if (Atomics.load(this.i32, this.word) === 0 && this.tryLock()) return;
      if (backoff < MAX_BACKOFF) {
        for (let k = 0; k < backoff; k++) Atomics.load(this.i32, this.word + 1); // spin
        backoff <<= 1;
      } else {
        // sleep briefly on a word nobody notifies: a bounded yield of the core
        Atomics.wait(this.i32, this.word + 1, 0, 0.05);
      }
    }
  }
  unlock() {
    Atomics.store(this.i32, this.word, 0);
  }
  holder() {
    return Atomics.load(this.i32, this.word);
  }
}

export function create(init) {
  return new BackoffLock(init);
}
