/**
 * Whether each real peer (specs.ts) can run in this checkout and, if not, how to make it
 * run. Node only (it looks for files and packages).
 *
 * Owns: nothing; pure functions.
 */
import { smoAvailable } from '../adapters/smo.js';
import { zigPeerAvailable } from '../adapters/zig.js';
import { PEER_SPECS } from './specs.js';

export { PEER_SPECS, REAL_PEERS } from './specs.js';

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
