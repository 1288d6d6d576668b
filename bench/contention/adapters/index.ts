/**
 * Which adapter serves which allocator spec on the main thread: `createHeap`, once per run.
 * The workers' side, `attachAdapter` (each worker, once per task), is attach.ts.
 */
import { createModuleHeap } from './module.js';
import { createSabmallocHeap } from './sabmalloc.js';
import { createThingHeap } from './thing.js';
import { createSmoHeap } from './smo.js';
import { createZigHeap } from './zig.js';
import type { AllocatorSpec, HeapInstance, HeapSizing } from './types.js';

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

export * from './types.js';
