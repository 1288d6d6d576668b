/**
 * Piscina worker of `sabmalloc stress` (bench/stress.ts) and of the fuzz test. Runs compiled
 * from dist/workers/stress-worker.js; each export is one task kind (`pool.run(t, { name })`).
 *
 * - `stress`: attach, run a seeded random mix of malloc / free / realloc / hand-off on the
 *   heap, stamping every block (stress-shared.ts) and verifying it before every free and
 *   realloc; leaves its live blocks in its LOCAL table of the control block (the main thread
 *   audits them), detaches.
 * - `drain`: attach, verify and free the blocks of some LOCAL tables and a range of the
 *   HAND-OFF array (blocks allocated by other workers: remote frees), detach.
 * - `runOps`: the fuzz test's interpreter: one generated op list, verified step by step.
 * - `race`, `watchdog`: the racing-misuse mode (bench/stress-race.ts).
 *
 * A task never throws for a heap problem: it returns failures (pointer, size class, who
 * allocated the block, who found it) so the main thread can report them all. The first
 * failure raises the STOP word so the other workers finish early.
 */
import { threadId } from 'node:worker_threads';
import { OutOfMemoryError, SharedHeap, SMALL_MAX } from '../src/index.js';
import {
  CW,
  controlLayout,
  controlViews,
  GEN_MASK,
  Intent,
  makeToken,
  ownerName,
  prng,
  sizeOf,
  stampBlock,
  stampBytes,
  statsBase,
  tokenGen,
  tokenOwner,
  tokenPtr,
  unit,
  verifyStamp,
  WS,
  type ControlViews,
  type SizeMix,
  type Stamp,
} from '../bench/stress-shared.js';
import { zeroOpCounts, type OpCounts } from '../bench/stress-shared.js';

export { OP_COUNT_KEYS, type OpCounts } from '../bench/stress-shared.js';

export { race, watchdog } from '../bench/stress-race.js';

/** 'undetected': a racing misuse (two frees, a free and a realloc) that released a block twice. */
export type FailureKind = 'corrupt' | 'duplicate' | 'overlap' | 'lost' | 'leak' | 'error' | 'hang' | 'check' | 'undetected';

export interface StressFailure {
  kind: FailureKind;
  /** the block concerned, when there is one */
  pointer?: number;
  /** "class 12 (256 B)" or "large (3 pages)" or "unknown" */
  sizeClass?: string;
  /** who allocated (stamped) the block, from its token */
  allocatedBy?: string;
  /** who found the problem */
  seenBy: string;
  detail: string;
}

export interface ControlRef {
  buffer: SharedArrayBuffer;
  /** byte offset of the control block */
  ctrl: number;
  workers: number;
  handoffSlots: number;
  localCap: number;
  /** per-round salt of the block pattern */
  salt: number;
}

export interface StressTask extends ControlRef {
  worker: number;
  /** operations to run (0: until the deadline or STOP) */
  ops: number;
  /** Date.now() deadline (0: none) */
  deadline: number;
  seed: number;
  sizes: SizeMix;
  /** fraction of frees that go through the hand-off array (freeing whatever was there) */
  remoteFreeRate: number;
  /** fraction of operations that are reallocs */
  reallocRate: number;
  /** usable bytes this worker may keep in its local table */
  liveBudget: number;
  /** killed-worker tests: at this op, die by an uncaught exception or process.exit() */
  dieAtOp?: number;
  dieHow?: 'throw' | 'exit';
}

/** The deliberate uncaught exception of a killed-worker test (never caught as a failure). */
export class WorkerDeath extends Error {}

export interface WorkCounts extends OpCounts {
  worker: number;
  threadId: number;
  slot: number;
  failures: StressFailure[];
}

const MAX_FAILURES = 20;

