/**
 * The stress tester's worker tasks, run by piscina through workers/stress.ts (one export
 * per task kind, `pool.run(t, { name })`):
 *
 * - `stress`: attach, then a seeded random mix of malloc / free / realloc / hand-off on the
 *   heap, stamping every block (shared.ts) and verifying it before every free and
 *   realloc; leaves its live blocks in its LOCAL table of the control block (the main thread
 *   audits them), detaches.
 * - `drain`: attach, verify and free the blocks of some LOCAL tables and a range of the
 *   HAND-OFF array (blocks allocated by other workers: remote frees), detach.
 * `HeapTask` is one task's handle on the heap and the control block; the test-only tasks
 * (test/fixtures/stress-ops.ts) build on it too.
 *
 * A task never throws for a heap problem: it returns failures (pointer, size class, who
 * allocated the block, who found it) so the main thread can report them all. The first
 * failure raises the STOP word so the other workers finish early.
 */
import { threadId } from 'node:worker_threads';
import { OutOfMemoryError, SharedHeap, SMALL_MAX } from '../../src/index.js';
import { CW, controlLayout, controlViews, GEN_MASK, Intent, makeToken, ownerName, sizeOf, statsBase, tokenGen, tokenOwner, tokenPtr, WS, type ControlViews } from './shared.js';
import { stampBlock, stampBytes, verifyStamp, type Stamp } from '../kit/stamp.js';
import { rng32, unit } from '../kit/prng.js';
import { zeroOpCounts } from './shared.js';
import type { ControlRef, DrainTask, StressFailure, StressTask, WorkCounts } from './types.js';

/** The deliberate uncaught exception of a killed-worker test (never caught as a failure). */
export class WorkerDeath extends Error {}

const MAX_FAILURES = 20;

/** One task's view of the heap and the control block. */
export class HeapTask {
  readonly heap: SharedHeap;
  readonly cv: ControlViews;
  readonly buffer: SharedArrayBuffer;
  readonly salt: number;
  readonly c: WorkCounts;
  readonly owner: number;
  readonly sb: number;
  readonly name: string;
  /** This worker's view of the whole heap (the buffer reserves every page: it never changes). */
  readonly u32: Uint32Array;

  constructor(ref: ControlRef, worker: number, name: string) {
    this.heap = SharedHeap.attach(ref.buffer);
    this.buffer = ref.buffer;
    this.cv = controlViews(ref.buffer, ref.ctrl, controlLayout(ref.workers, ref.handoffSlots, ref.localCap));
    this.salt = ref.salt;
    this.owner = worker + 1;
    this.sb = statsBase(worker);
    this.name = name;
    this.u32 = new Uint32Array(ref.buffer, 0, ref.buffer.byteLength >>> 2);
    this.c = {
      worker,
      threadId,
      slot: this.heap.threadSlot,
      ...zeroOpCounts(),
      failures: [],
    };
  }


  classOf(usable: number | undefined): string {
    if (usable === undefined) return 'unknown';
    if (usable > SMALL_MAX) return `large (${usable / this.heap.layout.pageSize} pages)`;
    return `class ${this.heap.sizeClasses.classOf[(usable + 15) >>> 4]} (${usable} B)`;
  }

  fail(f: Omit<StressFailure, 'seenBy'>): void {
    if (this.c.failures.length < MAX_FAILURES) this.c.failures.push({ ...f, seenBy: this.name });
    Atomics.store(this.cv.i32, CW.STOP, 1);
  }

  intent(op: number, p: number, usable: number, token: bigint): void {
    const f = this.cv.f64;
    f[this.sb + WS.INTENT_PTR] = p;
    f[this.sb + WS.INTENT_SIZE] = usable;
    f[this.sb + WS.INTENT_TOKEN_LO] = Number(token & 0xffffffffn);
    f[this.sb + WS.INTENT_TOKEN_HI] = Number(token >> 32n);
    f[this.sb + WS.INTENT_OP] = op;
  }

  /** usableSize of a block we hold; undefined (and a 'lost' failure) if the heap disagrees. */
  usable(token: bigint, when: string): number | undefined {
    const p = tokenPtr(token);
    try {
      return this.heap.usableSize(p);
    } catch (e) {
      this.fail({
        kind: 'lost',
        pointer: p,
        sizeClass: 'unknown',
        allocatedBy: `${ownerName(tokenOwner(token))} (gen ${tokenGen(token)})`,
        detail: `${when}: the heap no longer knows the block as allocated: ${(e as Error).message}`,
      });
      return undefined;
    }
  }

