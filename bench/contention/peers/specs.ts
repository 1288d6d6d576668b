/**
 * The real peers' specs: allocators a user would pick instead of sabmalloc to share
 * memory between workers (as opposed to the straw-man baselines global-lock and
 * thing-futex). Host-agnostic (the web lab imports the allocator catalogue); whether a
 * peer can run here is catalogue.ts's business (Node only).
 *
 * Owns: nothing; a table.
 */
import type { AllocatorSpec } from '../adapters/types.js';

export const REAL_PEERS: readonly string[] = ['zig-gpa', 'smo'];

export const PEER_SPECS: Record<string, AllocatorSpec> = {
  'zig-gpa': { id: 'zig-gpa', label: 'Zig GeneralPurposeAllocator (thread_safe) in threaded wasm', family: 'zig', role: 'peer' },
  smo: { id: 'smo', label: '@daneren2005/shared-memory-objects MemoryBuffer', family: 'smo', role: 'peer' },
};
