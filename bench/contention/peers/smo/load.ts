/**
 * Loads @daneren2005/shared-memory-objects (a devDependency) in Node. The package ships
 * TypeScript sources only (its `exports` point at src/main.ts, written for Vite: it reads
 * `import.meta.env.MODE`), which Node 20 cannot import. The first thread that needs it
 * bundles the package with esbuild into one CommonJS file under node_modules/.cache
 * (written to a temporary name, then renamed, so concurrent threads never read half a
 * file), and every thread then loads that file synchronously with require.
 *
 * Owns: the bundle file and this thread's loaded copy.
 *
 * The library's lock (lock/simple-lock.ts) parks with Atomics.wait only when
 * `'WorkerGlobalScope' in self`, i.e. in a browser worker; anywhere else it spins on
 * compareExchange without pause. Node has no `self`: this loader defines `self` on worker
 * threads as an object holding WorkerGlobalScope, so the library takes the path it takes
 * in the browser workers it was written for, and on the main thread as an object without
 * it (the browser main thread, where it may not wait).
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

const require = createRequire(import.meta.url);
export const SMO_PACKAGE = '@daneren2005/shared-memory-objects';

/** The parts of the package's public API the lab uses (its own types are .ts sources). */
export interface SmoMemoryBuffer {
  malloc(bytes: number): number;
  free(ptr: number): boolean;
  stats(): { free: { count: number; size: number }; used: { count: number; size: number }; top: number; available: number; total: number };
}
export interface SmoModule {
  MemoryBuffer: new (opts: { buf: SharedArrayBuffer; start?: number; align?: number; compact?: boolean; split?: boolean; skipInitialization?: boolean }) => SmoMemoryBuffer;
  MemoryHeap: new (config?: { bufferSize?: number; initialBuffers?: number } | { buffers: SharedArrayBuffer[] }) => SmoMemoryHeap;
  SharedMap: new (heap: SmoMemoryHeap, clone?: unknown) => SmoSharedMap;
}
export interface SmoMemoryHeap {
  getSharedMemory(): { buffers: SharedArrayBuffer[] };
  readonly currentUsed: number;
  readonly totalAllocated: number;
}
export interface SmoSharedMap {
  set(key: string | number, value: number): void;
  get(key: string | number): number | undefined;
  delete(key: string | number): void;
  getSharedMemory(): unknown;
  readonly length: number;
}

/** The package's entry file, or null when it is not installed. */
export function smoEntry(): string | null {
  try {
    return require.resolve(SMO_PACKAGE);
  } catch {
    return null;
  }
}

export function smoVersion(): string | null {
  const entry = smoEntry();
  if (!entry) return null;
  const pkg = path.join(path.dirname(entry), '..', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

let loaded: SmoModule | undefined;

export function loadSmo(): SmoModule {
  if (loaded) return loaded;
  const entry = smoEntry();
  if (!entry) throw new Error(`${SMO_PACKAGE} is not installed (npm ci installs it: it is a devDependency)`);
  const root = path.resolve(path.dirname(entry), '..');
  const outDir = path.join(root, '..', '..', '.cache', 'sabmalloc-lab');
  const out = path.join(outDir, `smo-${smoVersion()}.cjs`);
  if (!existsSync(out)) {
    mkdirSync(outDir, { recursive: true });
    const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const esbuild = require('esbuild') as typeof import('esbuild');
    esbuild.buildSync({
      entryPoints: [entry],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      outfile: tmp,
      logLevel: 'silent',
      define: { 'import.meta.env': '{"MODE":"production"}' },
    });
    renameSync(tmp, out);
  }
  const g = globalThis as { self?: unknown };
  if (g.self === undefined) g.self = isMainThread ? {} : { WorkerGlobalScope: true };
  loaded = require(out) as SmoModule;
  return loaded;
}
