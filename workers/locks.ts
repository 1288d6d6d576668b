/**
 * Piscina task module of the lock benchmark: one task = one worker hammering the lock
 * until the coordinator sets STOP (see bench/locks/hammer.ts for the shared layout).
 *
 * Owns: one private copy of the hammer module per lock kind. A pool thread runs tasks of
 * every kind over a sweep; with a single hammer loop its `lock.lock()` call site would
 * go megamorphic after the fourth kind (and be fast only for the kinds measured before
 * that), so each kind gets its own module instance (a distinct URL, hence distinct
 * compiled code and type feedback), as each allocator call site has its own.
 *
 * A user's lock module (bench/locks/modules.ts) travels as a file URL in the task; the
 * worker imports it once and the hammer builds that thread's lock with its create().
 *
 * A pool thread runs one task at a time (concurrentTasksPerWorker = 1), so N tasks in
 * flight are N threads contending; they start together at the barrier.
 */
import type { Lock, LockInit, LockKind } from '../src/locks/index.js';
import type { HammerResult, HammerTask } from '../bench/locks/hammer.js';

type HammerModule = typeof import('../bench/locks/hammer.js');
const perKind = new Map<LockKind, Promise<HammerModule>>();

function hammerFor(kind: LockKind): Promise<HammerModule> {
  let m = perKind.get(kind);
  if (!m) {
    m = import(new URL(`../bench/locks/hammer.js?kind=${kind}`, import.meta.url).href) as Promise<HammerModule>;
    perKind.set(kind, m);
  }
  return m;
}

type LockFactory = (init: LockInit) => Lock;
const factories = new Map<string, Promise<LockFactory>>();

/** A user's lock module (bench/locks/modules.ts), imported once per thread. */
function factoryFor(url: string): Promise<LockFactory> {
  let f = factories.get(url);
  if (!f) {
    f = import(url).then((m: { create: LockFactory }) => m.create);
    factories.set(url, f);
  }
  return f;
}

export default async function lockBenchTask(task: HammerTask): Promise<HammerResult> {
  const make = task.lockModule === undefined ? undefined : await factoryFor(task.lockModule);
  return (await hammerFor(task.kind)).hammer(task, make);
}
