/**
 * The lock lab's front door: the factory, lock-block set-up, recovery helpers and the
 * statistics summary. Re-exports the whole vocabulary of lock.ts.
 *
 * Owns: no state. `createLock` returns one class per kind, so a call site that always
 * builds the same kind stays monomorphic.
 *
 * Invariants: a lock block is LOCK_WORDS zeroed words (initLockBlock) before any thread
 * builds a Lock on it; every kind reads an all-zero block as "free, nobody waiting".
 *
 * Dead threads: every kind records the holder's ownerId while held (holderOf), and the
 * kinds whose waiters carry a duty (a ticket, a queue position, a wake-up) record in the
 * waiter's queue node what it waits for. recoverLock(kind, { ..., dead, undo }) reads both and
 * leaves the lock independent of the dead thread, while live threads go on using it: a
 * dead holder's lock is released (after `undo`, the caller's rollback of what it guarded),
 * a dead waiter's ticket or queue position is passed over, a wake-up it took is re-issued.
 * No lock library offers the waiter half: robust pthread mutexes (and Windows' abandoned
 * mutexes) report a dead *holder* only, and a thread killed while queued for a ticket or
 * MCS lock wedges it. recoverLock must only be called for a thread known dead, at most
 * once per lock per death, and before its owner id is reused. The lab-only kinds (clh,
 * hemlock, anderson) recover a dead holder only; for a dead waiter recoverLock throws a
 * LockKindRefusedError (each kind's header says why), and createTierLock refuses them.
 *
 * Waiting policies: LockInit.policy picks spin, spin-then-park or park for every kind
 * that accepts them (LOCK_POLICIES), LockInit.spinBudget the spins before parking
 * (spinBudgetFor(ns) converts a duration with this thread's calibration).
 */
import {
  ALL_LOCK_KINDS,
  LOCK_POLICIES,
  LockKindRefusedError,
  tierLockRefusal,
  type WaitPolicy,
  LOCK_LATENCY_BUCKETS,
  LOCK_STAT_SLOTS,
  LOCK_WORDS,
  LockStat,
  type DeadThreadAtLock,
  type DeadThreadRole,
  type Lock,
  type LockInit,
  type LockKind,
  type LockStatsSummary,
} from './lock.js';
import { FutexLock, futexHolder, futexRecover } from './futex.js';
import { TtasLock } from './ttas.js';
import { TasLock } from './tas.js';
import { TicketLock, ticketHolder, ticketRecover } from './ticket.js';
import { McsLock, mcsHolder, mcsRecover } from './mcs.js';
import { AdaptiveLock, adaptiveRecover } from './adaptive.js';
import { TicketBackoffLock } from './ticket-backoff.js';
import { TwaLock } from './twa.js';
import { PartitionedTicketLock } from './partitioned-ticket.js';
import { MalthusianMcsLock, malthusianRecover } from './malthusian-mcs.js';
import { ClhLock, clhHolder, clhRecover } from './clh.js';
import { HemlockLock, hemlockHolder, hemlockRecover } from './hemlock.js';
import { AndersonLock, andersonHolder, andersonRecover } from './anderson.js';
import { BustedLock } from './busted.js';

export * from './lock.js';
export { FutexLock } from './futex.js';
export { TtasLock } from './ttas.js';
export { TasLock } from './tas.js';
export { TicketLock } from './ticket.js';
export { McsLock } from './mcs.js';
export { AdaptiveLock } from './adaptive.js';
export { TicketBackoffLock } from './ticket-backoff.js';
export { TwaLock } from './twa.js';
export { PartitionedTicketLock } from './partitioned-ticket.js';
export { MalthusianMcsLock } from './malthusian-mcs.js';
export { ClhLock } from './clh.js';
export { HemlockLock } from './hemlock.js';
export { AndersonLock } from './anderson.js';
export { BustedLock } from './busted.js';
export { spinBudgetFor } from './common.js';

export function createLock(kind: LockKind, init: LockInit): Lock {
  switch (kind) {
    case 'futex':
      return new FutexLock(init);
    case 'ttas':
      return new TtasLock(init);
    case 'tas':
      return new TasLock(init);
    case 'ticket':
      return new TicketLock(init);
    case 'mcs':
      return new McsLock(init);
    case 'adaptive':
      return new AdaptiveLock(init);
    case 'ticket-backoff':
      return new TicketBackoffLock(init);
    case 'twa':
      return new TwaLock(init);
    case 'partitioned-ticket':
      return new PartitionedTicketLock(init);
    case 'malthusian-mcs':
      return new MalthusianMcsLock(init);
    case 'clh':
      return new ClhLock(init);
    case 'hemlock':
      return new HemlockLock(init);
    case 'anderson':
      return new AndersonLock(init);
    case 'busted':
      return new BustedLock(init);
    default:
      throw new RangeError(`unknown lock kind ${String(kind)}`);
  }
}

/** Throws LockKindRefusedError unless `kind` (with `policy`, if given) may be a heap tier's lock. */
export function checkTierLock(kind: LockKind, policy?: WaitPolicy): void {
  if (!(ALL_LOCK_KINDS as readonly string[]).includes(kind)) throw new RangeError(`unknown lock kind ${String(kind)}`);
  const why = tierLockRefusal(kind);
  if (why !== undefined) throw new LockKindRefusedError(`lock kind '${kind}' refused as a tier lock: ${why}`);
  if (policy !== undefined && !LOCK_POLICIES[kind].policies.includes(policy)) {
    throw new LockKindRefusedError(`lock kind '${kind}': waiting policy '${String(policy)}' not supported (supported: ${LOCK_POLICIES[kind].policies.join(', ')})`);
  }
}

