/**
 * Hammer threads for the lock tests and the dead-thread scenarios (bench/locks/deaths.ts):
 * long-lived worker_threads that run one hammer task after another, and threads to kill.
 * Starting a worker costs about 0.1 s of CPU (the module graph included), several times a
 * short scenario's own work, so every thread that is not killed is taken from a pool, and
 * a thread to kill is an idle pooled one when there is one (taken out of the pool).
 *
 * Owns: the pooled workers (idle ones wait for a message, costing no CPU, and are unref'd
 * so they never keep a process alive). A pooled worker is handed out to one task at a time
 * and returns to the pool when it has posted its result; a worker that is terminated, or
 * exits or throws, leaves the pool for good. A thread from runToKill belongs to its caller.
 *
 * Invariants: a task is a HammerTask over its own SharedArrayBuffer, so nothing of one task
 * survives into the next on the same thread but the compiled code. Each run keeps its
 * barrier (CTRL.ready, then CTRL.go) whatever thread serves it. A pooled task must end on
 * its own (iterations > 0 or STOP): `holdForever` tasks go to runToKill.
 * Workers run dist/workers/lock-deaths.js.
 */
import { Worker } from 'node:worker_threads';
import type { HammerResult, HammerTask } from './hammer.js';
import { workerUrl } from '../kit/worker-url.js';

/** One thread serving one task; terminate() stops it only while the task has not returned. */
export interface LockThread {
  worker: Worker;
  /** the task's result; rejects if the thread throws or exits first */
  done: Promise<HammerResult>;
  terminate(): Promise<unknown>;
}

/** A fresh lock worker running one task, to be terminated; `done` rejects if it exits without a result. */
function spawnKillable(task: HammerTask): LockThread {
  const worker = new Worker(workerUrl('lock-deaths'), { workerData: task });
  const exited = new Promise<number>((r) => worker.once('exit', r));
  const done = new Promise<HammerResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    void exited.then((code) => reject(new Error(`lock worker ${task.ownerId} exited (${code}) without a result`)));
  });
  done.catch(() => {}); // a victim's rejection is expected; survivors are awaited
  return { worker, done, terminate: () => worker.terminate() };
}

/** The pool of long-lived hammer threads; `lockThreads` is the one every caller shares. */
export class LockThreads {
  private readonly idle: Worker[] = [];
  /** Workers started by this pool, for the tests' accounting. */
  started = 0;

  /** Runs `task` on an idle pooled thread, or on a new one if none is idle. */
  run(task: HammerTask): LockThread {
    return this.serve(this.idle.pop() ?? this.start(), task, true);
  }

  /**
   * Runs `task` on a thread the caller will terminate: an idle pooled thread if there is one
   * (it leaves the pool), else a fresh one. Each kill uses up one started thread either way;
   * this one spends threads a wide run started and the runs after it leave idle.
   */
  runToKill(task: HammerTask): LockThread {
    const w = this.idle.pop();
    return w ? this.serve(w, task, false) : spawnKillable(task);
  }

  /** Posts `task` to `worker`; `keep`: back to the pool once the result is in. */
  private serve(worker: Worker, task: HammerTask, keep: boolean): LockThread {
    let settled = false;
    const done = new Promise<HammerResult>((resolve, reject) => {
      const finish = (): void => {
        settled = true;
        worker.off('message', onResult).off('error', onError).off('exit', onExit);
      };
      const onResult = (r: HammerResult): void => {
        finish();
        if (keep) {
          worker.unref();
          this.idle.push(worker);
        } else void worker.terminate();
        resolve(r);
      };
      const onError = (e: Error): void => {
        finish();
        reject(e);
      };
      const onExit = (code: number): void => {
        finish();
        reject(new Error(`lock worker ${task.ownerId} exited (${code}) without a result`));
      };
      worker.on('message', onResult).on('error', onError).on('exit', onExit);
    });
    done.catch(() => {}); // the caller awaits it; a wedged run is terminated and reported by it
    worker.ref(); // a task in flight keeps the process alive
    worker.postMessage(task);
    return { worker, done, terminate: async () => (settled && keep ? undefined : worker.terminate()) };
  }

  /** Terminates the idle threads; the pool starts new ones if used again. */
  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }

  private start(): Worker {
    const w = new Worker(workerUrl('lock-deaths'), { workerData: { serve: true } });
    this.started++;
    w.on('exit', () => {
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
    });
    w.on('error', () => {}); // reported to the task in flight, if any
    return w;
  }
}

export const lockThreads = new LockThreads();