/** One task's view of the heap and the control block. */
class Session {
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

/** The stress loop of one worker. */
export function stress(t: StressTask): WorkCounts {
  const s = new Session(t, t.worker, `worker ${t.worker}`);
  const { heap, cv, c } = s;
  const next = prng(t.seed);
  const stop = cv.i32;
  const f64 = cv.f64;
  const sb = s.sb;
  const base = t.worker * t.localCap;
  const table = cv.local;
  // Blocks left in the table by an earlier round (none in a normal run) stay ours.
  let n = 0;
  for (let k = 0; k < t.localCap; k++) {
    const tok = table[base + k]!;
    if (tok !== 0n) {
      table[base + k] = 0n;
      table[base + n++] = tok;
    }
  }
  let localBytes = 0;
  for (let k = 0; k < n; k++) localBytes += s.usable(table[base + k]!, 'start') ?? 0;
  let gen = 0;
  f64[sb + WS.THREAD_ID] = threadId;
  f64[sb + WS.DONE] = 0;
  Atomics.add(cv.i32, CW.STARTED, 1);

  const take = (k: number): bigint => {
    const tok = table[base + k]!;
    table[base + k] = table[base + n - 1]!;
    table[base + n - 1] = 0n;
    n--;
    return tok;
  };

  /** Allocates and stamps n bytes; returns its usable size, 0 on OOM, -1 after a failure. */
  const allocate = (size: number): number => {
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
    gen = (gen + 1) & GEN_MASK;
    const tok = makeToken(p, s.owner, gen);
    stampBlock(s.u32, p, { p, gen, owner: s.owner, requested: size }, t.salt);
    table[base + n++] = tok;
    f64[sb + WS.LIVE_BYTES]! += usable;
    f64[sb + WS.INTENT_OP] = Intent.NONE;
    localBytes += usable;
    c.allocs++;
    c.bytesAllocated += usable;
    return usable;
  };

  /** Frees local block k, directly or through the hand-off array. False after a failure. */
  const release = (k: number): boolean => {
    const handoff = unit(next) < t.remoteFreeRate;
    // The intent is written before the table changes, so a kill at any point leaves the
    // block findable (in the table, in the hand-off array, or named by the intent).
    const peek = table[base + k]!;
    s.intent(handoff ? Intent.HANDOFF : Intent.FREE, tokenPtr(peek), 0, peek);
    const tok = take(k);
    const usable = s.verify(tok, 'before free');
    if (usable === undefined) return false;
    localBytes -= usable;
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
  };

  const reallocate = (k: number, size: number): boolean => {
    const peek = table[base + k]!;
    s.intent(Intent.REALLOC, tokenPtr(peek), 0, peek);
    const tok = take(k);
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
        table[base + n++] = tok; // p is untouched and still ours
        localBytes += usable;
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
        allocatedBy: `${ownerName(old.owner)} (gen ${old.gen})`,
        detail: `realloc(${p} -> ${q}, ${old.requested} -> ${size} B) did not keep the contents: ${bad}`,
      });
      return false;
    }
    gen = (gen + 1) & GEN_MASK;
    stampBlock(s.u32, q, { p: q, gen, owner: s.owner, requested: size }, t.salt);
    table[base + n++] = makeToken(q, s.owner, gen);
    f64[sb + WS.LIVE_BYTES]! += qUsable - usable;
    f64[sb + WS.INTENT_OP] = Intent.NONE;
    localBytes += qUsable;
    c.reallocs++;
    if (q !== p) c.bytesAllocated += qUsable;
    return true;
  };

  try {
    for (let i = 0; t.ops === 0 || i < t.ops; i++) {
      if ((i & 31) === 0) {
        f64[sb + WS.OPS] = i;
        if (Atomics.load(stop, CW.STOP) !== 0 || (t.deadline !== 0 && Date.now() >= t.deadline)) break;
      }
      if (i === t.dieAtOp) {
        if (t.dieHow === 'exit') process.exit(7);
        throw new WorkerDeath(`worker ${t.worker} dies at op ${i} (test)`);
      }
      c.ops++;
      const r = unit(next);
      let ok = true;
      if (n > 0 && r < t.reallocRate) {
        ok = reallocate(next() % n, sizeOf(t.sizes, next));
      } else if (n === t.localCap || (n > 0 && next() % 2 === 0)) {
        ok = release(next() % n);
      } else {
        const size = sizeOf(t.sizes, next);
        if (n > 0 && localBytes + size > t.liveBudget) ok = release(next() % n);
        else {
          const got = allocate(size);
          if (got === 0 && n > 0) {
            // Out of memory: give back half of what we hold, try again later.
            for (let k = n >>> 1; k > 0 && ok; k--) ok = release(next() % n);
          }
          ok &&= got !== -1;
        }
      }
      if (!ok) break;
    }
  } catch (e) {
    if (e instanceof WorkerDeath) throw e;
    s.fail({ kind: 'error', detail: `unexpected ${(e as Error).name}: ${(e as Error).stack ?? (e as Error).message}` });
  }
  f64[sb + WS.OPS] = c.ops;
  s.detach();
  return c;
}

export interface DrainTask extends ControlRef {
  /** index used to name this drainer in reports */
  worker: number;
  /** workers whose LOCAL tables this task empties */
  tables: number[];
  /** HAND-OFF slots [from, to) this task empties */
  handoffFrom: number;
  handoffTo: number;
}