/** createLock for a heap tier: refuses lab-only kinds (LockKindRefusedError). */
export function createTierLock(kind: LockKind, init: LockInit): Lock {
  checkTierLock(kind, init.policy);
  return createLock(kind, init);
}

/** Zeroes the LOCK_WORDS words of a lock block. Call once, before any thread uses it. */
export function initLockBlock(i32: Int32Array, word: number): void {
  i32.fill(0, word, word + LOCK_WORDS);
}

/** ownerId of the thread holding the lock at `word`, 0 if free (racy snapshot). */
export function holderOf(kind: LockKind, i32: Int32Array, word: number): number {
  switch (kind) {
    case 'futex':
    case 'adaptive': // same encoding: ownerId * 2 | flag; the hand-off value 1 reads 0
      return futexHolder(i32, word);
    case 'tas':
    case 'ttas':
      return Atomics.load(i32, word);
    case 'ticket':
    case 'ticket-backoff':
    case 'twa':
    case 'partitioned-ticket':
      return ticketHolder(i32, word);
    case 'mcs':
    case 'malthusian-mcs':
      return mcsHolder(i32, word);
    case 'clh':
      return clhHolder(i32, word);
    case 'hemlock':
      return hemlockHolder(i32, word);
    case 'anderson':
      return andersonHolder(i32, word);
    case 'busted':
      return 0; // holds nothing, whatever its word says
    default:
      throw new RangeError(`unknown lock kind ${String(kind)}`);
  }
}

/**
 * Makes the lock at `word` independent of dead thread `dead` (an ownerId): if it holds the
 * lock, calls `undo` (roll back what the lock guards) and then releases it on its behalf;
 * if it was waiting for it, passes on its turn or wake-up. `nodeWord` must be the one the
 * threads' locks were built with (required for mcs; without it ticket, futex and adaptive
 * can only recover a dead holder). Returns what the dead thread was doing with the lock.
 */
export function recoverLock(kind: LockKind, d: DeadThreadAtLock): DeadThreadRole {
  switch (kind) {
    case 'futex':
      return futexRecover(d);
    case 'adaptive':
      return adaptiveRecover(d);
    case 'tas':
    case 'ttas': // waiters hold nothing; word 0 is the holder, 0 = free
      if (Atomics.load(d.i32, d.word) !== d.dead) return 'none';
      d.undo();
      Atomics.compareExchange(d.i32, d.word, d.dead, 0);
      Atomics.notify(d.i32, d.word);
      return 'held';
    case 'ticket':
    case 'ticket-backoff':
    case 'twa':
    case 'partitioned-ticket':
      return ticketRecover(d);
    case 'mcs':
      return mcsRecover(d);
    case 'malthusian-mcs':
      return malthusianRecover(d);
    case 'clh':
      return clhRecover(d);
    case 'hemlock':
      return hemlockRecover(d);
    case 'anderson':
      return andersonRecover(d);
    case 'busted':
      return 'none';
    default:
      throw new RangeError(`unknown lock kind ${String(kind)}`);
  }
}

/**
 * Recovery of a lock whose holder (whoever it is) died: releases it on the holder's
 * behalf and wakes the sleepers. Only call it once the holder is known dead.
 */
export function forceUnlock(kind: LockKind, i32: Int32Array, word: number, nodeWord?: (ownerId: number) => number): void {
  const dead = holderOf(kind, i32, word);
  if (dead !== 0) recoverLock(kind, { i32, word, nodeWord, dead, undo: () => {} });
}

/**
 * Sums the per-thread sinks at `bases` in `f64` (LockStat layout). p50/p99 come from the
 * merged log2 histogram: the lower edge 2^b ns of the bucket holding that rank (so they
 * are accurate to a factor of two); the max is the largest sampled latency.
 */
export function summarizeLockStats(f64: Float64Array, bases: readonly number[]): LockStatsSummary {
  const hist = new Float64Array(LOCK_LATENCY_BUCKETS);
  const sum: LockStatsSummary = {
    acquisitions: 0,
    contended: 0,
    spins: 0,
    parks: 0,
    wakeups: 0,
    handoffs: 0,
    latencySamples: 0,
    latencyP50Ns: 0,
    latencyP99Ns: 0,
    latencyMaxNs: 0,
    latencyBuckets: [],
  };
  for (const b of bases) {
    if (b < 0 || b + LOCK_STAT_SLOTS > f64.length) throw new RangeError(`stats base ${b} out of range`);
    sum.acquisitions += f64[b + LockStat.acquisitions];
    sum.contended += f64[b + LockStat.contended];
    sum.spins += f64[b + LockStat.spins];
    sum.parks += f64[b + LockStat.parks];
    sum.wakeups += f64[b + LockStat.wakeups];
    sum.handoffs += f64[b + LockStat.handoffs];
    sum.latencySamples += f64[b + LockStat.latencySamples];
    sum.latencyMaxNs = Math.max(sum.latencyMaxNs, f64[b + LockStat.latencyMaxNs]);
    for (let k = 0; k < LOCK_LATENCY_BUCKETS; k++) hist[k] += f64[b + LockStat.latencyHistogram + k];
  }
  sum.latencyBuckets = Array.from(hist);
  sum.latencyP50Ns = histogramQuantile(hist, 0.5);
  sum.latencyP99Ns = histogramQuantile(hist, 0.99);
  return sum;
}

/** Lower edge (ns) of the log2 bucket holding quantile q; 0 when there are no samples. */
export function histogramQuantile(hist: Float64Array, q: number): number {
  let total = 0;
  for (let k = 0; k < hist.length; k++) total += hist[k];
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let k = 0; k < hist.length; k++) {
    seen += hist[k];
    if (seen >= rank) return k === 0 ? 0 : 2 ** k;
  }
  return 2 ** (hist.length - 1);
}
