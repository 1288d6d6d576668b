/**
 * Bring your own allocator: a user's ES module, named by a file path (`sabmalloc bench
 * --allocator-module ./my-alloc.js`, or `loadAllocatorModule` from the lab API), becomes an
 * allocator of the contention suite next to the built-in ones, in every table, chart, CSV
 * and JSON. Example: bench/examples/pow2-allocator.js.
 *
 * The module's interface (AllocatorModule below):
 *
 *   export const id = 'bump';                      // --allocators name, report and chart key
 *   export const label = 'bump allocator';         // optional, for tables
 *   export function createHeap(sizing) { ... }     // main thread, once per run
 *     -> { buffer, adapter, check(), liveObjects(), dispose() }
 *   export function attach(buffer, workerIndex) { ... }   // each worker thread, per run
 *     -> adapter
 *
 * An adapter is { buffer, malloc(n), free(p), detach(), memory() [, snapshot()] }: malloc
 * returns a byte offset into `buffer`, a multiple of 8 at least (the workloads stamp and
 * check 32-bit words in every block) and throws when out of memory; memory() returns
 * { committed, live, metadata } bytes (a racy read for sampling). snapshot() is optional:
 * without it the report shows no lock or thread-cache statistics for the allocator.
 * `sizing` is { liveBytes, workers, preallocate }: the run's expected peak live bytes and
 * worker count. The suite drives the adapter exactly as it drives sabmalloc's, and checks
 * every block's contents: an allocator that hands out overlapping memory fails the run.
 *
 * Owns: the module registry of this thread (file URL -> loaded module). The main thread
 * loads a module before the suite starts (loadAllocatorModule); each worker loads it on
 * its first task of that allocator (ensureAllocatorModule in workers/contention.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerAllocatorSpec } from '../allocators.js';
import { MODULE_TIMEOUT_MS, checkModuleInWorker, importWithin } from '../../kit/module-check.js';
import type { AllocatorAdapter, AllocatorSnapshot, AllocatorSpec, HeapInstance, HeapSizing, MemorySample } from './types.js';

/** The adapter a user's module returns; snapshot() is optional. */
export type ModuleAdapter = Omit<AllocatorAdapter, 'snapshot'> & { snapshot?(): AllocatorSnapshot };

/** What a user's allocator module exports. */
export interface AllocatorModule {
  readonly id: string;
  readonly label?: string;
  createHeap(sizing: HeapSizing): {
    readonly buffer: SharedArrayBuffer;
    readonly adapter: ModuleAdapter;
    check(): void;
    liveObjects(): number;
    dispose(): void;
  };
  attach(buffer: SharedArrayBuffer, workerIndex: number): ModuleAdapter;
}

/** A module that does not implement the interface. */
export class AllocatorModuleError extends Error {
  override readonly name = 'AllocatorModuleError';
}

const loaded = new Map<string, AllocatorModule>();

export function checkAllocatorExports(mod: Record<string, unknown>, where: string): AllocatorModule {
  const problems: string[] = [];
  if (typeof mod.id !== 'string' || !/^[a-z][a-z0-9._-]*$/.test(mod.id)) problems.push("export const id = 'name' (lower-case letters, digits, '.', '_', '-')");
  if (mod.label !== undefined && typeof mod.label !== 'string') problems.push('label must be a string');
  if (typeof mod.createHeap !== 'function') problems.push('export function createHeap(sizing)');
  if (typeof mod.attach !== 'function') problems.push('export function attach(buffer, workerIndex)');
  if (problems.length) throw new AllocatorModuleError(`${where} is not an allocator module: missing or wrong ${problems.join('; ')}`);
  return mod as unknown as AllocatorModule;
}

/** Imports the module at `url` into this thread's registry (once). */
export async function ensureAllocatorModule(url: string): Promise<AllocatorModule> {
  let mod = loaded.get(url);
  if (!mod) {
    mod = checkAllocatorExports((await import(url)) as Record<string, unknown>, url);
    loaded.set(url, mod);
  }
  return mod;
}

export function isAllocatorModuleLoaded(url: string): boolean {
  return loaded.has(url);
}

/**
 * Loads a user's allocator module from a file path (relative to the working directory) or
 * file URL, checks its exports and registers its id, so that `--allocators` and the suite
 * know it. Returns the spec to put in the suite's allocator list.
 */
