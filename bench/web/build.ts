/**
 * Bundles the web lab (bench/web/page) with esbuild into dist/web/: the page (lab.js,
 * with vega-lite for the charts) and the worker (lab-worker.js: the allocator, the lock
 * lab and the contention workloads). Run by `npm run build` after the main tsc, it first
 * typechecks the page (bench/web/tsconfig.json). Each step is skipped when nothing it
 * reads changed since it last succeeded, so that a second `npm run build` costs little:
 * the typecheck when its success stamp is newer than the page's sources, its tsconfigs and
 * dist/.tsbuildinfo (which the main `tsc -b` rewrites or touches whenever a source of src/
 * or bench/ changes); the bundle when its outputs are newer than every input esbuild
 * listed for it last time (its metafile) and than this script.
 *
 * Owns: dist/web/, dist/web.typecheck-ok, dist/web.meta.json. Invariant: the browser bundles contain no Node-only import. The one
 * node: module the shared benchmark code imports (node:fs in bench/kit/control.ts,
 * for /proc/stat) is replaced by a shim; any other node: import, from src/ above all,
 * fails the build, which is how the "core runs unchanged in a browser" rule is enforced.
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

/** Modification time of a file, 0 when it is missing. */
const mtime = (file: string): number => (existsSync(file) ? statSync(file).mtimeMs : 0);

/** The newest modification time of a directory tree (directories included: an added file counts). */
function newestIn(dir: string): number {
  let t = mtime(dir);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const f = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestIn(f) : mtime(f));
  }
  return t;
}

/** Typechecks the page's sources (bench/web/tsconfig.json) unless nothing they read changed since it last passed. */
export function typecheckWebLab(root: string = packageRoot()): 'checked' | 'up to date' {
  const stamp = join(root, 'dist', 'web.typecheck-ok');
  const web = join(root, 'bench', 'web');
  const inputs = [join(root, 'dist', '.tsbuildinfo'), join(root, 'tsconfig.json'), join(web, 'tsconfig.json')].map(mtime);
  const newest = Math.max(...inputs, newestIn(join(web, 'page')), newestIn(join(web, 'shims')));
  if (!inputs.includes(0) && mtime(stamp) > newest) return 'up to date';
  rmSync(stamp, { force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(web, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`typecheck of ${join('bench', 'web', 'tsconfig.json')} failed (exit ${r.status ?? r.signal})`);
  writeFileSync(stamp, '');
  return 'checked';
}

/** True when the last bundle's outputs exist and are newer than every input it read and than this script. */
function bundleUpToDate(root: string, metaFile: string): boolean {
  if (!existsSync(metaFile)) return false;
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Metafile;
  const outputs = Object.keys(meta.outputs).map((f) => mtime(join(root, f)));
  const inputs = [...Object.keys(meta.inputs).map((f) => mtime(join(root, f))), mtime(fileURLToPath(import.meta.url))];
  return !outputs.includes(0) && !inputs.includes(0) && Math.min(...outputs) > Math.max(...inputs);
}

export async function buildWebLab(root: string = packageRoot(), force = true): Promise<{ files: string[]; built: boolean }> {
  const outdir = join(root, 'dist', 'web');
  const entries = {
    lab: join(root, 'bench', 'web', 'page', 'main.ts'),
    'lab-worker': join(root, 'bench', 'web', 'page', 'worker.ts'),
  };
  const files = Object.keys(entries).map((k) => join(outdir, `${k}.js`));
  const metaFile = join(root, 'dist', 'web.meta.json');
  if (!force && bundleUpToDate(root, metaFile)) return { files, built: false };
  rmSync(metaFile, { force: true });
  const result = await build({
    absWorkingDir: root,
    metafile: true,
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
  writeFileSync(metaFile, JSON.stringify(result.metafile));
  return { files, built: true };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force');
  const checked = force ? (rmSync(join(packageRoot(), 'dist', 'web.typecheck-ok'), { force: true }), typecheckWebLab()) : typecheckWebLab();
  const { files, built } = await buildWebLab(packageRoot(), force);
  const names = files.map((f) => f.replace(packageRoot() + '/', '')).join(', ');
  console.log(`web lab: page typecheck ${checked}; ${built ? 'bundled' : 'bundle up to date'}: ${names}`);
}
