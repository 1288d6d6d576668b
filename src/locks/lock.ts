/**
 * The lock interface shared by every lock design of the lock lab.
 *
 * Owns: nothing but vocabulary. A lock is a handful of 32-bit words inside some
 * SharedArrayBuffer (its "lock block", LOCK_WORDS words = 64 bytes so two locks never
 * share a cache line) plus, for queue locks, one queue node per thread.
 * Locks know nothing of the allocator: whoever places them (the heap layout, the lock
 * benchmark) hands them an Int32Array, a word index and the calling thread's owner id.
 *
 * Invariants every kind keeps:
 * - ownerId is an integer in [1, MAX_OWNER_ID]; 0 means "nobody".
 * - One thread may hold any number of locks (of one kind or several) at once, in any
 *   order the caller keeps deadlock-free; a thread waits for at most one lock at a time.
 * - Dead threads: every state a dead thread can leave a lock in is readable from the lock
 *   block and the dead thread's queue node, so `recoverLock` (index.ts) can release a dead
 *   holder's lock, or pass on a dead waiter's turn / wake-up, while live threads go on
 *   using the lock. V8 delivers worker.terminate() at function entries, loop back-edges
 *   and at the entry of any Atomics.* call, but not between an Atomics call and the plain
 *   typed-array stores that follow it (checked: a worker looping `t = Atomics.add(a, 0, 1);
 *   a[1] = t + 1` and terminated at random times was never caught between the two; with
 *   `Atomics.store` as the second step, 30-50% of kills were). So every step recovery must
 *   read is "terminate-atomic": one atomic operation (the commit point), then only plain
 *   stores and arithmetic, no call. process.exit() and throws happen in the caller's code.
 */

/** Words (Int32) reserved for one lock's shared state: 64 bytes, a cache line. */
export const LOCK_WORDS = 16;

/** Words (Int32) reserved for one thread's queue node; 64 bytes. */
export const LOCK_NODE_WORDS = 16;

/**
 * Words of a thread's queue node (one node per thread, shared by all its locks: a thread
 * waits for one lock at a time, and no kind keeps anything in the node once it holds).
 * WAIT is the word index + 1 of the lock block the thread is waiting for (0 = none), set
 * on entering a slow path and cleared once the lock is held: it is how recovery finds the
 * locks a dead *waiter* was involved with.
 */
export const LockNode = {
  FLAG: 0, // mcs: 1 waiting, 2 waiting and parked, 0 granted, 3 abandoned (waiter dead), 4 being passed over
  NEXT: 1, // mcs: ownerId of the successor in the queue, 0 = none yet
  PRED: 2, // mcs: the TAIL value this waiter displaced (diagnostics)
  WAIT: 3, // word + 1 of the lock waited for; futex/adaptive: -(word + 1) while an unlock owes a notify
  TICKET: 4, // ticket: the ticket this thread waits with
  REG: 5, // adaptive: 1 while counted in the lock's PARKED word
  CLH_FLAG: 6, // clh: this thread's own node (a flag word; nodes migrate between threads)
  CLH_OWN: 7, // clh: word index + 1 of the node this thread owns now (0 = its CLH_FLAG)
  GRANT: 8, // hemlock: word + 1 of the lock granted and not yet acknowledged (0 = none)
  ACTIVE: 9, // malthusian-mcs: 1 while counted in the lock's ACTIVE word, 2 while counted PASSIVE
  POSITION: 10, // anderson: the array position this thread waits with
} as const;

/** Owner ids must fit in the bits a lock word can spare. */
export const MAX_OWNER_ID = 0x3fff_ffff;

/** The classic kinds: every sweep that predates the wider catalogue iterates these. */
export type ClassicLockKind = 'tas' | 'ttas' | 'ticket' | 'mcs' | 'futex' | 'adaptive';
/** Queue and ticket locks of the literature that are also usable as tier locks. */
export type ExtraTierLockKind = 'ticket-backoff' | 'twa' | 'partitioned-ticket' | 'malthusian-mcs';
/**
 * Kinds for the lock lab only: a dead thread can wedge them (see each kind's header), and
 * `busted`, the negative control, excludes nobody. createTierLock / HeapOptions refuse them.
 */
export type LabOnlyLockKind = 'clh' | 'hemlock' | 'anderson' | 'busted';
export type LockKind = ClassicLockKind | ExtraTierLockKind | LabOnlyLockKind;

export const LOCK_KINDS: readonly LockKind[] = ['tas', 'ttas', 'ticket', 'mcs', 'futex', 'adaptive'];
/** Every kind a heap tier may use (HeapOptions.locks). */
export const TIER_LOCK_KINDS: readonly LockKind[] = [...LOCK_KINDS, 'ticket-backoff', 'twa', 'partitioned-ticket', 'malthusian-mcs'];
export const LAB_ONLY_LOCK_KINDS: readonly LabOnlyLockKind[] = ['clh', 'hemlock', 'anderson', 'busted'];
/** Every built-in kind, the negative control last. */
export const ALL_LOCK_KINDS: readonly LockKind[] = [...TIER_LOCK_KINDS, ...LAB_ONLY_LOCK_KINDS];

