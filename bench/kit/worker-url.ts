/**
 * Where a lab tool finds its worker: every lab worker entry point is workers/<name>.ts,
 * compiled to dist/workers/<name>.js (Node 20 cannot start a .ts worker). A tool starts it
 * by that URL and never imports it.
 *
 * `npm run build` also bundles the workers that time nothing into
 * dist/bundles/workers/<name>.js (worker-bundles.ts says which, and why not the others): a
 * bundled worker starts 25-50 ms of CPU sooner. The bundle is
 * returned only while it is fresh (not older than dist/.tsbuildinfo, which every emitting
 * tsc rewrites), so a bare `tsc` after a change runs the unbundled entry, never stale code.
 *
 * This module runs compiled (dist/bench/kit/worker-url.js: dist/ is two folders up)
 * or from source under vitest (bench/kit/worker-url.ts: dist/ is beside bench/, and
 * `npm test` builds it first). The file is looked up when a tool starts a worker, not
 * when the tool is imported, so a missing build is one clear error where it matters.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = new URL(import.meta.url.endsWith('.ts') ? '../../dist/' : '../../', import.meta.url);

const mtime = (url: URL): number => {
  const file = fileURLToPath(url);
  return existsSync(file) ? statSync(file).mtimeMs : 0;
};

/**
 * The URL to start for a compiled entry (`entry` relative to dist/, e.g.
 * `workers/stress.js`): its bundle (`bundle`, relative to dist/bundles/) when that is
 * fresh, else the entry itself. Throws when the entry has not been built.
 */
export function builtEntry(entry: string, bundle: string, dist: URL = DIST): URL {
  const plain = new URL(entry, dist);
  if (!existsSync(fileURLToPath(plain))) throw new Error(`${fileURLToPath(plain)} is missing: run \`npm run build\` first`);
  const bundled = new URL(`bundles/${bundle}`, dist);
  const t = mtime(bundled);
  const stamp = mtime(new URL('.tsbuildinfo', dist));
  return t > 0 && stamp > 0 && t >= stamp ? bundled : plain;
}

/** URL of the worker `name` (workers/<name>.ts): its fresh bundle if it has one, else dist/workers/<name>.js. */
export function workerUrl(name: string): URL {
  return builtEntry(`workers/${name}.js`, `workers/${name}.js`);
}