  /** Checks the stamp of a held block; returns its usable size, or undefined after a failure. */
  verify(token: bigint, when: string): number | undefined {
    const usable = this.usable(token, when);
    if (usable === undefined) return undefined;
    const p = tokenPtr(token);
    const u32 = this.u32;
    const requested = u32[(p >>> 2) + 3]!;
    const s: Stamp = { p, gen: tokenGen(token), owner: tokenOwner(token), requested };
    let bad: string | null;
    if (requested < 1 || stampBytes(requested) > usable) {
      bad = `requested-size word is ${requested}, not in [1, ${usable}] (header: ${u32[p >>> 2]}, ${u32[(p >>> 2) + 1]}, ${u32[(p >>> 2) + 2]})`;
    } else {
      bad = verifyStamp(u32, p, s, this.salt);
    }
    if (bad !== null) {
      this.fail({
        kind: 'corrupt',
        pointer: p,
        sizeClass: this.classOf(usable),
        allocatedBy: `${ownerName(s.owner)} (gen ${s.gen})`,
        detail: `${when}: ${bad}`,
      });
      return undefined;
    }
    return usable;
  }

  /** Verifies and frees a held block. False after a failure (the block is left alone). */
  verifyAndFree(token: bigint, when: string): boolean {
    const usable = this.verify(token, when);
    if (usable === undefined) return false;
    const p = tokenPtr(token);
    this.intent(Intent.FREE, p, usable, token);
    try {
      this.heap.free(p);
    } catch (e) {
      this.fail({
        kind: 'error',
        pointer: p,
        sizeClass: this.classOf(usable),
        allocatedBy: `${ownerName(tokenOwner(token))} (gen ${tokenGen(token)})`,
        detail: `free after ${when} threw ${(e as Error).name}: ${(e as Error).message}`,
      });
      return false;
    }
    this.cv.f64[this.sb + WS.LIVE_BYTES]! -= usable;
    this.cv.f64[this.sb + WS.INTENT_OP] = Intent.NONE;
    this.c.frees++;
    if (tokenOwner(token) !== this.owner) this.c.remoteFrees++;
    return true;
  }

  detach(): void {
    try {
      this.heap.detach();
    } catch (e) {
      this.fail({ kind: 'error', detail: `detach threw ${(e as Error).name}: ${(e as Error).message}` });
    }
    this.cv.f64[this.sb + WS.DONE] = 1;
  }
}

/**
 * One stress worker's blocks: its LOCAL table (the first `n` entries live), the usable
 * bytes they hold and its stamp generation, and the three operations on them. Only this
 * worker writes its table while it runs; every step writes the intent first, so a kill at
 * any point leaves each block findable (table, hand-off array or intent).
 */
class LocalBlocks {
  n = 0;
  localBytes = 0;
  gen = 0;
  readonly base: number;

  constructor(
    readonly s: HeapTask,
    readonly t: StressTask,
    readonly next: () => number,
  ) {
    this.base = t.worker * t.localCap;
    const table = s.cv.local;
    // Blocks left in the table by an earlier round (none in a normal run) stay ours.
    for (let k = 0; k < t.localCap; k++) {
      const tok = table[this.base + k]!;
      if (tok !== 0n) {
        table[this.base + k] = 0n;
        table[this.base + this.n++] = tok;
      }
    }
    for (let k = 0; k < this.n; k++) this.localBytes += s.usable(table[this.base + k]!, 'start') ?? 0;
  }

  take(k: number): bigint {
    const { s } = this;
    const { cv } = s;
    const table = cv.local;
    const base = this.base;
    const tok = table[base + k]!;
    table[base + k] = table[base + this.n - 1]!;
    table[base + this.n - 1] = 0n;
    this.n--;
    return tok;
  }

