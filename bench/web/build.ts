/**
 * Bundles the web lab (bench/web/page) with esbuild into dist/web/: the page (lab.js,
 * with vega-lite for the charts) and the worker (lab-worker.js: the allocator, the lock
 * lab and the contention workloads). Run by `npm run build` after tsc.
 *
 * Owns: dist/web/. Invariant: the browser bundles contain no Node-only import. The one
 * node: module the shared benchmark code imports (node:fs in bench/kit/control.ts,
 * for /proc/stat) is replaced by a shim; any other node: import, from src/ above all,
 * fails the build, which is how the "core runs unchanged in a browser" rule is enforced.
 */
import { build, type Plugin } from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest directory above this file holding package.json. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

const SHIMMED: Record<string, { importer: string; shim: string }> = {
  'node:fs': { importer: join('bench', 'kit', 'control.ts'), shim: join('bench', 'web', 'shims', 'node-fs.ts') },
};

function browserOnly(root: string): Plugin {
  return {
    name: 'sabmalloc-browser-only',
    setup(b) {
      b.onResolve({ filter: /^node:|^(fs|os|path|url|worker_threads|child_process)$/ }, (args) => {
        const rule = SHIMMED[args.path];
        if (rule && resolve(args.importer) === resolve(root, rule.importer)) return { path: resolve(root, rule.shim) };
        return { errors: [{ text: `Node-only import "${args.path}" in the browser bundle (from ${args.importer})` }] };
      });
      // bench/kit/charts.ts takes vega's default export (Node's CommonJS build); see the shim.
      b.onResolve({ filter: /^vega$/ }, (args) =>
        resolve(args.importer) === resolve(root, 'bench', 'kit', 'charts.ts') ? { path: resolve(root, 'bench', 'web', 'shims', 'vega-default.ts') } : undefined,
      );
    },
  };
}

export async function buildWebLab(root: string = packageRoot()): Promise<string[]> {
  const outdir = join(root, 'dist', 'web');
  const entries = {
    lab: join(root, 'bench', 'web', 'page', 'main.ts'),
    'lab-worker': join(root, 'bench', 'web', 'page', 'worker.ts'),
  };
  await build({
    entryPoints: entries,
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111'],
    sourcemap: true,
    minify: true,
    keepNames: true,
    legalComments: 'linked',
    inject: [join(root, 'bench', 'web', 'shims', 'process.ts')],
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [browserOnly(root)],
    logLevel: 'warning',
  });
  return Object.keys(entries).map((k) => join(outdir, `${k}.js`));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildWebLab();
  console.log(`web lab bundled: ${files.map((f) => f.replace(packageRoot() + '/', '')).join(', ')}`);
}
