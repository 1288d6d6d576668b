/**
 * Proves the worker bundles (bench/kit/worker-bundles.ts) are safe to start in place of the
 * compiled entries: a bundled module sees its own unbundled URL (so paths it derives from
 * import.meta.url are the same), a literal dynamic import stays lazy (a chunk, evaluated
 * only when called), an entry whose source is gone is not bundled, and the resolver
 * (bench/kit/worker-url.ts) starts a bundle only while it is not older than
 * dist/.tsbuildinfo. Runs on a synthetic package in a temporary directory, and checks that
 * the real build bundled every test fixture and the lab workers that time nothing, and
 * left the timed ones as compiled.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleWorkers, type BundledFolder } from '../../bench/kit/worker-bundles.js';
import { builtEntry, workerUrl } from '../../bench/kit/worker-url.js';
import { fixtureUrl } from '../helpers/fixtures.js';

/** Spelt apart so that the layering test's import scanner does not take the text for an import of this file. */
const DYNAMIC_IMPORT = 'imp' + 'ort';
const root = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-bundles-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), text);
}

/** A package with three worker entries (one whose source was removed, one not to be bundled) and one fixture. */
function synthetic(): void {
  write('package.json', '{ "type": "module" }\n');
  write('dist/.tsbuildinfo', '{}');
  write('workers/echo.ts', '');
  write('workers/timed.ts', '');
  write('dist/workers/timed.js', "import { here } from '../bench/kit/where.js';\nconsole.log(here);\n");
  write('dist/workers/echo.js', [
    "import { parentPort } from 'node:worker_threads';",
    "import { here, sibling } from '../bench/kit/where.js';",
    "parentPort.postMessage({ here, sibling, lazyBefore: globalThis.lazyLoaded === true });",
    `const { lazy } = await ${DYNAMIC_IMPORT}('../bench/kit/lazy.js');`,
    "parentPort.postMessage({ lazy: lazy(), lazyAfter: globalThis.lazyLoaded === true });",
    '',
  ].join('\n'));
  write('dist/bench/kit/where.js', "export const here = import.meta.url;\nexport const sibling = new URL('./data.bin', import.meta.url).href;\n");
  // A package the lazy module imports: bundled without code splitting, its import would be
  // hoisted to the entry and run at start.
  write('node_modules/sidefx/package.json', '{ "name": "sidefx", "type": "module", "main": "index.js" }\n');
  write('node_modules/sidefx/index.js', 'globalThis.lazyLoaded = true;\n');
  write('dist/bench/kit/lazy.js', "import 'sidefx';\nexport const lazy = () => 'lazy ran';\n");
  write('dist/workers/removed.js', "import { nothing } from '../bench/kit/where.js';\nconsole.log(nothing);\n");
  write('test/fixtures/probe.ts', '');
  write('dist/test/fixtures/probe.js', "import { parentPort } from 'node:worker_threads';\nimport { here } from '../../bench/kit/where.js';\nparentPort.postMessage(here);\n");
}

function messages(url: URL, count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    const w = new Worker(url);
    w.on('message', (m) => {
      got.push(m);
      if (got.length === count) void w.terminate().then(() => resolve(got));
    });
    w.on('error', reject);
  });
}

const FOLDERS: readonly BundledFolder[] = [
  { from: 'workers', to: 'workers', only: ['echo', 'removed'] },
  { from: path.join('test', 'fixtures'), to: 'fixtures' },
];

describe('worker bundles', () => {
  synthetic();
  const dist = pathToFileURL(path.join(root, 'dist') + path.sep);
  const bundle = new URL('bundles/workers/echo.js', dist);

  it('bundles the entries listed whose source exists, and only rebuilds after a change', async () => {
    expect(await bundleWorkers(root, false, FOLDERS)).toEqual({ entries: 2, built: true });
    expect(existsSync(fileURLToPath(bundle))).toBe(true);
    expect(existsSync(path.join(root, 'dist/bundles/fixtures/probe.js'))).toBe(true);
    expect(existsSync(path.join(root, 'dist/bundles/workers/removed.js'))).toBe(false);
    expect(existsSync(path.join(root, 'dist/bundles/workers/timed.js'))).toBe(false);
    expect(await bundleWorkers(root, false, FOLDERS)).toEqual({ entries: 2, built: false });
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(root, 'dist/bench/kit/where.js'), later, later);
    expect(await bundleWorkers(root, false, FOLDERS)).toEqual({ entries: 2, built: true });
  });

  it('gives every bundled module its own unbundled URL, and keeps a dynamic import lazy', async () => {
    const [first, second] = (await messages(bundle, 2)) as [{ here: string; sibling: string; lazyBefore: boolean }, { lazy: string; lazyAfter: boolean }];
    const where = pathToFileURL(path.join(root, 'dist/bench/kit/where.js')).href;
    expect(first.here).toBe(where);
    expect(first.sibling).toBe(new URL('./data.bin', where).href);
    expect(first.lazyBefore).toBe(false);
    expect(second).toEqual({ lazy: 'lazy ran', lazyAfter: true });
    expect(await messages(new URL('bundles/fixtures/probe.js', dist), 1)).toEqual([where]);
  });

  it('starts a bundle only while it is not older than dist/.tsbuildinfo', () => {
    const tsbuildinfo = path.join(root, 'dist/.tsbuildinfo');
    const plain = new URL('workers/echo.js', dist);
    const at = (file: string, ms: number) => utimesSync(file, new Date(ms), new Date(ms));
    const now = Date.now();
    at(tsbuildinfo, now - 10_000);
    at(fileURLToPath(bundle), now);
    expect(builtEntry('workers/echo.js', 'workers/echo.js', dist).href).toBe(bundle.href);
    at(tsbuildinfo, now + 10_000); // a bare tsc after the last bundle
    expect(builtEntry('workers/echo.js', 'workers/echo.js', dist).href).toBe(plain.href);
    rmSync(tsbuildinfo);
    expect(builtEntry('workers/echo.js', 'workers/echo.js', dist).href).toBe(plain.href);
    expect(() => builtEntry('workers/none.js', 'workers/none.js', dist)).toThrow(/is missing: run `npm run build` first/);
  });

  it('is what `npm run build` bundles: every test fixture and the lab workers that time nothing, not the others', () => {
    // Files on disk, not workerUrl(): a `tsc --noEmit` (npm run typecheck) since the build
    // leaves the bundles stale, which the freshness test above covers.
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
    for (const name of ['lock-deaths', 'module-check']) expect(existsSync(path.join(dist, 'bundles/workers', `${name}.js`)), name).toBe(true);
    for (const name of ['contention', 'micro', 'user-access', 'stress', 'locks', 'wake']) expect(existsSync(path.join(dist, 'bundles/workers', `${name}.js`)), name).toBe(false);
    for (const name of ['killable-worker', 'race-worker', 'heap-worker']) expect(existsSync(path.join(dist, 'bundles/fixtures', `${name}.js`)), name).toBe(true);
    expect(workerUrl('contention').pathname).toMatch(/\/dist\/workers\/contention\.js$/);
    expect(fixtureUrl('killable-worker').pathname).toMatch(/\/dist\/(bundles\/fixtures|test\/fixtures)\/killable-worker\.js$/);
  });
});