export async function loadAllocatorModule(file: string, timeoutMs = MODULE_TIMEOUT_MS): Promise<AllocatorSpec> {
  const url = file.startsWith('file:') ? file : pathToFileURL(path.resolve(file)).href;
  if (!file.startsWith('file:') && !existsSync(path.resolve(file))) throw new AllocatorModuleError(`allocator module '${file}': no such file`);
  // every call into the module is first made in a worker under a timeout (one line on failure)
  try {
    await checkModuleInWorker('allocator', url, file, timeoutMs);
  } catch (e) {
    throw new AllocatorModuleError((e as Error).message);
  }
  let mod = loaded.get(url);
  if (!mod) {
    mod = checkAllocatorExports((await importWithin(url, file, timeoutMs, 'allocator')) as Record<string, unknown>, file);
    loaded.set(url, mod);
  }
  const spec: AllocatorSpec = { id: mod.id, label: mod.label ?? mod.id, family: 'module', module: url };
  try {
    registerAllocatorSpec(spec);
  } catch (e) {
    throw new AllocatorModuleError(`allocator module '${file}': ${(e as Error).message}`);
  }
  return spec;
}

/**
 * One heap, one attached adapter, one block: the calls the suite will make, made once in
 * the check worker (bench/kit/module-check.ts), each step announced before it is taken.
 */
export function allocatorSmokeTest(m: AllocatorModule, step: (what: string) => void): void {
  step('createHeap()');
  const h = m.createHeap({ liveBytes: 1 << 20, workers: 1, preallocate: false });
  const main = complete(h.adapter, 'createHeap()');
  step('attach()');
  const a = complete(m.attach(h.buffer, 0), 'attach()');
  step('malloc(64)');
  const p = a.malloc(64);
  if (!Number.isInteger(p) || p % 8 !== 0) throw new AllocatorModuleError(`malloc(64) returned ${String(p)}, not a multiple of 8`);
  step('free()');
  a.free(p);
  step('memory()');
  a.memory();
  step('detach()');
  a.detach();
  void main;
  step('check()');
  h.check();
  step('dispose()');
  h.dispose();
}

function moduleOf(spec: AllocatorSpec): AllocatorModule {
  const mod = spec.module === undefined ? undefined : loaded.get(spec.module);
  if (!mod) throw new Error(`allocator module of "${spec.id}" is not loaded in this thread (${spec.module ?? 'no module URL'})`);
  return mod;
}

function emptySnapshot(m: MemorySample): AllocatorSnapshot {
  return { locks: {}, threadCacheHits: 0, threadCacheMisses: 0, mallocCount: 0, freeCount: 0, committed: m.committed, live: m.live, metadata: m.metadata };
}

/** Fills in the optional snapshot() so the suite can treat the adapter like any other. */
function complete(a: ModuleAdapter, where: string): AllocatorAdapter {
  for (const f of ['malloc', 'free', 'detach', 'memory'] as const) {
    if (typeof a?.[f] !== 'function') throw new AllocatorModuleError(`${where}: the adapter has no ${f}() method`);
  }
  if (!(a.buffer instanceof SharedArrayBuffer)) throw new AllocatorModuleError(`${where}: the adapter's buffer is not a SharedArrayBuffer`);
  if (typeof a.snapshot !== 'function') {
    const withSnapshot = a as AllocatorAdapter;
    Object.defineProperty(withSnapshot, 'snapshot', { value: () => emptySnapshot(a.memory()), configurable: true });
  }
  return a as AllocatorAdapter;
}

export function createModuleHeap(spec: AllocatorSpec, sizing: HeapSizing): HeapInstance {
  const h = moduleOf(spec).createHeap(sizing);
  const adapter = complete(h.adapter, `${spec.id}.createHeap()`);
  return {
    spec,
    buffer: h.buffer,
    adapter,
    check: () => h.check(),
    liveObjects: () => h.liveObjects(),
    cheapCleanup: false,
    dispose: () => h.dispose(),
  };
}

export function attachModule(spec: AllocatorSpec, buffer: SharedArrayBuffer, workerIndex: number): AllocatorAdapter {
  return complete(moduleOf(spec).attach(buffer, workerIndex), `${spec.id}.attach()`);
}
