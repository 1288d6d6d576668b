/**
 * Worker of bench/kit/module-check.ts: loads one user module and makes the smoke-test
 * calls of its kind (lock: create, holder, lock, unlock, tryLock; allocator: createHeap,
 * attach, malloc, free, memory, detach, check, dispose), posting each step before taking
 * it, then its name; or the first failure as one line. The parent terminates it on timeout.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkExports, smokeTest } from '../bench/locks/modules.js';
import { checkAllocatorExports, allocatorSmokeTest } from '../bench/contention/adapters/module.js';
import type { ModuleCheckKind, ModuleCheckMessage } from '../bench/kit/module-check.js';

const { kind, url, file } = workerData as { kind: ModuleCheckKind; url: string; file: string };
const post = (m: ModuleCheckMessage) => parentPort!.postMessage(m);
let current = 'loading (import)';
const step = (what: string) => {
  current = what;
  post({ step: what });
};

try {
  step('loading (import)');
  const mod = (await import(url)) as Record<string, unknown>;
  if (kind === 'lock') {
    const m = checkExports(mod, file);
    smokeTest(m, file, step);
    post({ ok: true, name: m.name });
  } else {
    const m = checkAllocatorExports(mod, file);
    allocatorSmokeTest(m, step);
    post({ ok: true, name: m.id });
  }
} catch (e) {
  const msg = String((e as Error)?.message ?? e).split('\n')[0]!;
  // the checks' own errors start with the file name (the parent names the module); a raw
  // throw from the module's code is named by the call it was in
  post({ error: msg.startsWith(file) ? msg.slice(file.length).replace(/^:?\s*/, '') : `${current} threw: ${msg}` });
}
