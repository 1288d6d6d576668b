/**
 * Bring your own lock, in the page: the reader picks an ES module file (the CLI's lock-module
 * interface, bench/lock-modules.ts: `export const name`, `export function create(init)`);
 * the page imports it from a blob: URL of its own origin, checks its exports and one
 * tryLock/unlock round trip (the page's main thread may not block, so not lock()), and the
 * sweep's hammer workers import the same URL (page/worker.ts).
 *
 * Owns: the blob: URLs it creates (kept for the page's lifetime: workers import them later).
 */

/** Loads and checks a lock module file; `taken(name)` says whether the kind name is in use. */
export async function loadLockModuleFile(file: File, taken: (name: string) => boolean): Promise<{ name: string; url: string }> {
  const url = URL.createObjectURL(new Blob([await file.text()], { type: 'text/javascript' }));
  const mod = (await import(/* @vite-ignore */ url)) as { name?: unknown; create?: unknown };
  const name = mod.name;
  if (typeof name !== 'string' || !/^[a-z][a-z0-9._-]*$/.test(name)) throw new Error(`${file.name}: export const name = 'my-lock' (lower-case letters, digits, '.', '_', '-')`);
  if (taken(name)) throw new Error(`${file.name}: the kind '${name}' exists already`);
  if (typeof mod.create !== 'function') throw new Error(`${file.name}: export function create(init)`);
  const i32 = new Int32Array(new SharedArrayBuffer(64 * 4));
  const l = (mod.create as (init: unknown) => Partial<Record<'lock' | 'unlock' | 'tryLock' | 'holder', () => unknown>>)({ i32, word: 0, ownerId: 1, nodeWord: (id: number) => 16 * (1 + (id % 3)) });
  for (const f of ['lock', 'unlock', 'tryLock', 'holder'] as const) if (typeof l[f] !== 'function') throw new Error(`${file.name}: create() returned no ${f}()`);
  // One round trip with tryLock (this thread may not block, so not lock()): a free lock is
  // taken, names its holder, and is free again after unlock.
  if (l.tryLock!() !== true || l.holder!() !== 1) throw new Error(`${file.name}: tryLock() on a free lock must succeed and holder() then return the owner id`);
  l.unlock!();
  if (l.holder!() !== 0) throw new Error(`${file.name}: holder() must return 0 after unlock()`);
  return { name, url };
}
