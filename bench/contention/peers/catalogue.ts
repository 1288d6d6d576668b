/**
 * The real peers: allocators a user would pick instead of sabmalloc to share memory
 * between workers (as opposed to the straw-man baselines global-lock and thing-futex).
 * Each peer says whether it can run in this checkout and, if not, how to make it run.
 *
 * Owns: nothing; a table and pure functions.
 */
import type { AllocatorSpec } from '../adapters/types.js';
import { smoAvailable } from '../adapters/smo.js';
import { zigPeerAvailable } from '../adapters/zig.js';

export const REAL_PEERS: readonly string[] = ['zig-gpa', 'smo'];

export const PEER_SPECS: Record<string, AllocatorSpec> = {
  'zig-gpa': { id: 'zig-gpa', label: 'Zig GeneralPurposeAllocator (thread_safe) in threaded wasm', family: 'zig', role: 'peer' },
  smo: { id: 'smo', label: '@daneren2005/shared-memory-objects MemoryBuffer', family: 'smo', role: 'peer' },
};

/** How to make each peer available. */
const HOW: Record<string, string> = {
  'zig-gpa': '`npm run lab -- build-peers` (fetches Zig from npm into .cache/zig)',
  smo: '`npm ci` (it is a devDependency)',
};

export function peerAvailable(id: string): boolean {
  if (id === 'zig-gpa') return zigPeerAvailable(id);
  if (id === 'smo') return smoAvailable();
  return true;
}

/**
 * Splits the requested allocators into those that can run and the peers that cannot, with
 * the one line that says so (null when every one can).
 */
export function availablePeers(ids: readonly string[]): { runnable: string[]; missing: string[]; line: string | null } {
  const missing = ids.filter((id) => PEER_SPECS[id] !== undefined && !peerAvailable(id));
  const runnable = ids.filter((id) => !missing.includes(id));
  const line = missing.length === 0 ? null : `peers unavailable, skipped: ${missing.map((id) => `${id} (build: ${HOW[id]})`).join('; ')}`;
  return { runnable, missing, line };
}
