/**
 * Helpers shared by every lock kind: the statistics sink, the acquire-latency sample,
 * the busy-wait delay used for backoff, and the timed "yield" wait.
 *
 * Owns: no shared state. `NO_STATS` is a per-thread scratch sink that locks created
 * without `stats` write into, so every lock keeps one code path (no `if (stats)` on the
 * hot path) and stays monomorphic.
 *
 * Invariants: the stats sink of a Lock is written only by its own thread with plain
 * float stores (LockStat layout of lock.ts). Nothing here allocates.
 *
 * Descheduled holder: `yieldWait` is how every spinning waiter gives its core back. Node 20
 * has no `Atomics.pause` and no sched_yield, so a short timed `Atomics.wait` is the only
 * way to let a descheduled holder run when workers outnumber cores.
 */
import {
  LOCK_POLICIES,
  LockKindRefusedError,
  PARK_AFTER_NS,
  type WaitPolicy,
  LOCK_LATENCY_BUCKETS,
  LOCK_NODE_WORDS,
  LOCK_STAT_SLOTS,
  LOCK_WORDS,
  LockStat,
  MAX_OWNER_ID,
  LockNode,
  type DeadThreadAtLock,
  type LockInit,
  type LockKind,
} from './lock.js';

/** Scratch sink for locks created without `stats` (one per thread; nobody reads it). */
export const NO_STATS = new Float64Array(LOCK_STAT_SLOTS);

/** The sink and base a lock should write to. */
export function statsOf(init: LockInit): Float64Array {
  return init.stats ?? NO_STATS;
}
export function statsBaseOf(init: LockInit): number {
  return init.stats ? (init.statsBase ?? 0) : 0;
}

export function checkInit(init: LockInit, kind: string): void {
  const { i32, word, ownerId } = init;
  if (!(ownerId >= 1 && ownerId <= MAX_OWNER_ID && Number.isInteger(ownerId))) {
    throw new RangeError(`${kind} lock: ownerId ${ownerId} outside [1, MAX_OWNER_ID]`);
  }
  if (!Number.isInteger(word) || word < 0 || word + LOCK_WORDS > i32.length) {
    throw new RangeError(`${kind} lock: lock block at word ${word} does not fit the view`);
  }
  if (init.stats && (init.statsBase ?? 0) + LOCK_STAT_SLOTS > init.stats.length) {
    throw new RangeError(`${kind} lock: stats sink too small`);
  }
}

/**
 * Fields every lock kind carries. Only the fields live here, no hot-path method, so a
 * method never sees objects of unrelated kinds. Kinds that share a word protocol share it
 * in a family base (TasFamilyLock: tas, ttas; FutexFamilyLock: futex, adaptive;
 * TicketFamilyLock: the ticket kinds) and write their own waiting; a thread that uses one
 * kind of a family still sees one class in every method, and the tiers' defaults (ttas,
 * futex) take one kind from each of two families.
 */
export abstract class LockFields {
  abstract readonly kind: LockKind;
  readonly policy: WaitPolicy;
  /** Spin iterations before parking: Infinity under 'spin', 0 under 'park'. */
  protected readonly spinLimit: number;
  protected readonly i32: Int32Array;
  /** Index of word 0 of the lock block. */
  protected readonly w: number;
  protected readonly id: number;
  /** Statistics sink and base (NO_STATS when the caller gave none). */
  protected readonly s: Float64Array;
  protected readonly b: number;

  /** `defaultSpin`: the kind's own spin budget under 'spin-then-park' (else about one context switch). */
  constructor(init: LockInit, kind: LockKind, defaultSpin?: number) {
    checkInit(init, kind);
    this.i32 = init.i32;
    this.w = init.word;
    this.id = init.ownerId;
    this.s = statsOf(init);
    this.b = statsBaseOf(init);
    this.policy = policyOf(init, kind);
    this.spinLimit = spinLimitOf(init, this.policy, defaultSpin);
  }
}

/** The policy a lock of `kind` built from `init` uses; a policy the kind lacks is a typed error. */
export function policyOf(init: LockInit, kind: LockKind): WaitPolicy {
  const p = init.policy ?? LOCK_POLICIES[kind].default;
  if (!LOCK_POLICIES[kind].policies.includes(p)) {
    throw new LockKindRefusedError(`${kind} lock: waiting policy '${String(p)}' not supported (supported: ${LOCK_POLICIES[kind].policies.join(', ')})`);
  }
  return p;
}

/** Spin iterations before parking under `policy` (Infinity: never park; 0: park at once). */
export function spinLimitOf(init: LockInit, policy: WaitPolicy, defaultSpin?: number): number {
  if (policy === 'spin') return Infinity;
  if (policy === 'park') return 0;
  const b = init.spinBudget ?? defaultSpin ?? spinBudgetFor(PARK_AFTER_NS);
  if (!(b >= 0) || !Number.isFinite(b)) throw new RangeError(`spinBudget must be a finite number >= 0, got ${b}`);
  return Math.floor(b);
}

let nsPerSpin = 0;
/**
 * Spin iterations (one Atomics.load each, the cost of a waiter's re-read) that last about
 * `ns`. Calibrated once per thread: the fastest of five timed loops, so a preemption during
 * the calibration does not shrink the budget.
 */
