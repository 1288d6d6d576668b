/**
 * Calls into a user's module (a --lock-module or --allocator-module) where a timeout can
 * stop them: a short-lived worker (workers/module-check.ts) loads the module and makes the
 * smoke-test calls, telling this side each step before it takes it; a worker that neither
 * finishes nor fails within the timeout is terminated and the step it was in is named.
 *
 * Owns: the one worker per check (terminated or exited when the promise settles).
 * Every failure is one line: "<what> module '<file>': <step> <what happened>", thrown as
 * a ModuleCheckError; the CLI prints it and exits 2.
 */
import { Worker } from 'node:worker_threads';
import { workerUrl } from './worker-url.js';

/** How long a module's load and smoke test may take in all, ms (stated in the errors). */
export const MODULE_TIMEOUT_MS = 5_000;

export class ModuleCheckError extends Error {
  override readonly name = 'ModuleCheckError';
}

export type ModuleCheckKind = 'lock' | 'allocator';

/** What the check worker posts: a step it is about to take, its result, or its failure. */
export type ModuleCheckMessage = { step: string } | { ok: true; name: string } | { error: string };

/** Loads and smoke-tests the module in a worker; resolves with its name, or throws ModuleCheckError. */
export function checkModuleInWorker(kind: ModuleCheckKind, url: string, file: string, timeoutMs = MODULE_TIMEOUT_MS): Promise<string> {
  const what = `${kind} module '${file}'`;
  return new Promise<string>((resolve, reject) => {
    let step = 'loading (import)';
    let settled = false;
    const worker = new Worker(workerUrl('module-check'), { workerData: { kind, url, file }, stdout: true, stderr: true });
    const finish = (err: string | null, name?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if (err === null) resolve(name!);
      else reject(new ModuleCheckError(`${what}: ${err}`));
    };
    const timer = setTimeout(() => finish(`${step} did not finish within ${timeoutMs / 1000} s (it hangs or waits forever)`), timeoutMs);
    worker.on('message', (m: ModuleCheckMessage) => {
      if ('step' in m) step = m.step;
      else if ('ok' in m) finish(null, m.name);
      else finish(m.error.split('\n')[0]!);
    });
    worker.on('error', (e) => finish(`${step} threw in a worker: ${String((e as Error)?.message ?? e).split('\n')[0]}`));
    // Node exits a thread with 13 when its top-level await can never settle
    worker.on('exit', (code) => finish(code === 13 ? `${step} never finished (a top-level await that never settles)` : `the worker checking it exited (code ${code}) during ${step}`));
  });
}

/** import() of a module on this thread, given up after the timeout (a never-settling top-level await). */
export async function importWithin(url: string, file: string, timeoutMs = MODULE_TIMEOUT_MS, kind: ModuleCheckKind = 'lock'): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const alarm = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ModuleCheckError(`${kind} module '${file}': loading (import) did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([import(url), alarm]);
  } catch (e) {
    if (e instanceof ModuleCheckError) throw e;
    throw new ModuleCheckError(`${kind} module '${file}': loading (import) threw: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  } finally {
    clearTimeout(timer);
  }
}
