/**
 * The repository as a new user meets it, on a fresh copy of the
 * working tree (every tracked or new, not ignored, file: no node_modules, no dist):
 *
 * 1. `npm ci` there, then every command the README
 *    shows, in code blocks and inline, as written and in order. Commands that would run for
 *    minutes get `--dry-run` (every argument parsed and checked, nothing run); `npm start`
 *    becomes `npm start -- --dry-run`, `npm test` becomes `npm test -- --help`; quick
 *    commands scoped by --workloads/--workers run for real (a later `compare` reads their
 *    output). A `ts` block importing 'sabmalloc-lab' runs as a script in the copy. Then the
 *    lines of every `sh` block of docs/*.md, run the same way (their inline spans are not).
 *    A command with --no-write leaves every file of the copy as it was. Two lab commands
 *    run at a time where nothing orders them (see inOrder); npm scripts (they build),
 *    --no-write commands and `compare` (it reads earlier output) run alone, in order.
 * 2. `npm pack` of that copy, installed (offline, from the tarball) into a new project:
 *    zero dependencies come with it, no bin, only the library's files (and the source maps'
 *    sources); the README's Quick start runs (the worker prints 7); `require('sabmalloc')`
 *    fails with the ESM-only message; then `npm install piscina` (the README's other user
 *    command, offline) and the README's pool example with its task file runs; both examples
 *    typecheck with moduleResolution nodenext and bundler.
 *
 * The copy's node_modules and dist/ are what `npm ci` leaves: copies of this checkout's
 * when its installed tree (npm's hidden lockfile) is exactly the lockfile's and it has been
 * built (CI has just run `npm ci`, whose postinstall builds dist/, and `npm test` builds
 * before the tests: the copies save a second install of ~200 MB and a second full build;
 * the files keep their times, so the README's first command, whose build is incremental,
 * rebuilds only what a change since then touched); else a real `npm ci --prefer-offline`. `npx sabmalloc` runs through npx for the first lab command and
 * through the same bin link, node_modules/.bin/sabmalloc, for the others (npm exec's own
 * start-up is most of a quick command's time).
 *
 * Slow by nature (an install, the README's quick benchmark runs, npx start-up per command;
 * of the README's three builds only the first works, the others find dist/ up to date): a
 * couple of minutes on an idle 2-core machine, several under heavy load.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
/** docs/*.md (not docs/notes/: dated write-ups quote commands of their day). */
const DOCS = readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => readFileSync(path.join(ROOT, 'docs', f), 'utf8'));
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const work = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-fresh-'));
const clone = path.join(work, 'clone');
const LONG = 600_000;

afterAll(() => rmSync(work, { recursive: true, force: true }));

function sh(cmd: string, cwd: string, timeout = LONG): { status: number | null; out: string } {
  const r = spawnSync('sh', ['-c', cmd], { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_update_notifier: 'false', CI: '1' } });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`.trim() };
}

/** sh() without blocking, so that two commands can run at once. */
function shAsync(cmd: string, cwd: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', cmd], { cwd, env: { ...process.env, npm_config_update_notifier: 'false', CI: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (status) => resolve({ status, out: out.trim() }));
  });
}

/**
 * True when a command must run alone, after everything before it: npm scripts (each builds
 * dist/), `compare` (it reads the output of earlier commands) and --no-write runs (the check
 * that they write nothing needs a quiet copy). Other lab commands write their own files.
 */
export function inOrder(run: string): boolean {
  const lab = /^(npx sabmalloc|node node_modules\/\.bin\/sabmalloc) /.exec(run);
  return lab === null || run.startsWith(`${lab[1]} compare `) || run.includes('--no-write');
}

/** Files of the copy (not node_modules) modified after `since` (ms). */
function changedSince(dir: string, since: number): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !path.relative(dir, e.parentPath).split(path.sep).includes('node_modules'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => statSync(f).mtimeMs > since)
    .map((f) => path.relative(dir, f));
}

function ok(cmd: string, cwd: string, timeout = LONG): string {
  const r = sh(cmd, cwd, timeout);
  if (r.status !== 0) throw new Error(`\`${cmd}\` in ${cwd} exited ${r.status}:\n${r.out.slice(-3000)}`);
  return r.out;
}

/**
 * True when this checkout's node_modules holds exactly the packages `npm ci` installs from
 * package-lock.json: every entry of npm's hidden lockfile (node_modules/.package-lock.json,
 * written by each install) has the lockfile's version and integrity, and every lockfile
 * entry missing from it is an optional package for another platform.
 */