/** Verifies and frees the blocks of some LOCAL tables and a range of the HAND-OFF array. */
export function drain(t: DrainTask): WorkCounts {
  const s = new Session(t, t.worker, `drainer ${t.worker}`);
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

// ------------------------------------------------------------------- fuzz interpreter

export type FuzzOp =
  | { op: 'malloc'; size: number }
  | { op: 'calloc'; count: number; size: number }
  | { op: 'free'; pick: number }
  | { op: 'realloc'; pick: number; size: number }
  | { op: 'give'; pick: number; slot: number }
  | { op: 'takeFree'; slot: number }
  | { op: 'trim' }
  /** a bad call on a live block (freed first for 'double'): must throw the right error */
  | { op: 'bad'; pick: number; kind: 'double' | 'interior' | 'misaligned' };

export interface FuzzTask extends ControlRef {
  worker: number;
  ops: FuzzOp[];
}

export interface FuzzResult {
  worker: number;
  ops: number;
  allocs: number;
  frees: number;
  remoteFrees: number;
  failures: StressFailure[];
}

/**
 * Runs one generated op list. `pick` indexes the worker's live blocks modulo their count
 * (no-op when it has none). Every block is stamped; calloc blocks are checked to be zero
 * first. At the end the worker frees what it still holds (what it gave away stays in the
 * hand-off array for the main thread) and detaches.
 */
export function runOps(t: FuzzTask): FuzzResult {
  const s = new Session(t, t.worker, `fuzz worker ${t.worker}`);
  const { heap, c } = s;
  const live: bigint[] = [];
  let gen = 0;
  const stampNew = (p: number, size: number): void => {
    gen = (gen + 1) & GEN_MASK;
    const usable = heap.usableSize(p);
    if (p <= 0 || p % 16 !== 0 || usable < size) throw new Error(`block ${p} of usableSize ${usable} for ${size} bytes`);
    stampBlock(s.u32, p, { p, gen, owner: s.owner, requested: Math.max(1, size) }, t.salt);
    live.push(makeToken(p, s.owner, gen));
    c.allocs++;
  };
  const pick = (k: number): bigint => {
    const i = k % live.length;
    const tok = live[i]!;
    live[i] = live[live.length - 1]!;
    live.pop();
    return tok;
  };
  try {
    for (const o of t.ops) {
      if (c.failures.length > 0) break;
      c.ops++;
      switch (o.op) {
        case 'malloc':
          stampNew(heap.malloc(o.size), o.size);
          break;
        case 'calloc': {
          const p = heap.calloc(o.count, o.size);
          const bytes = o.count * o.size;
          const u8 = new Uint8Array(t.buffer, p, bytes);
          const nz = u8.findIndex((b) => b !== 0);
          if (nz >= 0) {
            s.fail({ kind: 'corrupt', pointer: p, sizeClass: s.classOf(heap.usableSize(p)), detail: `calloc(${o.count}, ${o.size}) byte +${nz} is ${u8[nz]}, not 0` });
            break;
          }
          stampNew(p, bytes);
          break;
        }
        case 'free':
          if (live.length > 0) s.verifyAndFree(pick(o.pick), 'fuzz free');
          break;
        case 'realloc': {
          if (live.length === 0) break;
          const tok = pick(o.pick);
          const usable = s.verify(tok, 'before realloc');
          if (usable === undefined) break;
          const p = tokenPtr(tok);
          const old: Stamp = { p, gen: tokenGen(tok), owner: tokenOwner(tok), requested: s.u32[(p >>> 2) + 3]! };
          const q = heap.realloc(p, o.size);
          const bad = verifyStamp(s.u32, q, old, t.salt, o.size & ~3);
          if (bad !== null) {
            s.fail({ kind: 'corrupt', pointer: q, sizeClass: s.classOf(heap.usableSize(q)), allocatedBy: ownerName(old.owner), detail: `realloc ${p} -> ${q}: ${bad}` });
            break;
          }
          stampNew(q, o.size);
          c.allocs--;
          break;
        }
        case 'give': {
          if (live.length === 0) break;
          const tok = pick(o.pick);
          if (s.verify(tok, 'before give') === undefined) break;
          const old = Atomics.exchange(s.cv.handoff, o.slot % t.handoffSlots, tok);
          if (old !== 0n) s.verifyAndFree(old, 'taken from the hand-off array');
          break;
        }
        case 'takeFree': {
          const old = Atomics.exchange(s.cv.handoff, o.slot % t.handoffSlots, 0n);
          if (old !== 0n) s.verifyAndFree(old, 'taken from the hand-off array');
          break;
        }
        case 'trim':
          heap.trim();
          break;
        case 'bad': {
          if (live.length === 0) break;
          const tok = o.kind === 'double' ? pick(o.pick) : live[o.pick % live.length]!;
          const p = tokenPtr(tok);
          const usable = heap.usableSize(p);
          if (o.kind === 'double' && !s.verifyAndFree(tok, 'before a double free')) break;
          if (o.kind === 'interior' && usable <= 16) break;
          const q = o.kind === 'double' ? p : o.kind === 'interior' ? p + 16 : p + 8;
          const want = o.kind === 'double' ? 'DoubleFreeError' : 'InvalidPointerError';
          let got = 'nothing';
          try {
            heap.free(q);
          } catch (e) {
            got = (e as Error).constructor.name;
          }
          if (got !== want) {
            s.fail({ kind: 'error', pointer: p, sizeClass: s.classOf(usable), detail: `${o.kind} free of ${q}: expected ${want}, got ${got}` });
          }
          break;
        }
      }
    }
    while (live.length > 0 && c.failures.length === 0) s.verifyAndFree(live.pop()!, 'fuzz end');
  } catch (e) {
    s.fail({ kind: 'error', detail: `${(e as Error).name}: ${(e as Error).message}` });
  }
  s.detach();
  return { worker: t.worker, ops: c.ops, allocs: c.allocs, frees: c.frees, remoteFrees: c.remoteFrees, failures: c.failures };
}

// ------------------------------------------------------------------- probes

export interface ProbeTask {
  buffer: SharedArrayBuffer;
  /**
   * free / usableSize / realloc / malloc: one call on `p` (and `size`);
   * freeMany: free every pointer of `ps`; callocMany / mallocMany: `count` x calloc(1, size)
   * or malloc(size), kept, counting the bytes that are not zero; dirtyFree: `count` x
   * malloc(size), filled with `fill` over their usable size, then freed.
   */
  op: 'free' | 'usableSize' | 'realloc' | 'malloc' | 'freeMany' | 'callocMany' | 'mallocMany' | 'dirtyFree';
  fill?: number;
  p?: number;
  ps?: number[];
  size?: number;
  count?: number;
}

export interface ProbeResult {
  ok: boolean;
  /** the error's class name and code (class identity does not cross threads) */
  name: string;
  code: string;
  message: string;
  /** malloc / realloc / usableSize result; callocMany: the blocks */
  value: number;
  values: number[];
  /** callocMany / mallocMany: bytes that were not zero, in all and per block of `values` */
  nonZero: number;
  nonZeroByBlock: number[];
  threadId: number;
}

/**
 * Calls from another thread (a remote free, a double free from another worker, calloc of
 * memory another thread dirtied): attach, call, report, then check() and a malloc/free
 * round trip, detach (which flushes this thread's cache to the central caches).
 */
export function probe(t: ProbeTask): ProbeResult {
  const heap = SharedHeap.attach(t.buffer);
  const r: ProbeResult = { ok: true, name: '', code: '', message: '', value: 0, values: [], nonZero: 0, nonZeroByBlock: [], threadId };
  const p = t.p ?? 0;
  try {
    if (t.op === 'free') heap.free(p);
    else if (t.op === 'usableSize') r.value = heap.usableSize(p);
    else if (t.op === 'realloc') r.value = heap.realloc(p, t.size ?? 32);
    else if (t.op === 'malloc') r.value = heap.malloc(t.size ?? 32);
    else if (t.op === 'freeMany') for (const q of t.ps ?? []) heap.free(q);
    else {
      const size = t.size ?? 32;
      for (let k = 0; k < (t.count ?? 1); k++) {
        const q = t.op === 'callocMany' ? heap.calloc(1, size) : heap.malloc(size);
        r.values.push(q);
        const bytes = new Uint8Array(t.buffer, q, t.op === 'callocMany' ? size : heap.usableSize(q));
        if (t.op === 'dirtyFree') bytes.fill(t.fill ?? 0x77);
        else {
          let n = 0;
          for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) n++;
          r.nonZero += n;
          r.nonZeroByBlock.push(n);
        }
      }
      if (t.op === 'dirtyFree') for (const q of r.values) heap.free(q);
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    Object.assign(r, { ok: false, name: err.constructor.name, code: err.code ?? '', message: err.message });
  }
  heap.check();
  heap.free(heap.malloc(48));
  heap.detach();
  return r;
}
