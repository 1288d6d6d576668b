/**
 * The catalogue of allocators the suite can compare, by id:
 *   sabmalloc                 default SharedHeap (its default lock per tier, thread caches on)
 *   sabmalloc-<c>-<p>         lock kind <c> for the central caches, <p> for the page heap
 *                             (e.g. sabmalloc-tas-tas, sabmalloc-mcs-futex)
 *   sabmalloc-notc            threadCache: false (every malloc/free goes to the central cache)
 *   global-lock               SharedHeap({ globalLock: true }): same page heap and size classes
 *                             behind one mutex, no thread caches (dlmalloc-under-pthreads style)
 *   thing-futex               @thi.ng/malloc MemPool behind one futex lock
 *   zig-gpa                   Zig's thread-safe GeneralPurposeAllocator compiled to threaded
 *                             wasm (adapters/zig.ts; built by `npm run lab -- build-peers`)
 *   smo                       @daneren2005/shared-memory-objects' MemoryBuffer (adapters/smo.ts)
 * and these shorthands on the command line:
 *   locks-all                 sabmalloc-<k>-<k> for every lock kind k
 *   locks-matrix              every (central, page heap) pair of lock kinds
 */
import { LOCK_KINDS, type LockKind } from '../../src/locks/index.js';
import type { AllocatorSpec } from './adapters/types.js';
import { PEER_SPECS, REAL_PEERS } from './peers/specs.js';

/** The default run: sabmalloc, one lock variant, no thread caches, the baselines, the real peers (other lock pairs: `locks-matrix`). */
export const DEFAULT_ALLOCATORS: readonly string[] = [
  'sabmalloc',
  'sabmalloc-tas-tas',
  'sabmalloc-notc',
  'global-lock',
  'thing-futex',
  ...REAL_PEERS,
];

export const QUICK_ALLOCATORS: readonly string[] = ['sabmalloc', 'sabmalloc-tas-tas', 'sabmalloc-notc', 'global-lock', 'thing-futex', ...REAL_PEERS];

function isLockKind(s: string): s is LockKind {
  return (LOCK_KINDS as readonly string[]).includes(s);
}

/** Allocators registered at run time (user modules, see adapters/module.ts), by id. */
const registered = new Map<string, AllocatorSpec>();

/** Makes `id` known to allocatorSpec (and so to --allocators, the suite and the report). */
export function registerAllocatorSpec(spec: AllocatorSpec): void {
  if (isBuiltInAllocatorId(spec.id)) throw new Error(`allocator id "${spec.id}" is taken by a built-in allocator`);
  registered.set(spec.id, spec);
}

function isBuiltInAllocatorId(id: string): boolean {
  return [...REAL_PEERS, 'sabmalloc', 'sabmalloc-notc', 'global-lock', 'thing-futex', 'locks-all', 'locks-matrix', 'default'].includes(id) || /^sabmalloc-[a-z]+-[a-z]+$/.test(id);
}

export function allocatorSpec(id: string): AllocatorSpec {
  const extra = registered.get(id) ?? PEER_SPECS[id];
  if (extra) return extra;
  switch (id) {
    case 'sabmalloc':
      return { id, label: 'sabmalloc', family: 'sabmalloc', heap: {}, role: 'default' };
    case 'sabmalloc-notc':
      return { id, label: 'sabmalloc, no thread cache', family: 'sabmalloc', heap: { threadCache: false } };
    case 'global-lock':
      return { id, label: 'global lock (same heap, one mutex)', family: 'sabmalloc', heap: { globalLock: true }, role: 'global-lock' };
    case 'thing-futex':
      return { id, label: '@thi.ng/malloc + futex lock', family: 'thing', role: 'thing' };
  }
  const m = /^sabmalloc-([a-z]+)-([a-z]+)$/.exec(id);
  if (m && isLockKind(m[1]) && isLockKind(m[2])) {
    return {
      id,
      label: `sabmalloc, locks ${m[1]}/${m[2]}`,
      family: 'sabmalloc',
      heap: { locks: { central: m[1], pageHeap: m[2] } },
    };
  }
  throw new Error(
    `unknown allocator "${id}" (known: sabmalloc, sabmalloc-<central>-<pageheap> with kinds ${LOCK_KINDS.join('/')}, ` +
      `sabmalloc-notc, global-lock, thing-futex, ${REAL_PEERS.join(', ')}, locks-all, locks-matrix)`,
  );
}

/** Expands shorthands and removes duplicates, keeping the order given. */
export function expandAllocatorIds(ids: readonly string[]): string[] {
  const out: string[] = [];
  const add = (id: string): void => {
    if (!out.includes(id)) out.push(id);
  };
  for (const id of ids) {
    if (id === 'locks-all') for (const k of LOCK_KINDS) add(`sabmalloc-${k}-${k}`);
    else if (id === 'locks-matrix') for (const c of LOCK_KINDS) for (const p of LOCK_KINDS) add(`sabmalloc-${c}-${p}`);
    else if (id === 'default') DEFAULT_ALLOCATORS.forEach(add);
    else add(id);
  }
  for (const id of out) allocatorSpec(id); // validate early
  return out;
}
