/**
 * The worker side of the adapters: `attachAdapter` for a task's allocator spec (each worker,
 * once per task; `createHeap` in index.ts is the main thread's side).
 *
 * Owns: this thread's table of loaded families (family -> attach function). sabmalloc's
 * adapter and the module family's (a user's module is loaded by ensureAllocatorModule)
 * come with this module; thi.ng's, zig's and smo's adapters, with their packages and wasm
 * loaders, are imported on the thread's first task of that family (loadAdapterFamily): in
 * a comparison run each allocator has its own pool, so a thread loads only its allocator's
 * code and starts sooner; a correctness run's shared pool (onePool) loads each family once
 * per thread, when it first comes.
 *
 * Invariant: attachAdapter is synchronous and throws for a family not loaded yet on this
 * thread, so a caller that forgot loadAdapterFamily fails loudly, not with a wrong adapter.
 */
import { attachModule } from './module.js';
import { attachSabmalloc } from './sabmalloc.js';
import type { AllocatorAdapter, AllocatorFamily, AllocatorSpec } from './types.js';
import type { WasmMemory } from '../peers/wasm.js';

type Attach = (spec: AllocatorSpec, buffer: SharedArrayBuffer, workerIndex: number, wasmMemory?: WasmMemory) => AllocatorAdapter;

const loaded = new Map<AllocatorFamily, Attach>([
  ['sabmalloc', (_spec, buffer) => attachSabmalloc(buffer)],
  ['module', (spec, buffer, workerIndex) => attachModule(spec, buffer, workerIndex)],
]);

export function isAdapterFamilyLoaded(family: AllocatorFamily): boolean {
  return loaded.has(family);
}

/** Imports a family's adapter on this thread (once; later calls return at once). */
export async function loadAdapterFamily(family: AllocatorFamily): Promise<void> {
  if (loaded.has(family)) return;
  switch (family) {
    case 'thing': {
      const { attachThing } = await import('./thing.js');
      loaded.set(family, (_spec, buffer, workerIndex) => attachThing(buffer, workerIndex));
      return;
    }
    case 'zig': {
      const { attachZig } = await import('./zig.js');
      loaded.set(family, (spec, _buffer, workerIndex, wasmMemory) => attachZig(spec, wasmMemory, workerIndex));
      return;
    }
    case 'smo': {
      const { attachSmo } = await import('./smo.js');
      loaded.set(family, (_spec, buffer) => attachSmo(buffer));
      return;
    }
    default:
      throw new Error(`allocator family ${String(family)} is not available`);
  }
}

export function attachAdapter(spec: AllocatorSpec, buffer: SharedArrayBuffer, workerIndex: number, wasmMemory?: WasmMemory): AllocatorAdapter {
  const attach = loaded.get(spec.family);
  if (!attach) throw new Error(`allocator family ${String(spec.family)}: its adapter is not loaded on this thread (loadAdapterFamily first)`);
  return attach(spec, buffer, workerIndex, wasmMemory);
}
