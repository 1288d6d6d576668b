/**
 * Dead-thread scenarios for one lock, shared by the lock tests and the lock lab's
 * validation mode (`sabmalloc locks --validate`): a real worker_threads worker is killed
 * (worker.terminate()) while it holds the lock, while it is queued for it, or just as the
 * lock is being released to it; recoverLock runs for it; the surviving workers must then
 * finish all their acquisitions, mutually exclusive, and a new thread reusing the dead
 * thread's owner id must work too.
 *
 * Owns: the victim (a fresh thread, or an idle pooled one taken out of the pool; terminated
 * when a scenario returns or throws), the pooled threads it borrows for the survivors and
 * the id-reusing thread (bench/locks/threads.ts; back in the pool once finished, terminated
 * if still running when a scenario throws), and
 * one SharedArrayBuffer per scenario, laid out as hammer.ts says. Runs on the coordinating
 * thread; the workers run dist/workers/lock-deaths.js.
 *
 * Invariants: owner 4 is the coordinator, owner 1 the victim (queued first), owners 2 and 3
 * the survivors (queued behind it). Every wait is bounded (DeadThreadWedged on timeout);
 * nothing asserts timing.
 */
import {
  LOCK_STAT_SLOTS,
  LockNode,
  LockStat,
  createLock,
  holderOf,
  initLockBlock,
  recoverLock,
  type DeadThreadRole,
  type LockKind,
  type WaitPolicy,
} from '../../src/locks/index.js';
import { CTRL, LOCK_WORD, hammerWords, nodeWordOf, statsBaseOf, type HammerResult, type HammerTask } from './hammer.js';
import { lockThreads, type LockThread } from './threads.js';

const SURVIVOR_ITERATIONS = 300;
const REUSE_ITERATIONS = 100;

/**
 * holder: killed holding the lock; queued: killed waiting behind the coordinator;
 * handoff: killed `delayMs` after the coordinator started releasing to it; anywhere: killed
 * `delayMs` into a run in which it and the survivors hammer the lock, counted from the
 * moment each of the three has held it once (any step of lock or unlock, fast or slow path).
 */
export type DeathMode = 'holder' | 'queued' | 'handoff' | 'anywhere';

/** A scenario did not finish: some thread is stuck on the lock the dead thread left behind. */
export class DeadThreadWedged extends Error {
  override readonly name = 'DeadThreadWedged';
}

export interface DeathOutcome {
  kind: LockKind;
  mode: DeathMode;
  /** What recoverLock found the victim doing. */
  role: DeadThreadRole;
  /** Survivors' (and the id-reusing thread's) results. */
  results: HammerResult[];
  /** Acquisitions counted under the lock (the victim's own, if it got in, included). */
  counter: number;
  /** holderOf after everyone finished (0 expected). */
  holderAfter: number;
}

/** Waits for `p`, or terminates `workers` and throws DeadThreadWedged after `ms`. */
export async function boundedWait<T>(p: Promise<T>, ms: number, what: string, workers: readonly { terminate(): unknown }[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      for (const w of workers) void w.terminate();
      reject(new DeadThreadWedged(`${what}: no progress within ${ms} ms (wedged lock?)`));
    }, ms);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