  /** Allocates and stamps `size` bytes; returns its usable size, 0 on OOM, -1 after a failure. */
  allocate(size: number): number {
    const { s, t } = this;
    const { heap, cv, c } = s;
    const f64 = cv.f64;
    const sb = s.sb;
    const table = cv.local;
    const base = this.base;
    s.intent(Intent.MALLOC, 0, 0, 0n);
    let p: number;
    try {
      p = heap.malloc(size);
    } catch (e) {
      if (e instanceof OutOfMemoryError) {
        c.oom++;
        f64[sb + WS.INTENT_OP] = Intent.NONE;
        return 0;
      }
      s.fail({ kind: 'error', detail: `malloc(${size}) threw ${(e as Error).name}: ${(e as Error).message}` });
      return -1;
    }
    f64[sb + WS.INTENT_PTR] = p;
    const usable = heap.usableSize(p);
    if (p <= 0 || p % 16 !== 0 || usable < size || p + usable > t.buffer.byteLength) {
      s.fail({ kind: 'error', pointer: p, sizeClass: s.classOf(usable), detail: `malloc(${size}) returned ${p} with usableSize ${usable}` });
      return -1;
    }
    this.gen = (this.gen + 1) & GEN_MASK;
    const tok = makeToken(p, s.owner, this.gen);
    stampBlock(s.u32, p, { p, gen: this.gen, owner: s.owner, requested: size }, t.salt);
    table[base + this.n++] = tok;
    f64[sb + WS.LIVE_BYTES]! += usable;
    f64[sb + WS.INTENT_OP] = Intent.NONE;
    this.localBytes += usable;
    c.allocs++;
    c.bytesAllocated += usable;
    return usable;
  }

  /** Frees local block k, directly or through the hand-off array. False after a failure. */
  release(k: number): boolean {
    const { s, t, next } = this;
    const { cv, c } = s;
    const f64 = cv.f64;
    const sb = s.sb;
    const table = cv.local;
    const base = this.base;
    const handoff = unit(next) < t.remoteFreeRate;
    // The intent is written before the table changes, so a kill at any point leaves the
    // block findable (in the table, in the hand-off array, or named by the intent).
    const peek = table[base + k]!;
    s.intent(handoff ? Intent.HANDOFF : Intent.FREE, tokenPtr(peek), 0, peek);
    const tok = this.take(k);
    const usable = s.verify(tok, 'before free');
    if (usable === undefined) return false;
    this.localBytes -= usable;
    if (handoff) {
      // Hand it off; free whatever the slot held (usually another worker's block).
      const old = Atomics.exchange(cv.handoff, next() % t.handoffSlots, tok);
      c.handoffs++;
      if (old === 0n) {
        f64[sb + WS.INTENT_OP] = Intent.NONE;
        return true;
      }
      s.intent(Intent.FREE, tokenPtr(old), 0, old);
      return s.verifyAndFree(old, 'taken from the hand-off array');
    }
    return s.verifyAndFree(tok, 'before free');
  }

  reallocate(k: number, size: number): boolean {
    const { s, t } = this;
    const { heap, cv, c } = s;
    const f64 = cv.f64;
    const sb = s.sb;
    const table = cv.local;
    const base = this.base;
    const peek = table[base + k]!;
    s.intent(Intent.REALLOC, tokenPtr(peek), 0, peek);
    const tok = this.take(k);
    const usable = s.verify(tok, 'before realloc');
    if (usable === undefined) return false;
    const p = tokenPtr(tok);
    const old: Stamp = { p, gen: tokenGen(tok), owner: tokenOwner(tok), requested: s.u32[(p >>> 2) + 3]! };
    s.intent(Intent.REALLOC, p, usable, tok);
    let q: number;
    try {
      q = heap.realloc(p, size);
    } catch (e) {
      if (e instanceof OutOfMemoryError) {
        c.oom++;
        table[base + this.n++] = tok; // p is untouched and still ours
        this.localBytes += usable;
        f64[sb + WS.INTENT_OP] = Intent.NONE;
        return true;
      }
      s.fail({
        kind: 'error',
        pointer: p,
        sizeClass: s.classOf(usable),
        allocatedBy: ownerName(old.owner),
        detail: `realloc(${p}, ${size}) threw ${(e as Error).name}: ${(e as Error).message}`,
      });
      return false;
    }
    f64[sb + WS.INTENT_PTR] = q;
    const qUsable = heap.usableSize(q);
    if (q <= 0 || q % 16 !== 0 || qUsable < size) {
      s.fail({ kind: 'error', pointer: q, sizeClass: s.classOf(qUsable), detail: `realloc(${p}, ${size}) returned ${q} with usableSize ${qUsable}` });
      return false;
    }
    // The contents moved with the block: the old stamp, up to the new size.
    const bad = verifyStamp(s.u32, q, old, t.salt, size & ~3);
    if (bad !== null) {
      s.fail({
        kind: 'corrupt',
        pointer: q,
        sizeClass: s.classOf(qUsable),
        allocatedBy: `${ownerName(old.owner)} (this.gen ${old.gen})`,
        detail: `realloc(${p} -> ${q}, ${old.requested} -> ${size} B) did not keep the contents: ${bad}`,
      });
      return false;
    }
    this.gen = (this.gen + 1) & GEN_MASK;
    stampBlock(s.u32, q, { p: q, gen: this.gen, owner: s.owner, requested: size }, t.salt);
    table[base + this.n++] = makeToken(q, s.owner, this.gen);
    f64[sb + WS.LIVE_BYTES]! += qUsable - usable;
    f64[sb + WS.INTENT_OP] = Intent.NONE;
    this.localBytes += qUsable;
    c.reallocs++;
    if (q !== p) c.bytesAllocated += qUsable;
    return true;
  }