/** Numeric codes so a heap header can record which kind each tier uses (low byte of the word). */
export const LOCK_KIND_CODE: Readonly<Record<LockKind, number>> = {
  tas: 1,
  ttas: 2,
  ticket: 3,
  mcs: 4,
  futex: 5,
  adaptive: 6,
  'ticket-backoff': 7,
  twa: 8,
  'partitioned-ticket': 9,
  'malthusian-mcs': 10,
  clh: 11,
  hemlock: 12,
  anderson: 13,
  busted: 14,
};

export function lockKindFromCode(code: number): LockKind | undefined {
  for (const k of ALL_LOCK_KINDS) if (LOCK_KIND_CODE[k] === code) return k;
  return undefined;
}

/**
 * How a waiter waits (LiTL's knob, separate from the algorithm):
 * - 'spin': re-reads the word it watches and never sleeps (pure spinning);
 * - 'spin-then-park': spins a budget (LockInit.spinBudget, by default about one context
 *   switch: PARK_AFTER_NS), then sleeps in Atomics.wait on the word or queue node it watches;
 * - 'park': sleeps at once.
 * Kinds whose waiting is their definition (tas, ttas: spin with timed yields; adaptive:
 * WebKit's spin-then-park) accept only their own policy (LOCK_POLICIES).
 */
export type WaitPolicy = 'spin' | 'spin-then-park' | 'park';
export const WAIT_POLICIES: readonly WaitPolicy[] = ['spin', 'spin-then-park', 'park'];
const ALL_POLICIES = WAIT_POLICIES;
const QUEUE_DEFAULT = { policies: ALL_POLICIES, default: 'spin-then-park' } as const;

/**
 * The policies each kind accepts and its default. Defaults: every kind whose waiters can
 * park parks after about one context switch of spinning, because with more workers than
 * cores a waiter that only spins holds the core its predecessor needs to run (the
 * oversubscription collapse measured for pure spinning: docs/notes/2026-11-26-locks-results.md);
 * busted never waits, so its only policy is 'spin'.
 */
export const LOCK_POLICIES: Readonly<Record<LockKind, { readonly policies: readonly WaitPolicy[]; readonly default: WaitPolicy }>> = {
  tas: { policies: ['spin'], default: 'spin' },
  ttas: { policies: ['spin'], default: 'spin' },
  adaptive: { policies: ['spin-then-park'], default: 'spin-then-park' },
  futex: QUEUE_DEFAULT,
  ticket: QUEUE_DEFAULT,
  mcs: QUEUE_DEFAULT,
  'ticket-backoff': QUEUE_DEFAULT,
  twa: QUEUE_DEFAULT,
  'partitioned-ticket': QUEUE_DEFAULT,
  'malthusian-mcs': QUEUE_DEFAULT,
  clh: QUEUE_DEFAULT,
  hemlock: QUEUE_DEFAULT,
  anderson: QUEUE_DEFAULT,
  busted: { policies: ['spin'], default: 'spin' },
};

/** Numeric policy codes for a heap header (second byte of the tier's lock word; 0 = the kind's default). */
export const WAIT_POLICY_CODE: Readonly<Record<WaitPolicy, number>> = { spin: 1, 'spin-then-park': 2, park: 3 };

/** About one context switch on the machines measured (LiTL parks after ~9 us of spinning). */
export const PARK_AFTER_NS = 10_000;

/** Why a kind cannot be a tier lock, or undefined if it can. */
export function tierLockRefusal(kind: LockKind): string | undefined {
  switch (kind) {
    case 'busted':
      return 'busted is the negative control of the lock lab: it provides no mutual exclusion';
    case 'clh':
    case 'hemlock':
    case 'anderson':
      return `${kind} cannot pass over a waiter that died in its queue (see src/locks/${kind}.ts), so a killed worker could wedge the heap; it is a lock-lab kind only`;
    default:
      return (TIER_LOCK_KINDS as readonly string[]).includes(kind) ? undefined : `unknown lock kind ${String(kind)}`;
  }
}

/**
 * A tier's lock as a heap header records it: kind code in the low byte, policy code in
 * the next (0 = the kind's default policy).
 */
export function tierLockCode(kind: LockKind, policy?: WaitPolicy): number {
  return LOCK_KIND_CODE[kind] | ((policy === undefined ? 0 : WAIT_POLICY_CODE[policy]) << 8);
}