export async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new DeadThreadWedged(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Kinds whose waiters record what they wait for in their queue node (LockNode WAIT), so a
 * scenario can wait until each has queued. tas/ttas waiters owe nothing; malthusian-mcs's
 * culled waiters sleep in its passive set on the GATE word and record only their ACTIVE
 * count, not WAIT, so for them a scenario gives the victim 30 ms from reaching the lock
 * (CTRL.ready) to get in line, and the survivors 20 ms.
 */
export const RECORDS_WAIT: readonly LockKind[] = ['ticket', 'mcs', 'futex', 'adaptive', 'ticket-backoff', 'twa', 'partitioned-ticket'];
const waiting = (i32: Int32Array, id: number): boolean => Atomics.load(i32, nodeWordOf(id) + LockNode.WAIT) === LOCK_WORD + 1;

/**
 * One scenario: the victim (owner 1) dies holding the lock (`holder`), queued behind the
 * coordinator (`queued`), or `delayMs` after the coordinator started releasing to it
 * (`handoff`: it may die just after being woken or granted). Survivors (owners 2, 3) are
 * queued behind it when it dies. Throws DeadThreadWedged if anyone is stuck.
 */
export async function deadThreadRun(kind: LockKind, mode: DeathMode, delayMs = 0, boundMs = 60_000, policy?: WaitPolicy): Promise<DeathOutcome> {
  const sab = new SharedArrayBuffer(hammerWords(4) * 4);
  const statsSab = new SharedArrayBuffer(4 * LOCK_STAT_SLOTS * 8);
  const i32 = new Int32Array(sab);
  const stats = new Float64Array(statsSab);
  initLockBlock(i32, LOCK_WORD);
  const main = createLock(kind, { i32, word: LOCK_WORD, ownerId: 4, nodeWord: nodeWordOf, policy });
  const shape = { sab, statsSab, kind, policy, csWrites: 2, outsideWork: 4, useTryLock: false };
  const records = RECORDS_WAIT.includes(kind);
  Atomics.store(i32, CTRL.go, 1); // no barrier: every worker goes straight for the lock
  const acquired = (id: number): boolean => stats[statsBaseOf(id) + LockStat.acquisitions]! > 0;
  const all: LockThread[] = [];
  try {
    let victim;
    if (mode === 'anywhere') {
      victim = lockThreads.runToKill({ ...shape, ownerId: 1, iterations: 0 });
      all.push(victim);
      await until(() => acquired(1), `${kind}: the victim to start`);
    } else if (mode === 'holder') {
      victim = lockThreads.runToKill({ ...shape, ownerId: 1, iterations: 1, holdForever: true });
      all.push(victim);
      await until(() => Atomics.load(i32, CTRL.held) === 1, `${kind}: the victim to hold the lock`);
    } else {
      main.lock();
      victim = lockThreads.runToKill({ ...shape, ownerId: 1, iterations: 0 }); // until killed
      all.push(victim);
      if (records) await until(() => waiting(i32, 1), `${kind}: the victim to queue`);
      else {
        await until(() => Atomics.load(i32, CTRL.ready) === 1, `${kind}: the victim to reach the lock`);
        await new Promise((r) => setTimeout(r, 30));
      }
    }
    // pooled threads: they reach the lock within a millisecond or so, a new one after ~0.1 s
    const survivors = [2, 3].map((id) => lockThreads.run({ ...shape, ownerId: id, iterations: SURVIVOR_ITERATIONS }));
    all.push(...survivors);
    if (mode === 'anywhere') {
      // the victim dies in a contended run: each survivor has had the lock at least once
      await until(() => acquired(2) && acquired(3), `${kind}: the survivors to join the run`);
      const end = performance.now() + delayMs;
      while (performance.now() < end);
    } else {
      if (records) await until(() => waiting(i32, 2) && waiting(i32, 3), `${kind}: the survivors to queue`);
      await new Promise((r) => setTimeout(r, 20)); // let futex-style waiters get to sleep
    }
    if (mode === 'handoff') {
      main.unlock();
      const end = performance.now() + delayMs;
      while (performance.now() < end);
    }
    await victim.worker.terminate(); // resolves once it has exited
    let undone = 0;
    const role = recoverLock(kind, { i32, word: LOCK_WORD, nodeWord: nodeWordOf, dead: 1, undo: () => void undone++ });
    if (undone !== (role === 'held' ? 1 : 0)) throw new Error(`${kind}: recoverLock said ${role} but ran undo ${undone} times`);
    if (mode === 'queued') main.unlock();
    const results = await boundedWait(Promise.all(survivors.map((s) => s.done)), boundMs, `${kind} ${mode}: survivors`, all);
    const reuse = lockThreads.run({ ...shape, ownerId: 1, iterations: REUSE_ITERATIONS });
    all.push(reuse);
    results.push(await boundedWait(reuse.done, boundMs, `${kind} ${mode}: a new thread with the dead thread's id`, all));
    return { kind, mode, role, results, counter: Atomics.load(i32, CTRL.counter), holderAfter: holderOf(kind, i32, LOCK_WORD) };
  } finally {
    await Promise.all(all.map((t) => t.terminate())); // the victim; pooled threads only if still running
  }
}

/** Acquisitions the survivors and the id-reusing thread must each have made. */
export const DEATH_RUN_ITERATIONS: readonly number[] = [SURVIVOR_ITERATIONS, SURVIVOR_ITERATIONS, REUSE_ITERATIONS];
