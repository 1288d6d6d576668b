/**
 * Where a lab tool finds its worker: every lab worker entry point is workers/<name>.ts,
 * compiled to dist/workers/<name>.js (Node 20 cannot start a .ts worker). A tool starts it
 * by that URL and never imports it.
 *
 * This module runs compiled (dist/bench/kit/worker-url.js: the worker is two folders up)
 * or from source under vitest (bench/kit/worker-url.ts: the compiled worker is in dist/,
 * which `npm test` builds first). The file is looked up when a tool starts a worker, not
 * when the tool is imported, so a missing build is one clear error where it matters.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** URL of dist/workers/<name>.js; throws when it has not been built. */
export function workerUrl(name: string): URL {
  const base = import.meta.url.endsWith('.ts') ? '../../dist/workers/' : '../../workers/';
  const url = new URL(`${base}${name}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` first`);
  return url;
}
