/**
 * Bring your own lock: a user's ES module, named by a file path (`sabmalloc locks
 * --lock-module ./my-lock.js`, or `loadLockModule` from the lab API), is measured by the
 * lock benchmark next to the built-in kinds, in every table, chart and JSON.
 * Example: bench/examples/backoff-lock.js.
 *
 * The module's interface (LockModule below), the same Lock interface as src/locks/lock.ts:
 *
 *   export const name = 'my-lock';        // the kind's name in --kinds, tables and charts
 *   export function create(init) { ... }  // -> { kind, lock(), unlock(), tryLock(), holder() }
 *   export const policies = ['spin', 'park'];  // optional: the waiting policies it supports,
 *                                         // the first its default; init.policy says which
 *
 * `init` is { i32, word, ownerId, nodeWord?, stats?, statsBase? }: the lock owns the
 * LOCK_WORDS (16) Int32 words of `i32` from `word`, which start zeroed (all-zero must mean
 * "free"); ownerId (>= 1) identifies the calling thread and holder() must return it while
 * the thread holds the lock (the benchmark checks mutual exclusion with it); nodeWord(id)
 * gives a thread's LOCK_NODE_WORDS-word queue node for queue locks. `stats`/`statsBase`
 * (optional) is the thread's LockStat float64 sink: count acquisitions (slot 0) and
 * contended acquisitions (slot 1) there to see them in the report. create() is called once
 * per thread with that thread's ownerId, on the main thread and in every worker.
 *
 * Owns: the registry of this thread (kind name -> module URL and module). The main thread
 * loads modules before the benchmark (loadLockModule checks the interface and a
 * single-thread lock/unlock/tryLock round trip); workers import the module by URL from
 * their task (workers/locks.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ALL_LOCK_KINDS, LOCK_WORDS, WAIT_POLICIES, createLock, type Lock, type LockInit, type LockKind, type WaitPolicy } from '../../src/locks/index.js';
import { MODULE_TIMEOUT_MS, checkModuleInWorker, importWithin } from '../kit/module-check.js';

export interface LockModule {
  readonly name: string;
  create(init: LockInit): Lock;
  /** the waiting policies it supports (init.policy), its default first; absent: none to choose */
  readonly policies?: readonly WaitPolicy[];
}

/** A module that does not implement the lock interface. */
export class LockModuleError extends Error {
  override readonly name = 'LockModuleError';
}

const registry = new Map<string, { url: string; module: LockModule }>();

export function checkExports(mod: Record<string, unknown>, where: string): LockModule {
  if (typeof mod.name !== 'string' || !/^[a-z][a-z0-9._-]*$/.test(mod.name)) {
    throw new LockModuleError(`${where} is not a lock module: export const name = 'my-lock' (lower-case letters, digits, '.', '_', '-')`);
  }
  if ((ALL_LOCK_KINDS as readonly string[]).includes(mod.name)) throw new LockModuleError(`${where}: name '${mod.name}' is a built-in lock kind`);
  if (typeof mod.create !== 'function') throw new LockModuleError(`${where} is not a lock module: export function create(init)`);
  const pol = mod.policies;
  if (pol !== undefined && !(Array.isArray(pol) && pol.length > 0 && pol.every((x) => (WAIT_POLICIES as readonly unknown[]).includes(x)))) {
    throw new LockModuleError(`${where}: export const policies must be a non-empty list of ${WAIT_POLICIES.join(', ')}`);
  }
  return mod as unknown as LockModule;
}

/**
 * Single-thread round trip on a scratch block: catches a module that cannot work at all.
 * `step` is told each call before it is made, so a call that never returns can be named
 * (it runs in a worker that a timeout terminates: bench/kit/module-check.ts).
 */
export function smokeTest(m: LockModule, where: string, step: (what: string) => void = () => {}): void {
  const i32 = new Int32Array(new SharedArrayBuffer(LOCK_WORDS * 4 * 4), 0, LOCK_WORDS * 4);
  step('create()');
  const l = m.create({ i32, word: 0, ownerId: 1, nodeWord: (id) => LOCK_WORDS * (1 + (id % 3)) });
  for (const f of ['lock', 'unlock', 'tryLock', 'holder'] as const) {
    if (typeof (l as unknown as Record<string, unknown>)?.[f] !== 'function') throw new LockModuleError(`${where}: create() returned an object without ${f}()`);
  }
  const fail = (what: string): never => {
    throw new LockModuleError(`${where}: ${what}`);
  };
  step('holder()');
  if (l.holder() !== 0) fail('holder() of a fresh lock is not 0');
  step('lock() of a free lock');
  l.lock();
  if (l.holder() !== 1) fail('holder() does not return the ownerId while the lock is held');
  step('unlock()');
  l.unlock();
  if (l.holder() !== 0) fail('holder() is not 0 after unlock()');
  step('tryLock() of a free lock');
  if (l.tryLock() !== true) fail('tryLock() of a free lock did not succeed');
  step('unlock() after tryLock()');
  l.unlock();
}

/**
 * Loads (once), checks and registers a lock module; returns its kind name. Every call into
 * the module is first made in a short-lived worker under a timeout (bench/kit/module-check.ts:
 * load, create() and the round trip), so a module that hangs or throws only in workers is
 * one LockModuleError; the main thread then imports it under the same timeout.
 */
export async function loadLockModule(file: string, timeoutMs = MODULE_TIMEOUT_MS): Promise<string> {
  const url = file.startsWith('file:') ? file : pathToFileURL(path.resolve(file)).href;
  if (!file.startsWith('file:') && !existsSync(path.resolve(file))) throw new LockModuleError(`lock module '${file}': no such file`);
  try {
    await checkModuleInWorker('lock', url, file, timeoutMs);
  } catch (e) {
    throw new LockModuleError((e as Error).message);
  }
  const mod = checkExports((await importWithin(url, file, timeoutMs)) as Record<string, unknown>, file);
  registry.set(mod.name, { url, module: mod });
  return mod.name;
}

export function isLockModule(kind: string): boolean {
  return registry.has(kind);
}

/** A registered module's declared policies (its default first), or null when it declared none or is not a module. */
export function modulePolicies(kind: string): { policies: readonly WaitPolicy[]; default: WaitPolicy } | null {
  const p = registry.get(kind)?.module.policies;
  return p === undefined ? null : { policies: p, default: p[0]! };
}

/** File URL of a registered lock module (what a worker imports), or undefined for built-in kinds. */
export function lockModuleUrl(kind: string): string | undefined {
  return registry.get(kind)?.url;
}

/** A built-in kind or a registered module's lock. */
export function createBenchLock(kind: string, init: LockInit): Lock {
  const m = registry.get(kind);
  return m ? m.module.create(init) : createLock(kind as LockKind, init);
}