export function tierLockFromCode(code: number): { kind: LockKind; policy: WaitPolicy | undefined } | undefined {
  const kind = lockKindFromCode(code & 0xff);
  if (kind === undefined || (code >>> 16) !== 0) return undefined;
  const pc = (code >>> 8) & 0xff;
  if (pc === 0) return { kind, policy: undefined };
  const policy = WAIT_POLICIES.find((p) => WAIT_POLICY_CODE[p] === pc);
  return policy === undefined ? undefined : { kind, policy };
}

/** A lock kind or policy that cannot serve where it was asked for (a tier lock, a policy the kind lacks). */
export class LockKindRefusedError extends TypeError {
  override readonly name = 'LockKindRefusedError';
}

/**
 * Per-thread statistics counters of one lock (or of a group of locks sharing one sink).
 * Layout of the LOCK_STAT_SLOTS float64 slots starting at `base` in `f64`:
 */
export const LockStat = {
  acquisitions: 0,
  contended: 1, // acquisitions that did not succeed on the first attempt
  spins: 2, // spin-loop iterations while waiting
  parks: 3, // Atomics.wait calls (timed or not)
  wakeups: 4, // Atomics.notify calls that woke somebody (as reported by notify)
  handoffs: 5, // direct hand-offs of ownership to a waiter
  latencySamples: 6, // number of sampled acquire latencies
  latencyMaxNs: 7, // largest sampled acquire latency
  /** 32 buckets: bucket b counts samples with latency in [2^b, 2^(b+1)) ns; bucket 0 also holds < 1 ns. */
  latencyHistogram: 8,
} as const;
export const LOCK_LATENCY_BUCKETS = 32;
export const LOCK_STAT_SLOTS = 8 + LOCK_LATENCY_BUCKETS; // 40 float64 = 320 bytes

export interface LockInit {
  /** View over the shared buffer holding the lock block (and queue nodes). */
  readonly i32: Int32Array;
  /** Index in `i32` of the lock's first word; LOCK_WORDS words from there are the lock's. */
  readonly word: number;
  /** This thread's id for the lock, in [1, MAX_OWNER_ID]. */
  readonly ownerId: number;
  /**
   * Index in `i32` of this thread's queue node (LOCK_NODE_WORDS words), for queue locks
   * (mcs). A thread may hold at most one lock per node at a time; the allocator never holds
   * two locks at once, so one node per thread serves all its locks.
   * Queue nodes of all threads must live in the same `i32` view. Node indices are found
   * from owner ids with `nodeWordOf(ownerId)`.
   */
  readonly nodeWord?: (ownerId: number) => number;
  /** Per-thread statistics sink: LOCK_STAT_SLOTS float64 slots at `statsBase`. */
  readonly stats?: Float64Array;
  readonly statsBase?: number;
  /** Waiting policy (LOCK_POLICIES[kind]); default LOCK_POLICIES[kind].default. */
  readonly policy?: WaitPolicy;
  /** Spin iterations before parking under 'spin-then-park'; default spinBudgetFor(PARK_AFTER_NS). */
  readonly spinBudget?: number;
}

export interface Lock {
  readonly kind: LockKind;
  /** Blocks (spinning and/or parking, per kind) until this thread holds the lock. */
  lock(): void;
  /** Releases the lock; the caller must hold it. */
  unlock(): void;
  /** Acquires the lock only if that needs no waiting; true if now held. */
  tryLock(): boolean;
  /** ownerId of the current holder, 0 if free (a racy snapshot). */
  holder(): number;
  /** How its waiters wait (built-in kinds always say; a lock module may). */
  readonly policy?: WaitPolicy;
}

/**
 * What `recoverLock` found a dead thread doing with one lock: holding it (released, after
 * the caller's undo ran), waiting for it (its turn or wake-up passed on), or nothing.
 */
export type DeadThreadRole = 'held' | 'waited' | 'none';

/** A dead thread and one lock it may have held or waited for, for `recoverLock`. */
export interface DeadThreadAtLock {
  /** The view and lock block, as the threads' locks were built with. */
  readonly i32: Int32Array;
  readonly word: number;
  /** The threads' node mapping (LockInit.nodeWord); required for mcs. */
  readonly nodeWord?: (ownerId: number) => number;
  /** ownerId of the dead thread. */
  readonly dead: number;
  /** Rolls back what the lock guards; called only if the dead thread holds the lock, before it is released. */
  readonly undo: () => void;
}

/** Summary of one or more LockStat sinks, for reports. */
export interface LockStatsSummary {
  acquisitions: number;
  contended: number;
  spins: number;
  parks: number;
  wakeups: number;
  handoffs: number;
  latencySamples: number;
  latencyP50Ns: number;
  latencyP99Ns: number;
  latencyMaxNs: number;
  /**
   * Contended acquire latency, log2 buckets (LOCK_LATENCY_BUCKETS: bucket b counts waits in
   * [2^b, 2^(b+1)) ns), summed over the threads; a window's distribution is the difference
   * of two snapshots.
   */
  latencyBuckets: number[];
}