export function spinBudgetFor(ns: number): number {
  if (nsPerSpin === 0) {
    const a = new Int32Array(new SharedArrayBuffer(64), 0, 16);
    let best = Infinity;
    let sink = 0;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let k = 0; k < 20_000; k++) sink += Atomics.load(a, k & 15);
      best = Math.min(best, ((performance.now() - t0) * 1e6) / 20_000);
    }
    relaxSink += sink;
    nsPerSpin = Math.max(best, 0.5);
  }
  return Math.max(1, Math.round(ns / nsPerSpin));
}

/**
 * Queue-node geometry: nodeWord(id) = base + id * stride. Checked affine on a few ids, so
 * lock code can compute any thread's node inline (no call inside a terminate-atomic step).
 */
export interface NodeGeometry {
  readonly base: number;
  readonly stride: number;
}

export function nodeGeometry(nodeWord: (ownerId: number) => number, i32Length: number, kind: string): NodeGeometry {
  const base = nodeWord(1) - (nodeWord(2) - nodeWord(1));
  const stride = nodeWord(2) - nodeWord(1);
  if (!Number.isInteger(base) || !Number.isInteger(stride) || stride < LOCK_NODE_WORDS || nodeWord(7) !== base + 7 * stride) {
    throw new RangeError(`${kind} lock: nodeWord must be base + ownerId * stride with stride >= LOCK_NODE_WORDS`);
  }
  if (base + stride < 0 || base + stride + LOCK_NODE_WORDS > i32Length) throw new RangeError(`${kind} lock: queue nodes out of range`);
  return { base, stride };
}

/** Node index of owner `id` for recovery, or -1 when the lock was built without nodes. */
export function nodeOfOwner(nodeWord: ((ownerId: number) => number) | undefined, i32Length: number, id: number, kind: string): number {
  if (!nodeWord) return -1;
  const g = nodeGeometry(nodeWord, i32Length, kind);
  return g.base + id * g.stride;
}

/**
 * Where a lock writes its own thread's WAIT record: the shared node when the caller gave
 * nodes, else a private scratch node (one code path, same array type: monomorphic).
 */
export function ownNode(init: LockInit, kind: string): { nodes: Int32Array; n: number } {
  if (!init.nodeWord) return { nodes: new Int32Array(LOCK_NODE_WORDS), n: 0 };
  const g = nodeGeometry(init.nodeWord, init.i32.length, kind);
  const n = g.base + init.ownerId * g.stride;
  if (n + LOCK_NODE_WORDS > init.i32.length) throw new RangeError(`${kind} lock: queue node out of range`);
  return { nodes: init.i32, n };
}

/**
 * For the lab-only kinds that cannot pass over a dead waiter: a typed error if `d.dead`
 * was waiting for this lock (its node records it), rather than a silent wedge.
 */
export function refuseDeadWaiter(d: DeadThreadAtLock, kind: LockKind): void {
  if (d.nodeWord && Atomics.load(d.i32, d.nodeWord(d.dead) + LockNode.WAIT) === d.word + 1) {
    throw new LockKindRefusedError(`${kind}: a dead waiter cannot be passed over (a lock-lab kind, never a tier lock)`);
  }
}

/** Monotonic milliseconds (performance.now), only read on contended paths. */
export const now = (): number => performance.now();

/**
 * Books one contended acquisition: counts, then the latency sample (log2-ns histogram).
 * Called once per slow-path acquire, never on the fast path.
 */
export function recordContended(
  s: Float64Array,
  b: number,
  t0: number,
  spins: number,
  parks: number,
): void {
  const ns = (performance.now() - t0) * 1e6;
  s[b + LockStat.acquisitions]++;
  s[b + LockStat.contended]++;
  s[b + LockStat.spins] += spins;
  s[b + LockStat.parks] += parks;
  s[b + LockStat.latencySamples]++;
  if (ns > s[b + LockStat.latencyMaxNs]) s[b + LockStat.latencyMaxNs] = ns;
  s[b + LockStat.latencyHistogram + latencyBucket(ns)]++;
}

/** Bucket b holds [2^b, 2^(b+1)) ns; bucket 0 also holds < 1 ns; the last one is open. */
export function latencyBucket(ns: number): number {
  if (!(ns >= 2)) return 0;
  const n = ns >= 0xffff_ffff ? 0xffff_ffff : ns >>> 0;
  const bucket = 31 - Math.clz32(n);
  return bucket < LOCK_LATENCY_BUCKETS ? bucket : LOCK_LATENCY_BUCKETS - 1;
}

/**
 * Busy delay of about `n` cheap iterations, for exponential backoff. It writes a module
 * variable so the JIT cannot drop the loop. (No Atomics.pause in Node 20.)
 */
let relaxSink = 0;
export function cpuRelax(n: number): void {
  let x = relaxSink;
  for (let k = 0; k < n; k++) x = (x + k) | 0;
  relaxSink = x;
}

/**
 * Gives the core away for at most `ms` while `i32[index]` still equals `value`; the timed
 * wait is the JS stand-in for sched_yield/sleep. Returns true if it was woken by notify.
 */
export function yieldWait(i32: Int32Array, index: number, value: number, ms: number): boolean {
  return Atomics.wait(i32, index, value, ms) === 'ok';
}

/** Books a notify that woke somebody (LockStat.wakeups counts woken threads). */
export function notifyOne(i32: Int32Array, index: number, s: Float64Array, b: number): void {
  const woken = Atomics.notify(i32, index, 1);
  if (woken > 0) s[b + LockStat.wakeups] += woken;
}