export function installedAsLocked(root = ROOT): boolean {
  const hidden = path.join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(hidden)) return false;
  type Entry = { version?: string; integrity?: string; optional?: boolean; devOptional?: boolean };
  const read = (f: string) => (JSON.parse(readFileSync(f, 'utf8')) as { packages: Record<string, Entry> }).packages;
  const locked = read(path.join(root, 'package-lock.json'));
  const installed = read(hidden);
  for (const [name, e] of Object.entries(installed)) {
    const l = locked[name];
    if (!l || l.version !== e.version || l.integrity !== e.integrity) return false;
  }
  return Object.entries(locked).every(([name, l]) => name === '' || name in installed || l.optional === true || l.devOptional === true);
}

interface Block {
  lang: string;
  body: string;
}

/** Fenced code blocks, and the prose with them removed. */
function splitReadme(md: string): { blocks: Block[]; prose: string } {
  const blocks: Block[] = [];
  const prose = md.replace(/^```(\w*)\n([\s\S]*?)^```\s*$/gm, (_, lang: string, body: string) => {
    blocks.push({ lang, body });
    return '\n';
  });
  return { blocks, prose };
}

/** Every command the README shows, in order of appearance (block lines, then inline spans). */
export function readmeCommands(md: string, inline = true): string[] {
  const out: string[] = [];
  // walk the file once so that block and inline commands keep their order
  const re = /^```(\w*)\n([\s\S]*?)^```\s*$|`([^`\n]+)`/gm;
  for (const m of md.matchAll(re)) {
    if (m[3] !== undefined) {
      if (inline && (/^(npm|npx|node|sabmalloc) /.test(m[3]) || m[3] === 'npm start' || m[3] === 'npm test')) out.push(m[3]);
    } else if (m[1] === 'sh' || m[1] === 'bash') {
      for (const line of m[2]!.split('\n')) {
        const cmd = line.replace(/\s+#.*$/, '').trim();
        if (cmd && !cmd.startsWith('#')) out.push(cmd);
      }
    }
  }
  return out;
}

const LAB_COMMAND = /^(?:npx )?sabmalloc(?: |$)/;

/** How the test runs a README command in the fresh copy (null: a library user's command). */
export function asRun(cmd: string): string | null {
  let c = cmd.replace(/^npm ci && /, '');
  if (/^npm (install|i) /.test(c)) return null;
  if (c === 'npm start') return 'npm start -- --dry-run';
  if (c === 'npm test') return 'npm test -- --help';
  if (c === 'npm ci') return 'true'; // done by the set-up, right before
  if (c.startsWith('npm run lab:web')) return `${c} -- --dry-run`; // a server: serve the page once, then stop
  if (!LAB_COMMAND.test(c)) return c;
  if (!c.startsWith('npx ')) c = `npx ${c}`; // the README: `sabmalloc ...` is short for `npx sabmalloc ...`
  const args = c.split(/\s+/).slice(2);
  const [sub] = args;
  if (sub === undefined) return `${c} --help`; // the command's name in prose: its usage
  const long = ['bench', 'locks', 'stress', 'micro'].includes(sub ?? '');
  const passive = args.some((a) => ['--help', '-h', '--dry-run', '--from-json', '--replot'].includes(a));
  const scoped = args.includes('--quick') && args.some((a) => a === '--workloads' || a === '--workers' || a === '--no-write');
  return long && !passive && !scoped ? `${c} --dry-run` : c;
}

describe('the README, on a fresh copy of the repository', () => {
  beforeAll(() => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f && existsSync(path.join(ROOT, f)));
    for (const f of files) {
      mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
      cpSync(path.join(ROOT, f), path.join(clone, f), { preserveTimestamps: true });
    }
    expect(existsSync(path.join(clone, 'node_modules'))).toBe(false);
    expect(existsSync(path.join(clone, 'dist'))).toBe(false);
    if (installedAsLocked() && existsSync(path.join(ROOT, 'dist', '.tsbuildinfo'))) {
      cpSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'), { recursive: true, verbatimSymlinks: true });
      cpSync(path.join(ROOT, 'dist'), path.join(clone, 'dist'), { recursive: true, preserveTimestamps: true });
    } else {
      ok('npm ci --prefer-offline --no-audit --no-fund', clone);
    }
  }, LONG);

  /** The README's commands, then the sh-block commands of docs/*.md. */
  const allCommands = (): string[] => [...readmeCommands(README), ...DOCS.flatMap((md) => readmeCommands(md, false))];

  it('finds the commands it must check', () => {
    const cmds = allCommands();
    expect(cmds).toContain('npm ci && npm start');
    expect(cmds).toContain('npm install sabmalloc');
    expect(cmds.filter((c) => LAB_COMMAND.test(c.replace(/^npx /, ''))).length).toBeGreaterThan(8);
    // the library user's commands are checked in the packed-package test below
    expect([...new Set(cmds.filter((c) => asRun(c) === null))].sort()).toEqual(['npm install piscina', 'npm install sabmalloc']);
  });

  it(
    'runs every command as written (long ones with --dry-run) after npm ci',
    async () => {
      const failures: string[] = [];
      const done = new Set<string>(); // a command shown twice runs once (all are idempotent)
      const running: Promise<void>[] = [];
      const settle = async () => void (await Promise.all(running.splice(0)));
      const check = async (cmd: string, run: string) => {
        const since = Date.now() - 1;
        const r = await shAsync(run, clone);
        if (r.status !== 0) failures.push(`\`${cmd}\` (run as \`${run}\`) exited ${r.status}:\n${r.out.slice(-1500)}`);
        else if (run.includes('--no-write')) {
          const written = changedSince(clone, since);
          if (written.length) failures.push(`\`${cmd}\` (run as \`${run}\`) wrote ${written.join(', ')}`);
        }
      };
      let npxShown = false;
      for (const cmd of allCommands()) {
        let run = asRun(cmd);
        if (run === null || done.has(run)) continue;
        done.add(run);
        if (run.startsWith('npx sabmalloc')) {
          if (npxShown) run = `node node_modules/.bin/sabmalloc${run.slice('npx sabmalloc'.length)}`;
          npxShown = true;
        }
        if (inOrder(run)) {
          await settle();
          await check(cmd, run);
        } else {
          if (running.length === 2) await running.shift();
          running.push(check(cmd, run));
        }
      }
      await settle();
      expect(failures).toEqual([]);
    },
    LONG,
  );

  it(
    "runs the README's lab API script (import from 'sabmalloc-lab') in the copy",
    () => {
      const blocks = [README, ...DOCS].flatMap((md) => splitReadme(md).blocks).filter((b) => b.body.includes("from 'sabmalloc-lab'"));
      expect(blocks).toHaveLength(1);
      writeFileSync(path.join(clone, 'lab-script.mjs'), blocks[0]!.body);
      ok('node lab-script.mjs', clone);
      expect(readFileSync(path.join(clone, 'my-results', 'mine.csv'), 'utf8')).toMatch(/^workload,allocator,workers/);
      expect(readFileSync(path.join(clone, 'my-results', 'mine.csv'), 'utf8')).toContain('larson,pow2,');
    },
    LONG,
  );

  describe('the packed package in a new project', () => {
    const project = path.join(work, 'project');
    let tarball = '';
    let packed: string[] = [];

    beforeAll(() => {
      const json = JSON.parse(ok(`npm pack --ignore-scripts --json --pack-destination ${JSON.stringify(work)} 2>/dev/null`, clone)) as { filename: string; files: { path: string }[] }[];
      tarball = path.join(work, json[0]!.filename);
      packed = json[0]!.files.map((f) => f.path).sort();
      mkdirSync(project);
      writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
      ok(`npm install --offline --no-audit --no-fund ${JSON.stringify(tarball)}`, project);
    }, LONG);

    it('ships only the library, with no source map pointing at a missing source', () => {
      const outside = packed.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/src\/.+|src\/.+)$/.test(f));
      expect(outside).toEqual([]);
      expect(packed.filter((f) => /cli|bench|workers|test/.test(f))).toEqual([]);
      expect(packed).toContain('LICENSE');
      expect(packed).toContain('dist/src/esm-only.cjs');
      const root = path.join(project, 'node_modules', 'sabmalloc');
      const missing: string[] = [];
      for (const map of packed.filter((f) => f.endsWith('.map'))) {
        const { sources } = JSON.parse(readFileSync(path.join(root, map), 'utf8')) as { sources: string[] };
        for (const s of sources) {
          const rel = path.relative(root, path.resolve(path.dirname(path.join(root, map)), s));
          if (!packed.includes(rel)) missing.push(`${map} -> ${s}`);
        }
      }
      expect(missing).toEqual([]);
      const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(pkg.dependencies).toBeUndefined();
      expect(pkg.bin).toBeUndefined(); // no command ships: no bin to run --help on
      expect(pkg.repository).toBeDefined();
    });

    it('installs zero runtime dependencies and no command', () => {
      expect(readdirSync(path.join(project, 'node_modules')).filter((d) => d !== '.package-lock.json')).toEqual(['sabmalloc']);
      expect(existsSync(path.join(project, 'node_modules', '.bin'))).toBe(false);
    });

    it("runs the README's Quick start (the worker reads 7)", () => {
      const quick = splitReadme(README).blocks.find((b) => b.body.includes("import { SharedHeap } from 'sabmalloc';") && b.body.includes('// worker.js'));
      expect(quick).toBeDefined();
      const lines = quick!.body.split('\n');
      const worker = lines.filter((l) => l.startsWith('//   ')).map((l) => l.slice(5).replace(/\s+\/\/.*$/, ''));
      const main = lines.filter((l) => !l.startsWith('//   ') && l.trim() !== '// worker.js');
      writeFileSync(path.join(project, 'worker.js'), worker.join('\n'));
      writeFileSync(path.join(project, 'main.js'), main.join('\n'));
      writeFileSync(path.join(project, 'main.ts'), main.join('\n'));
      expect(ok('node main.js', project).trim()).toBe('7');
    }, LONG);

    it('require() says the package is ESM-only', () => {
      writeFileSync(path.join(project, 'req.cjs'), "require('sabmalloc');\n");
      const r = sh('node req.cjs', project);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/sabmalloc is an ES module only package/);
      expect(r.out).not.toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    });

    it("runs the README's pool example and its task file once piscina is installed", () => {
      // `npm install piscina`, offline: the tarball of the locked version, which `npm ci`
      // cached (a bare name would need the registry's package document, not cached)
      const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
      const registry = ok('npm config get registry', project).trim().replace(/\/?$/, '/');
      const version = lock.packages['node_modules/piscina']!.version;
      ok(`npm install --offline --no-audit --no-fund ${registry}piscina/-/piscina-${version}.tgz`, project);
      const blocks = splitReadme(README).blocks;
      const pool = blocks.find((b) => b.body.includes("from 'sabmalloc/pool'"));
      const task = blocks.find((b) => b.body.startsWith('// task.js'));
      expect(pool && task).toBeTruthy();
      writeFileSync(path.join(project, 'task.js'), task!.body);
      const head = "import { SharedHeap } from 'sabmalloc';\nconst heap = SharedHeap.create({ size: 8 * 2 ** 20 });\n";
      const tail = '\nconsole.log(sum);\nawait pool.destroy();\n';
      writeFileSync(path.join(project, 'pool.js'), head + pool!.body + tail);
      writeFileSync(path.join(project, 'pool.ts'), head + pool!.body + tail);
      expect(ok('node pool.js', project).trim()).toBe('1000');
    }, LONG);

    it('the Quick start and the pool example typecheck with moduleResolution nodenext and bundler', () => {
      // one tsc run per resolution for both files (written by the two tests above)
      typecheck(project, ['main.ts', 'pool.ts']);
    }, LONG);
  });
});