  /** One random operation; false after a failure. */
  step(): boolean {
    const { t, next } = this;
    const r = unit(next);
    if (this.n > 0 && r < t.reallocRate) return this.reallocate(next() % this.n, sizeOf(t.sizes, next));
    if (this.n === t.localCap || (this.n > 0 && next() % 2 === 0)) return this.release(next() % this.n);
    const size = sizeOf(t.sizes, next);
    if (this.n > 0 && this.localBytes + size > t.liveBudget) return this.release(next() % this.n);
    const got = this.allocate(size);
    let ok = true;
    if (got === 0 && this.n > 0) {
      // Out of memory: give back half of what we hold, try again later.
      for (let k = this.n >>> 1; k > 0 && ok; k--) ok = this.release(next() % this.n);
    }
    return ok && got !== -1;
  }
}

/** The stress loop of one worker. */
export function stress(t: StressTask): WorkCounts {
  const s = new HeapTask(t, t.worker, `worker ${t.worker}`);
  const { cv, c } = s;
  const f64 = cv.f64;
  const sb = s.sb;
  const blocks = new LocalBlocks(s, t, rng32(t.seed));
  f64[sb + WS.THREAD_ID] = threadId;
  f64[sb + WS.DONE] = 0;
  Atomics.add(cv.i32, CW.STARTED, 1);
  try {
    const untilKilled = t.untilKilled === true;
    for (let i = 0; untilKilled || t.ops === 0 || i < t.ops; i++) {
      if ((i & 31) === 0) {
        f64[sb + WS.OPS] = i;
        if (Atomics.load(cv.i32, CW.STOP) !== 0 || (!untilKilled && t.deadline !== 0 && Date.now() >= t.deadline)) break;
      }
      if (i === t.dieAtOp) {
        if (t.dieHow === 'exit') process.exit(7);
        throw new WorkerDeath(`worker ${t.worker} dies at op ${i} (test)`);
      }
      c.ops++;
      if (!blocks.step()) break;
    }
  } catch (e) {
    if (e instanceof WorkerDeath) throw e;
    s.fail({ kind: 'error', detail: `unexpected ${(e as Error).name}: ${(e as Error).stack ?? (e as Error).message}` });
  }
  f64[sb + WS.OPS] = c.ops;
  s.detach();
  return c;
}

/** Verifies and frees the blocks of some LOCAL tables and a range of the HAND-OFF array. */
export function drain(t: DrainTask): WorkCounts {
  const s = new HeapTask(t, t.worker, `drainer ${t.worker}`);
  try {
    for (const w of t.tables) {
      for (let k = w * t.localCap; k < (w + 1) * t.localCap; k++) {
        const tok = s.cv.local[k]!;
        if (tok === 0n) continue;
        s.cv.local[k] = 0n;
        s.verifyAndFree(tok, `draining the table of worker ${w}`);
      }
    }
    for (let k = t.handoffFrom; k < t.handoffTo; k++) {
      const tok = Atomics.exchange(s.cv.handoff, k, 0n);
      if (tok !== 0n) s.verifyAndFree(tok, 'draining the hand-off array');
    }
  } catch (e) {
    s.fail({ kind: 'error', detail: `unexpected ${(e as Error).name}: ${(e as Error).stack ?? (e as Error).message}` });
  }
  s.detach();
  return s.c;
}
