/**
 * Bundles compiled worker entry points (the test fixtures, dist/test/fixtures/*.js, and the
 * lab workers that time nothing, see BUNDLED_FOLDERS) with esbuild into
 * dist/bundles/fixtures/ and dist/bundles/workers/. Run by `npm run build`
 * after tsc. Why: Node 20's ESM loader spends most of a worker's start in resolving and
 * loading its modules one by one (the library alone is 47 of them, 60-80 ms of CPU); one
 * file and a few shared chunks load in a fraction of that, and the lab and the tests start
 * hundreds of workers.
 *
 * Owns: dist/bundles/ (rewritten whole on every bundle) and dist/bundles.meta.json.
 *
 * Invariants:
 * - A bundle behaves as its unbundled entry: every `import.meta.url` of a compiled module
 *   is replaced by that module's own URL, computed from the bundle's location (a relative
 *   path, so a moved or copied checkout keeps working), so paths a module derives from its
 *   own location (sibling workers, wasm files, `?kind=` imports that want a fresh module
 *   instance) are the unbundled ones. Packages stay external; literal dynamic imports
 *   become chunks (code splitting), so a lazily loaded adapter stays lazy and no module is
 *   inlined twice into one thread.
 * - A bundle is used only while it is fresh: not older than dist/.tsbuildinfo, which every
 *   tsc that emits rewrites (bench/kit/worker-url.ts checks it on every start). A bare
 *   `tsc` after a change therefore falls back to the unbundled entries, never to stale code.
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An entry folder under dist/, the folder under dist/bundles/ its bundles go to, and which of its entries (all when absent). */
export interface BundledFolder {
  from: string;
  to: string;
  only?: readonly string[];
}

/**
 * What is bundled: every test fixture, and the lab workers that time nothing. esbuild turns
 * each top-level const of a bundle into a var (by design, with no option to keep it), so a
 * module constant read in a timed loop becomes a load per iteration instead of a folded
 * constant: `sabmalloc micro`'s typed-array floor measured 1.22 ns bundled against 0.82 ns
 * as tsc compiled it, two runs each. The workers whose output carries a figure
 * (contention, micro, user-access, kvmap-native, wake, locks, mleak, stress's ops/s) run
 * as compiled, so bundling changes no figure.
 */
export const BUNDLED_FOLDERS: readonly BundledFolder[] = [
  { from: 'workers', to: 'workers', only: ['lock-deaths', 'module-check'] },
  { from: join('test', 'fixtures'), to: 'fixtures' },
];

const mtime = (file: string): number => (existsSync(file) ? statSync(file).mtimeMs : 0);

/**
 * Replaces `import.meta.url` in every compiled module with the module's own URL as seen
 * from `outdir` (all outputs of one build, entries and chunks, are written there).
 */
function ownUrls(dist: string, outdir: string): Plugin {
  return {
    name: 'sabmalloc-own-urls',
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (!resolve(args.path).startsWith(dist + sep)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
        const rel = relative(outdir, args.path).split(sep).join('/');
        return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'js' };
      });
    },
  };
}

/** True when the last bundles exist and are newer than every input they read and than dist/.tsbuildinfo. */
function bundlesUpToDate(root: string, metaFile: string): boolean {
  if (!existsSync(metaFile)) return false;
  const metas = JSON.parse(readFileSync(metaFile, 'utf8')) as Metafile[];
  const outputs = metas.flatMap((m) => Object.keys(m.outputs)).map((f) => mtime(join(root, f)));
  const inputs = [
    ...metas.flatMap((m) => Object.keys(m.inputs)).map((f) => mtime(join(root, f))),
    mtime(join(root, 'dist', '.tsbuildinfo')),
    mtime(fileURLToPath(import.meta.url)),
  ];
  return outputs.length > 0 && !outputs.includes(0) && !inputs.includes(0) && Math.min(...outputs) >= Math.max(...inputs);
}

/** Bundles every entry of BUNDLED_FOLDERS, unless nothing changed since the last bundle (or `force`). */
export async function bundleWorkers(root: string, force = false, folders: readonly BundledFolder[] = BUNDLED_FOLDERS): Promise<{ entries: number; built: boolean }> {
  const dist = join(root, 'dist');
  const metaFile = join(dist, 'bundles.meta.json');
  // From the sources, not dist/: a compiled file whose source was removed stays in dist/.
  const entriesOf = ({ from, only }: BundledFolder): string[] =>
    existsSync(join(root, from))
      ? readdirSync(join(root, from), { withFileTypes: true })
          .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
          .filter((e) => only === undefined || only.includes(e.name.slice(0, -3)))
          .map((e) => join(dist, from, e.name.replace(/\.ts$/, '.js')))
          .filter((f) => existsSync(f))
      : [];
  const count = folders.reduce((n, f) => n + entriesOf(f).length, 0);
  if (!force && bundlesUpToDate(root, metaFile)) return { entries: count, built: false };
  rmSync(metaFile, { force: true });
  rmSync(join(dist, 'bundles'), { recursive: true, force: true });
  const metas: Metafile[] = [];
  for (const folder of folders) {
    const entryPoints = entriesOf(folder);
    if (entryPoints.length === 0) continue;
    const outdir = join(dist, 'bundles', folder.to);
    const result = await build({
      absWorkingDir: root,
      entryPoints,
      outdir,
      entryNames: '[name]',
      chunkNames: 'chunk-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      metafile: true,
      sourcemap: 'linked',
      plugins: [ownUrls(dist, outdir)],
      logLevel: 'warning',
    });
    metas.push(result.metafile);
  }
  writeFileSync(metaFile, JSON.stringify(metas));
  return { entries: count, built: true };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../../../', import.meta.url)); // run as dist/bench/kit/worker-bundles.js
  const { entries, built } = await bundleWorkers(root, process.argv.includes('--force'));
  console.log(`worker bundles: ${built ? 'bundled' : 'up to date'}, ${entries} entries in ${join('dist', 'bundles')}`);
}
