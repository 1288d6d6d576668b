/**
 * Which adapter serves which allocator spec, on both sides: `createHeap` (main thread,
 * once per run) and `attachAdapter` (each worker, once per task).
 */
import { attachModule, createModuleHeap } from './module.js';
import { attachSabmalloc, createSabmallocHeap } from './sabmalloc.js';
import { attachThing, createThingHeap } from './thing.js';
import { attachSmo, createSmoHeap } from './smo.js';
import { attachZig, createZigHeap } from './zig.js';
import type { AllocatorAdapter, AllocatorSpec, HeapInstance, HeapSizing } from './types.js';

export function createHeap(spec: AllocatorSpec, sizing: HeapSizing): HeapInstance {
  switch (spec.family) {
    case 'sabmalloc':
      return createSabmallocHeap(spec, sizing);
    case 'thing':
      return createThingHeap(spec, sizing);
    case 'module':
      return createModuleHeap(spec, sizing);
    case 'zig':
      return createZigHeap(spec, sizing);
    case 'smo':
      return createSmoHeap(spec, sizing);
    default:
      throw new Error(`allocator family ${String(spec.family)} is not available`);
  }
}

export function attachAdapter(spec: AllocatorSpec, buffer: SharedArrayBuffer, workerIndex: number, wasmMemory?: import('../peers/wasm.js').WasmMemory): AllocatorAdapter {
  switch (spec.family) {
    case 'sabmalloc':
      return attachSabmalloc(buffer);
    case 'thing':
      return attachThing(buffer, workerIndex);
    case 'module':
      return attachModule(spec, buffer, workerIndex);
    case 'zig':
      return attachZig(spec, wasmMemory, workerIndex);
    case 'smo':
      return attachSmo(buffer);
    default:
      throw new Error(`allocator family ${String(spec.family)} is not available`);
  }
}

export * from './types.js';
