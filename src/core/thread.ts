/**
 * Thread identity and the right to block: what the allocator needs from its host.
 *
 * Owns: this thread's id (one per JS thread, module state) and whether this thread may
 * block in Atomics.wait. Nothing shared.
 *
 * The id names the thread in its heap slot (S.THREAD_ID), keys this thread's attachments
 * and is what recover(id), recoverWhenExited(worker) and the pool look for once the thread
 * has died. One model on every host: the id is the host's thread id where the host has
 * one, and only a host without one takes it from setThreadId.
 * - Node: worker_threads' threadId (0 on the main thread), read through
 *   process.getBuiltinModule, so the library has no static Node-only import and bundles
 *   unchanged for a browser. setThreadId is refused (ThreadIdentityError) unless it names
 *   that same id: another id would hide the thread from recoverWhenExited(worker), which
 *   knows only worker.threadId.
 * - Browser (or any host without worker_threads): the host gives each worker its id (>= 1)
 *   with setThreadId(id) before the first attach; a page's main thread defaults to 0. A
 *   worker that attaches without an id gets a ThreadIdentityError.
 * Invariants: once set or read, the id never changes; no two live threads attached to one
 * heap share an id (attach refuses the second: slots.ts).
 *
 * Blocking: locks park in Atomics.wait, which a browser's main thread may not call (it
 * throws a TypeError). Such a thread is refused at attach (CannotBlockError) before
 * anything shared changes, instead of failing later inside a lock with the lock held.
 */

import { CannotBlockError, ThreadIdentityError } from './errors.js';

let threadIdValue: number | undefined;
let canBlockValue: boolean | undefined;

/** The largest id: claimingState(id) = -(id + 1) must stay a negative int32. */
const MAX_THREAD_ID = 0x7fff_fffe;

/**
 * Sets this thread's id (browser workers: before the first attach; the page hands each
 * worker a distinct id from 1). Setting the id it already has is a no-op; changing it
 * after it was set or read is refused (the thread's slots and handles are keyed by it),
 * and so is any other id on a host that has thread ids of its own (Node).
 */
export function setThreadId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_THREAD_ID) {
    throw new RangeError(`thread id must be an integer from 0 to ${MAX_THREAD_ID}, got ${String(id)}`);
  }
  const host = nodeThreadId();
  if (host !== undefined) {
    if (id === host) return;
    throw new ThreadIdentityError(
      `setThreadId(${id}) on Node.js: a thread's id is its worker_threads.threadId (here ${host}), which ` +
        'recover(), recoverWhenExited(worker) and the pool look for; call setThreadId only where there is no worker_threads (browsers)',
    );
  }
  if (id === 0) {
    throw new ThreadIdentityError("setThreadId(0): 0 is the page's main thread; give each worker a distinct id from 1");
  }
  if (threadIdValue !== undefined && threadIdValue !== id) {
    throw new ThreadIdentityError(`this thread is already thread ${threadIdValue}; its id cannot change to ${id}`);
  }
  threadIdValue = id;
}

/** This thread's id (resolved once: setThreadId's, else the host's default). */
export function threadId(): number {
  if (threadIdValue === undefined) threadIdValue = hostThreadId();
  return threadIdValue;
}

interface NodeProcessLike {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => { threadId?: number } | undefined;
}

/** The host's id of this thread (worker_threads' threadId), if the host has thread ids. */
function nodeThreadId(): number | undefined {
  const proc = (globalThis as { process?: NodeProcessLike }).process;
  const wt = typeof proc?.getBuiltinModule === 'function' ? proc.getBuiltinModule('node:worker_threads') : undefined;
  return wt !== undefined && typeof wt.threadId === 'number' ? wt.threadId : undefined;
}

function hostThreadId(): number {
  const host = nodeThreadId();
  if (host !== undefined) return host;
  const proc = (globalThis as { process?: NodeProcessLike }).process;
  if (typeof proc?.versions?.node === 'string') {
    // Node before 20.16 has no getBuiltinModule: every thread would read 0.
    throw new ThreadIdentityError('this Node.js has no process.getBuiltinModule (Node >= 20.16 needed), or call setThreadId(threadId) first');
  }
  // No worker_threads: a browser (or similar). Its main thread (a Window) is thread 0; a
  // worker cannot know a unique id by itself.
  const g = globalThis as { WorkerGlobalScope?: abstract new () => unknown };
  if (typeof g.WorkerGlobalScope === 'function' && globalThis instanceof g.WorkerGlobalScope) {
    throw new ThreadIdentityError('this worker has no thread id: call setThreadId(id) with a distinct id per worker before attach');
  }
  return 0;
}

/** True if this thread may block in Atomics.wait (false on a browser's main thread). */
export function canBlock(): boolean {
  if (canBlockValue === undefined) {
    // The agent check comes before the value comparison: a mismatched value returns
    // 'not-equal' at once where waiting is allowed and throws where it is not.
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      canBlockValue = true;
    } catch {
      canBlockValue = false;
    }
  }
  return canBlockValue;
}

/** Refuses a thread that cannot block (see the module comment). */
export function requireBlockingThread(): void {
  if (!canBlock()) throw new CannotBlockError();
}