function typecheck(project: string, files: string[]): void {
  for (const [name, options] of [
    ['nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }],
    // the bundler pass checks resolution through the exports map; the nodenext pass
    // also checks every declaration file (skipLibCheck off), which need not be done twice
    ['bundler', { module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true }],
  ] as const) {
    const config = path.join(project, `tsconfig.${name}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: { ...options, target: 'es2022', lib: ['es2024'], strict: true, noEmit: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')] },
        files,
      }),
    );
    ok(`node ${JSON.stringify(TSC)} -p ${JSON.stringify(config)}`, project);
  }
}

describe('installedAsLocked: when a copy of node_modules stands for `npm ci`', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-locked-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (locked: object, installed: object | null) => {
    rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true });
    writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ packages: locked }));
    if (installed === null) return;
    mkdirSync(path.join(dir, 'node_modules'));
    writeFileSync(path.join(dir, 'node_modules', '.package-lock.json'), JSON.stringify({ packages: installed }));
  };
  const a = { version: '1.0.0', integrity: 'sha512-a' };
  const other = { version: '1.0.0', integrity: 'sha512-b', optional: true };

  it('holds for the locked tree, other platforms\' optional packages left out', () => {
    write({ '': {}, 'node_modules/a': a, 'node_modules/other': other }, { 'node_modules/a': a });
    expect(installedAsLocked(dir)).toBe(true);
  });

  it('fails on no install, another version, an extra package or a missing required one', () => {
    write({ '': {}, 'node_modules/a': a }, null);
    expect(installedAsLocked(dir)).toBe(false);
    write({ '': {}, 'node_modules/a': a }, { 'node_modules/a': { ...a, version: '1.0.1' } });
    expect(installedAsLocked(dir)).toBe(false);
    write({ '': {}, 'node_modules/a': a }, { 'node_modules/a': a, 'node_modules/b': a });
    expect(installedAsLocked(dir)).toBe(false);
    write({ '': {}, 'node_modules/a': a, 'node_modules/b': a }, { 'node_modules/a': a });
    expect(installedAsLocked(dir)).toBe(false);
  });
});
